import Foundation

/// How gradients travel between ranks: the same sums, in another order (docs/architecture.md).
public enum SumPath: String, Sendable {
    /// One rank: nothing to sum.
    case single
    /// `MPI_Allreduce` or `MPI_Iallreduce` of each bucket.
    case mpi
    /// Each bucket through a shared-memory window of the host's ranks (`SharedMemorySum`).
    case sharedMemory
    /// One copy of the parameters for the host's ranks, each summing a slice (`SharedParameters`).
    case sharedParameters
}

/// Sums a flat gradient buffer over all ranks in buckets that go out while
/// backward still runs (PyTorch DDP's scheme).
///
/// Parameters lie in the buffer in forward order, so backward finishes them
/// from the top of the buffer down. Buckets are cut at layer boundaries from
/// the top: the first is about `firstBucketBytes` (small, so communication
/// starts early), the others about `bucketBytes`, neither more than a quarter of
/// all the gradients: a model smaller than the first bucket would otherwise send
/// everything at the end of backward, with nothing to overlap. When the model
/// reports that everything at or above an offset is final, every bucket lying
/// there is started with a non-blocking all-reduce, and the buckets in flight are
/// polled (the MPI communicator's progress thread also advances them while a
/// layer computes). `finish` starts the rest and waits; the time spent waiting
/// there is the exposed communication.
///
/// With `compression`, each bucket is rounded into a 16-bit copy that is summed
/// instead, and widened back into the gradients when its sum arrives. One rank
/// rounds too, so that one process computes what N ranks do.
public final class GradientReducer {
    public struct Bucket: Sendable, Equatable {
        public var lower: Int
        public var upper: Int
        public var count: Int { upper - lower }
    }

    private let comm: Communicator
    private let gradients: UnsafeMutablePointer<Float>
    public let buckets: [Bucket]
    private var requests: [CommunicatorRequest?]
    /// Completed requests kept for reuse, one per bucket.
    private var spent: [CommunicatorRequest?]
    /// Index of the next bucket to start (buckets are started from the top down).
    private var next = 0
    /// Whether this rank's own gradient (before the sum) held a NaN or infinity.
    public private(set) var localNonFinite = false
    /// Seconds spent waiting in `finish` since `resetTiming`.
    public private(set) var exposedSeconds = 0.0
    /// Whether buckets use non-blocking all-reduces (overlap with backward) or blocking ones
    /// issued as soon as each bucket is ready.
    public var nonBlocking: Bool
    /// Seconds spent in blocking bucket reductions since `resetTiming` (part of the exposed time).
    private var blockingSeconds = 0.0
    public let compression: GradientCompression
    /// The 16-bit copy of the gradients that is summed when compressing (allocated once).
    private let wire: UnsafeMutablePointer<UInt16>?
    /// Bytes this rank sends into the all-reduces per step (the buffer at its wire width).
    public var bytesPerStep: Int { buckets.reduce(0) { $0 + $1.count } * compression.bytesPerElement }

    /// - layerOffsets: the lowest offset of each layer's parameters (any order)
    public init(comm: Communicator, gradients: UnsafeMutablePointer<Float>, count: Int, layerOffsets: [Int],
                firstBucketBytes: Int, bucketBytes: Int, nonBlocking: Bool = true,
                compression: GradientCompression = .none) {
        self.comm = comm
        self.compression = compression
        if compression != .none {
            wire = .allocate(capacity: max(count, 1))
            wire!.initialize(repeating: 0, count: max(count, 1))
        } else {
            wire = nil
        }
        self.nonBlocking = nonBlocking
        self.gradients = gradients
        let quarter = max(1, count / 4)
        buckets = Self.plan(count: count, layerOffsets: layerOffsets,
                            firstBucket: max(1, min(firstBucketBytes / 4, quarter)),
                            bucket: max(1, min(bucketBytes / 4, quarter)))
        requests = Array(repeating: nil, count: buckets.count)
        spent = Array(repeating: nil, count: buckets.count)
    }

    deinit { wire?.deallocate() }

    /// Buckets from the top of the buffer down, cut at layer boundaries.
    public static func plan(count: Int, layerOffsets: [Int], firstBucket: Int, bucket: Int) -> [Bucket] {
        let bounds = Array(Set(layerOffsets.filter { $0 > 0 && $0 < count })).sorted(by: >) + [0]
        var out: [Bucket] = []
        var upper = count
        var lower = count
        for b in bounds {
            let target = out.isEmpty ? firstBucket : bucket
            // Close the bucket before a layer that would take it past its target.
            if lower < upper, upper - b > target {
                out.append(Bucket(lower: lower, upper: upper))
                upper = lower
            }
            lower = b
        }
        if lower < upper { out.append(Bucket(lower: lower, upper: upper)) }
        return out
    }

    /// Prepares for a new backward pass.
    public func reset() {
        next = 0
        localNonFinite = false
    }

    /// Everything at or above `offset` is final: start the buckets lying there, poll the others.
    public func gradientsReady(from offset: Int) throws {
        while next < buckets.count, buckets[next].lower >= offset {
            try start(next)
            next += 1
        }
        for i in 0..<next {
            if let r = requests[i], try comm.test(r) {
                spent[i] = r
                requests[i] = nil
                widen(i)
            }
        }
    }

    /// Starts the remaining buckets and waits for all of them.
    public func finish() throws {
        while next < buckets.count {
            try start(next)
            next += 1
        }
        let t0 = DispatchTime.now().uptimeNanoseconds
        for i in 0..<buckets.count {
            if let r = requests[i] {
                try comm.wait(r)
                spent[i] = r
                requests[i] = nil
                widen(i)
            }
        }
        exposedSeconds += Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9 + blockingSeconds
        blockingSeconds = 0
    }

    public func resetTiming() {
        exposedSeconds = 0
        blockingSeconds = 0
    }

    /// Whether every value is finite: x * 0 is 0 for finite x and NaN for NaN and infinities.
    /// Four independent sums, so that the loop runs at memory speed rather than at one
    /// addition's latency per eight floats.
    public static func allFinite(_ p: UnsafePointer<Float>, count n: Int) -> Bool {
        typealias V = SIMD8<Float>
        var a0 = V(), a1 = V(), a2 = V(), a3 = V()
        let raw = UnsafeRawPointer(p)
        var j = 0
        while j + 32 <= n {
            a0 += raw.loadUnaligned(fromByteOffset: 4 * j, as: V.self) * 0
            a1 += raw.loadUnaligned(fromByteOffset: 4 * (j + 8), as: V.self) * 0
            a2 += raw.loadUnaligned(fromByteOffset: 4 * (j + 16), as: V.self) * 0
            a3 += raw.loadUnaligned(fromByteOffset: 4 * (j + 24), as: V.self) * 0
            j += 32
        }
        var tail: Float = 0
        while j < n { tail += p[j] * 0; j += 1 }
        return !(((a0 + a1) + (a2 + a3)).sum() + tail).isNaN
    }

    private func start(_ i: Int) throws {
        let b = buckets[i]
        let p = gradients + b.lower
        if !Self.allFinite(p, count: b.count) { localNonFinite = true }
        var buffer = UnsafeMutableRawPointer(p)
        var kind = ScalarKind.float
        if let wire, let wireKind = compression.kind {
            compression.compress(p, into: wire + b.lower, count: b.count)
            buffer = UnsafeMutableRawPointer(wire + b.lower)
            kind = wireKind
        }
        guard comm.size > 1 else { widen(i); return }
        comm.flightRecorder?.nextBucket(i)
        if nonBlocking {
            requests[i] = try comm.startAllReduce(buffer, count: b.count, kind: kind, op: .sum, reusing: spent[i])
            spent[i] = nil
        } else {
            let t0 = DispatchTime.now().uptimeNanoseconds
            try comm.allReduce(buffer, count: b.count, kind: kind, op: .sum)
            widen(i)
            blockingSeconds += Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9
        }
    }

    /// Copies bucket `i`'s 16-bit sum back into the gradients (nothing without compression).
    private func widen(_ i: Int) {
        guard let wire else { return }
        let b = buckets[i]
        compression.decompress(wire + b.lower, into: gradients + b.lower, count: b.count)
    }
}
