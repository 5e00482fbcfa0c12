/// Contiguous Float storage with a shape, row-major.
///
/// A `Tensor` owns its memory and is a reference type so that layers can keep
/// their activation and gradient buffers across steps. `reshape` reuses the
/// storage whenever the new shape fits the capacity: buffers are sized once
/// per batch shape and a smaller last batch costs no allocation.
public final class Tensor {
    /// Extents, outermost first, e.g. (B, C, H, W).
    public private(set) var shape: [Int]
    /// Number of elements of `shape`.
    public private(set) var count: Int
    /// Elements the storage can hold.
    public private(set) var capacity: Int
    /// The elements.
    public private(set) var data: UnsafeMutablePointer<Float>
    /// How a (C, B, H, W) feature map's elements lie in `data`: set by the layer that writes them.
    public var layout = ActivationLayout.plain

    /// A zero-filled tensor of `shape`.
    public init(shape: [Int]) {
        let n = shape.reduce(1, *)
        self.shape = shape
        count = n
        capacity = max(n, 1)
        data = .allocate(capacity: capacity)
        data.initialize(repeating: 0, count: capacity)
    }

    /// A tensor of `shape` holding `values` (row-major).
    public convenience init(shape: [Int], values: [Float]) {
        precondition(shape.reduce(1, *) == values.count, "Tensor(shape: \(shape)) given \(values.count) values")
        self.init(shape: shape)
        values.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: values.count) }
    }

    deinit { data.deallocate() }

    /// The elements as a buffer.
    @inlinable public var buffer: UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(start: data, count: count)
    }

    /// Gives the tensor `newShape`, growing the storage only when it does not fit.
    /// Contents are kept only up to the old count.
    public func reshape(_ newShape: [Int]) {
        let n = newShape.reduce(1, *)
        if n > capacity {
            let fresh = UnsafeMutablePointer<Float>.allocate(capacity: n)
            fresh.initialize(repeating: 0, count: n)
            fresh.update(from: data, count: count)
            data.deallocate()
            data = fresh
            capacity = n
        }
        if shape != newShape { shape = newShape }
        count = n
    }

    /// Changes the extents of a rank-2 tensor in place (within capacity): no allocation.
    @usableFromInline func setExtents(_ a: Int, _ b: Int) {
        precondition(shape.count == 2 && a * b <= capacity, "setExtents(\(a), \(b)) on \(self)")
        shape[0] = a
        shape[1] = b
        count = a * b
    }

    /// Changes the extents of a rank-4 tensor in place (within capacity): no allocation.
    @usableFromInline func setExtents(_ a: Int, _ b: Int, _ c: Int, _ d: Int) {
        precondition(shape.count == 4 && a * b * c * d <= capacity, "setExtents(\(a), \(b), \(c), \(d)) on \(self)")
        shape[0] = a
        shape[1] = b
        shape[2] = c
        shape[3] = d
        count = a * b * c * d
    }

    /// Sets every element to `value`.
    public func fill(_ value: Float) {
        data.update(repeating: value, count: count)
    }

    /// The elements as an array (tests and reports).
    public var array: [Float] { Array(buffer) }

    @inlinable public subscript(i: Int) -> Float {
        get { data[i] }
        set { data[i] = newValue }
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String { "Tensor\(shape)" }
}

// MARK: - Shape changes that do not allocate when the storage fits

extension Tensor {
    /// Gives the tensor shape (a, b), in place when its rank and capacity allow.
    @inlinable public func ensureShape(_ a: Int, _ b: Int) {
        if shape.count == 2 {
            if shape[0] == a, shape[1] == b { return }
            if a * b <= capacity { setExtents(a, b); return }
        }
        reshape([a, b])
    }

    /// Gives the tensor shape (a, b, c, d), in place when its rank and capacity allow.
    @inlinable public func ensureShape(_ a: Int, _ b: Int, _ c: Int, _ d: Int) {
        if shape.count == 4 {
            if shape[0] == a, shape[1] == b, shape[2] == c, shape[3] == d { return }
            if a * b * c * d <= capacity { setExtents(a, b, c, d); return }
        }
        reshape([a, b, c, d])
    }
}
