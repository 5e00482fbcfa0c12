import Distributed

/// Per-channel mean and standard deviation of training images.
public enum Normalization {
    /// Statistics of `split` in [0, 1] pixel units; summed over ranks when the data is sharded.
    public static func statistics(of split: Split, sharded: Bool, comm: Communicator) throws -> ([Float], [Float]) {
        let c = split.channels
        var sums = [Double](repeating: 0, count: 2 * c + 1)
        switch split.pixels {
        case .bytes(let b):
            b.withUnsafeBufferPointer { accumulate($0, split: split, scale: 1 / 255, into: &sums) { Double($0) } }
        case .floats(let f):
            f.withUnsafeBufferPointer { accumulate($0, split: split, scale: 1, into: &sums) { Double($0) } }
        }
        sums[2 * c] = Double(split.count * split.height * split.width)
        if sharded { try comm.allReduceSum(&sums) }
        let n = max(sums[2 * c], 1)
        let mean = (0..<c).map { sums[$0] / n }
        let std = (0..<c).map { ch in max((sums[c + ch] / n - mean[ch] * mean[ch]).squareRoot(), 1e-6) }
        return (mean.map(Float.init), std.map(Float.init))
    }

    /// Adds each channel's sum and sum of squares (in units of `scale`) to `sums[ch]`, `sums[C + ch]`.
    @inline(__always)
    static func accumulate<T>(_ p: UnsafeBufferPointer<T>, split: Split, scale: Double, into sums: inout [Double],
                              value: (T) -> Double) {
        let c = split.channels, hw = split.height * split.width
        for i in 0..<split.count {
            for ch in 0..<c {
                var s = 0.0, q = 0.0
                let base = p.baseAddress! + (i * c + ch) * hw
                for j in 0..<hw {
                    let v = value(base[j])
                    s += v
                    q += v * v
                }
                sums[ch] += s * scale
                sums[c + ch] += q * scale * scale
            }
        }
    }
}
