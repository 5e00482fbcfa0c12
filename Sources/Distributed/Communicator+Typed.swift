// MARK: - Typed conveniences over the raw collective operations

extension Communicator {
    /// Sums `buffer` over all ranks, in place.
    public func allReduceSum<T: CommunicatorScalar>(_ buffer: UnsafeMutableBufferPointer<T>) throws {
        guard let base = buffer.baseAddress, !buffer.isEmpty else { return }
        try allReduce(UnsafeMutableRawPointer(base), count: buffer.count, kind: T.kind, op: .sum)
    }

    /// Element-wise maximum of `buffer` over all ranks, in place.
    public func allReduceMax<T: CommunicatorScalar>(_ buffer: UnsafeMutableBufferPointer<T>) throws {
        guard let base = buffer.baseAddress, !buffer.isEmpty else { return }
        try allReduce(UnsafeMutableRawPointer(base), count: buffer.count, kind: T.kind, op: .max)
    }

    /// Element-wise minimum of `buffer` over all ranks, in place.
    public func allReduceMin<T: CommunicatorScalar>(_ buffer: UnsafeMutableBufferPointer<T>) throws {
        guard let base = buffer.baseAddress, !buffer.isEmpty else { return }
        try allReduce(UnsafeMutableRawPointer(base), count: buffer.count, kind: T.kind, op: .min)
    }

    /// Sums an array over all ranks.
    public func allReduceSum<T: CommunicatorScalar>(_ values: inout [T]) throws {
        try values.withUnsafeMutableBufferPointer { try allReduceSum($0) }
    }

    /// Element-wise maximum of an array over all ranks.
    public func allReduceMax<T: CommunicatorScalar>(_ values: inout [T]) throws {
        try values.withUnsafeMutableBufferPointer { try allReduceMax($0) }
    }

    /// The sum of one value over all ranks.
    public func globalSum<T: CommunicatorScalar>(_ value: T) throws -> T {
        var v = [value]
        try allReduceSum(&v)
        return v[0]
    }

    /// The maximum of one value over all ranks.
    public func globalMax<T: CommunicatorScalar>(_ value: T) throws -> T {
        var v = [value]
        try allReduceMax(&v)
        return v[0]
    }

    /// Copies an array from `root` to every rank (all ranks pass arrays of the same count).
    public func broadcast<T: CommunicatorScalar>(_ values: inout [T], root: Int = 0) throws {
        try values.withUnsafeMutableBytes { raw in
            guard let base = raw.baseAddress, raw.count > 0 else { return }
            try broadcast(base, byteCount: raw.count, root: root)
        }
    }

    /// Copies `buffer` from `root` to every rank.
    public func broadcast<T: CommunicatorScalar>(_ buffer: UnsafeMutableBufferPointer<T>, root: Int = 0) throws {
        guard let base = buffer.baseAddress, !buffer.isEmpty else { return }
        try broadcast(UnsafeMutableRawPointer(base), byteCount: buffer.count * MemoryLayout<T>.stride, root: root)
    }

    /// Gathers each rank's array (of possibly different counts) in rank order.
    public func allGather<T: CommunicatorScalar>(_ values: [T]) throws -> [T] {
        var counts = [Int64](repeating: 0, count: size)
        counts[rank] = Int64(values.count)
        try allReduceSum(&counts)
        let total = Int(counts.reduce(0, +))
        var out = [T](unsafeUninitializedCapacity: total) { _, n in n = total }
        let stride = MemoryLayout<T>.stride
        try values.withUnsafeBytes { send in
            try out.withUnsafeMutableBytes { recv in
                guard let r = recv.baseAddress else { return }
                let s = send.baseAddress ?? UnsafeRawPointer(r)
                try allGather(s, byteCounts: counts.map { Int($0) * stride }, into: r)
            }
        }
        return out
    }

    /// Copies a string from `root` to every rank.
    public func broadcast(string: String, root: Int = 0) throws -> String {
        var bytes = Array(string.utf8)
        var count = [Int64(bytes.count)]
        try broadcast(&count, root: root)
        if rank != root { bytes = [UInt8](repeating: 0, count: Int(count[0])) }
        try broadcast(&bytes, root: root)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Starts an in-place all-reduce with a new request.
    public func startAllReduce(_ buffer: UnsafeMutableRawPointer, count: Int, kind: ScalarKind,
                               op: ReduceOp) throws -> CommunicatorRequest {
        try startAllReduce(buffer, count: count, kind: kind, op: op, reusing: nil)
    }

    /// True on rank 0, the rank that speaks.
    public var isRoot: Bool { rank == 0 }
}
