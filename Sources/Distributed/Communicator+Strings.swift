extension Communicator {
    /// Gathers one string from every rank, in rank order, on every rank.
    public func allGather(strings value: String) throws -> [String] {
        var counts: [Int64] = Array(repeating: 0, count: size)
        let bytes = Array(value.utf8)
        counts[rank] = Int64(bytes.count)
        try allReduceSum(&counts)
        let all: [UInt8] = try allGather(bytes)
        var out: [String] = []
        var start = 0
        for c in counts {
            out.append(String(decoding: all[start..<(start + Int(c))], as: UTF8.self))
            start += Int(c)
        }
        return out
    }
}
