import Distributed

/// All-gathers labelled rows from every rank and puts them in a caller's order: the global
/// batch of a loss term that asked for it, the test features of the retrieval metrics.
/// Its buffers grow when too small and are kept: a gather of the same size allocates nothing.
final class LabelledRowGather {
    let comm: Communicator
    /// Rows to send (`width` floats, then the label as a float: exact below 2^24).
    var send: [Float] = []
    private var receive: [Float] = []
    /// The gathered rows (count x width) and labels, in the caller's order.
    private(set) var rows: [Float] = []
    private(set) var labels: [Int32] = []
    /// Rows each rank sends, set by the caller before `gather`, and their bytes.
    var counts: [Int]
    private var bytes: [Int]

    init(comm: Communicator) {
        self.comm = comm
        counts = Array(repeating: 0, count: comm.size)
        bytes = counts
    }

    /// Makes `send` hold at least `count` rows of `width` floats and a label.
    func reserve(rows count: Int, width: Int) {
        if send.count < max(count * (width + 1), 1) { send = [Float](repeating: 0, count: max(count * (width + 1), 1)) }
    }

    /// Gathers `counts[r]` rows of `width` floats and a label from each rank r (this rank's in
    /// `send`) and puts rank r's i-th row and label at `place(r, i)` of `rows` and `labels`.
    /// Returns the number of rows.
    func gather(width: Int, place: (Int, Int) -> Int) throws -> Int {
        let stride = width + 1
        let total = counts.reduce(0, +)
        if receive.count < max(total * stride, 1) { receive = [Float](repeating: 0, count: max(total * stride, 1)) }
        if rows.count < max(total * width, 1) { rows = [Float](repeating: 0, count: max(total * width, 1)) }
        if labels.count < max(total, 1) { labels = [Int32](repeating: 0, count: max(total, 1)) }
        for r in 0..<counts.count { bytes[r] = counts[r] * stride * 4 }
        try send.withUnsafeBytes { s in
            try receive.withUnsafeMutableBytes { r in
                try comm.allGather(s.baseAddress!, byteCounts: bytes, into: r.baseAddress!)
            }
        }
        var offset = 0
        for r in 0..<counts.count {
            for i in 0..<counts[r] {
                let index = place(r, i), from = (offset + i) * stride
                for c in 0..<width { rows[index * width + c] = receive[from + c] }
                labels[index] = Int32(receive[from + width])
            }
            offset += counts[r]
        }
        return total
    }

    /// The gathered rows and labels; valid until the next gather (the arrays are not resized
    /// before it, so their storage stays where it is).
    func withGathered<R>(_ body: (UnsafePointer<Float>, UnsafePointer<Int32>) throws -> R) rethrows -> R {
        try rows.withUnsafeBufferPointer { r in try labels.withUnsafeBufferPointer { l in try body(r.baseAddress!,
                                                                                                   l.baseAddress!) } }
    }
}
