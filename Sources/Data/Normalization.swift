import Distributed
import Settings

/// `--normalization`: what images are normalised with, `(pixel / 255 - mean) / std` per channel.
public enum NormalizationKind: String, Codable, CaseIterable, Sendable, OptionEnum {
    /// The training set's own per-channel mean and deviation.
    case dataset
    /// torchvision's ImageNet constants (3 channels), as its pretrained weights expect.
    case imagenet
    /// Mean 0, deviation 1: pixels in [0, 1] as they are.
    case none

    public static let imagenetMean: [Float] = [0.485, 0.456, 0.406]
    public static let imagenetStd: [Float] = [0.229, 0.224, 0.225]
}

extension Options {
    public var normalization: Option<NormalizationKind> {
        Option("normalization", NormalizationKind.dataset,
               "What images are normalised with: dataset (the training set's per-channel mean and deviation), " +
               "imagenet (torchvision's constants, for its pretrained weights; 3 channels) or none; the model " +
               "card, safetensors and ONNX metadata record the values.")
    }
}

/// Per-channel mean and standard deviation of training images.
public enum Normalization {
    /// The mean and deviation `kind` normalises `split`'s images with (the training split's own
    /// for `dataset`; collective when sharded).
    public static func values(_ kind: NormalizationKind, of split: Split, sharded: Bool,
                              comm: Communicator) throws -> ([Float], [Float]) {
        switch kind {
        case .dataset: return try statistics(of: split, sharded: sharded, comm: comm)
        case .none: return ([Float](repeating: 0, count: split.channels), [Float](repeating: 1, count: split.channels))
        case .imagenet:
            guard split.channels == 3 else {
                throw CollectiveFailure(rank: 0, message: "--normalization imagenet normalises 3 colour channels; " +
                                                          "the images have \(split.channels) (add --channels 3)")
            }
            return (NormalizationKind.imagenetMean, NormalizationKind.imagenetStd)
        }
    }

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
