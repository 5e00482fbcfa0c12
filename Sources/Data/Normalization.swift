import Distributed

/// Per-channel mean and standard deviation of training images.
public enum Normalization {
    /// Statistics of `split` in [0, 1] pixel units; summed over ranks when the data is sharded.
    public static func statistics(of split: Split, sharded: Bool, comm: Communicator) throws -> ([Float], [Float]) {
        let c = split.channels, hw = split.height * split.width
        var sums = [Double](repeating: 0, count: 2 * c + 1)
        switch split.pixels {
        case .bytes(let b):
            b.withUnsafeBufferPointer { p in
                for i in 0..<split.count {
                    for ch in 0..<c {
                        var s = 0, q = 0
                        let base = p.baseAddress! + (i * c + ch) * hw
                        for j in 0..<hw {
                            let v = Int(base[j])
                            s += v
                            q += v * v
                        }
                        sums[ch] += Double(s) / 255
                        sums[c + ch] += Double(q) / (255 * 255)
                    }
                }
            }
        case .floats(let f):
            f.withUnsafeBufferPointer { p in
                for i in 0..<split.count {
                    for ch in 0..<c {
                        var s = 0.0, q = 0.0
                        let base = p.baseAddress! + (i * c + ch) * hw
                        for j in 0..<hw {
                            let v = Double(base[j])
                            s += v
                            q += v * v
                        }
                        sums[ch] += s
                        sums[c + ch] += q
                    }
                }
            }
        }
        sums[2 * c] = Double(split.count * hw)
        if sharded { try comm.allReduceSum(&sums) }
        let n = max(sums[2 * c], 1)
        let mean = (0..<c).map { sums[$0] / n }
        let std = (0..<c).map { ch in max((sums[c + ch] / n - mean[ch] * mean[ch]).squareRoot(), 1e-6) }
        return (mean.map(Float.init), std.map(Float.init))
    }
}
