import Tensor

/// How a parameter starts.
public enum Initializer: String, Codable, Sendable {
    /// Kaiming-normal, fan-in mode, ReLU gain: N(0, 2 / fan_in).
    case kaimingNormal
    case zeros
    case ones
    /// N(0, 1), as pytorch-metric-learning initialises a margin head's `W`.
    case standardNormal
}

/// One named tensor inside a flat buffer.
public struct ParameterEntry: Codable, Sendable, Equatable {
    /// Dotted name, e.g. `layer2.0.conv1.weight` (PyTorch's names where a model mirrors one).
    public var name: String
    /// Offset in the flat buffer, in floats.
    public var offset: Int
    public var shape: [Int]
    public var initializer: Initializer
    /// Number of floats.
    public var count: Int { shape.reduce(1, *) }
}

/// All parameters of a model in one contiguous Float buffer, with a parallel
/// gradient buffer (karpathy/llm.c's layout).
///
/// Layers `register` their tensors while the model is built (in forward
/// order), then `allocate()` creates the buffers once. Layers keep offsets
/// and reach their values through `values + offset`. Gradient all-reduce,
/// optimiser and checkpoint each see one buffer.
public final class ParameterStore {
    public private(set) var entries: [ParameterEntry] = []
    /// Total floats.
    public private(set) var count = 0
    /// Values and gradients; valid after `allocate()`.
    public private(set) var values: UnsafeMutablePointer<Float>
    public private(set) var gradients: UnsafeMutablePointer<Float>
    /// Whether a gradient buffer is kept (false for non-trained buffers such as BN running statistics).
    public let hasGradients: Bool
    /// Whether `backward` adds to the gradients (the layer contract, default) or overwrites them.
    /// The trainer accumulates on one BLAS thread (its optimiser clears the gradients in its own
    /// pass) and overwrites on several (see `TrainStep.init`).
    public var accumulatesGradients = true
    private var allocated = false
    /// False once the values and gradients live in memory the store does not own (`adopt`).
    private var ownsBuffers = true

    public init(hasGradients: Bool = true) {
        self.hasGradients = hasGradients
        values = .allocate(capacity: 1)
        gradients = .allocate(capacity: 1)
    }

    deinit {
        if ownsBuffers {
            values.deallocate()
            gradients.deallocate()
        }
    }

    /// From now on the values and gradients are `values` and `gradients` (`count` floats each,
    /// memory that outlives the store, such as a window shared by the ranks of a host); its own
    /// buffers are freed. The caller has put the values there.
    public func adopt(values newValues: UnsafeMutablePointer<Float>,
                      gradients newGradients: UnsafeMutablePointer<Float>) {
        precondition(allocated && hasGradients, "adopt() before allocate() or without gradients")
        if ownsBuffers {
            values.deallocate()
            gradients.deallocate()
        }
        ownsBuffers = false
        values = newValues
        gradients = newGradients
    }

    /// Reserves a tensor and returns its offset.
    public func register(_ name: String, shape: [Int], initializer: Initializer) -> Int {
        precondition(!allocated, "register(\(name)) after allocate()")
        precondition(!entries.contains { $0.name == name }, "parameter \(name) registered twice")
        let entry = ParameterEntry(name: name, offset: count, shape: shape, initializer: initializer)
        entries.append(entry)
        count += entry.count
        return entry.offset
    }

    /// Creates the flat buffers (zero-filled).
    public func allocate() {
        precondition(!allocated, "allocate() called twice")
        allocated = true
        values.deallocate()
        gradients.deallocate()
        values = .allocate(capacity: max(count, 1))
        values.initialize(repeating: 0, count: max(count, 1))
        gradients = .allocate(capacity: hasGradients ? max(count, 1) : 1)
        gradients.initialize(repeating: 0, count: hasGradients ? max(count, 1) : 1)
    }

    /// Fills every tensor according to its initializer, from `seed`.
    /// Each tensor draws from its own stream, so adding a layer does not change the others.
    public func initialize(seed: UInt64) {
        for index in entries.indices { initialize(entry: index, seed: seed, within: 0..<count) }
    }

    /// Fills tensor `index` according to its initializer from `seed`, writing only the elements
    /// whose offsets lie `within` (a rank's slice of parameters shared by the ranks of a host).
    public func initialize(entry index: Int, seed: UInt64, within range: Range<Int>) {
        let e = entries[index]
        let mine = range.clamped(to: e.offset..<(e.offset + e.count))
        guard !mine.isEmpty else { return }
        var rng = RandomSource(seed: seed, stream: [0x1417, UInt64(index)])
        let std: Double
        switch e.initializer {
        case .zeros, .ones:
            (values + mine.lowerBound).update(repeating: e.initializer == .ones ? 1 : 0, count: mine.count)
            return
        case .kaimingNormal: std = (2.0 / Double(max(e.shape.dropFirst().reduce(1, *), 1))).squareRoot()
        case .standardNormal: std = 1
        }
        for i in 0..<e.count {
            let x = rng.nextNormal()
            if mine.contains(e.offset + i) { values[e.offset + i] = Float(x * std) }  // x * 1 is x
        }
    }

    /// Sets every gradient to zero.
    public func zeroGradients() {
        if hasGradients { gradients.update(repeating: 0, count: count) }
    }

    /// The values as a buffer.
    public var valueBuffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: values,
                                                                                           count: count) }

    /// Copies of the values and gradients. (Prefer these to `Array(valueBuffer)`: the copy
    /// is made while the store is certainly alive.)
    public var valueArray: [Float] { Array(UnsafeBufferPointer(start: values, count: count)) }
    public var gradientArray: [Float] { Array(UnsafeBufferPointer(start: gradients, count: hasGradients ? count : 0)) }

    /// The entry called `name`.
    public func entry(_ name: String) -> ParameterEntry? { entries.first { $0.name == name } }

    /// A copy of one tensor's values (tests, export).
    public func valuesOf(_ name: String) -> [Float] {
        guard let e = entry(name) else { preconditionFailure("no parameter \(name)") }
        return Array(UnsafeBufferPointer(start: values + e.offset, count: e.count))
    }
}
