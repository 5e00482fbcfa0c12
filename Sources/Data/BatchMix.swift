import Foundation
import Tensor

/// mixup or CutMix of one global batch (timm's batch mode): one lambda from Beta(A, A) for the
/// whole batch, drawn from (seed, epoch, step) alone, and each sample's partner the sample at
/// the mirrored position of the global batch (timm's `x.flip(0)`), so N ranks blend what one
/// process blends. Each rank assembles the partners of its samples itself (every rank holds the
/// training set). With both `--mixup` and `--cutmix`, each step takes one of them at random.
public struct BatchMix: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// lambda x_i + (1 - lambda) x_j
        case mixup
        /// x_i with the box's pixels of x_j
        case cutmix(rows: Range<Int>, columns: Range<Int>)
    }

    public var kind: Kind
    /// The share of the loss (and, for mixup, of the image) on the sample's own label; for
    /// CutMix, 1 minus the box's share of the image.
    public var lambda: Double

    /// The blend of step `step` of `epoch` for images of `height` x `width`, nil when
    /// `augmentation` does not mix.
    public static func draw(_ augmentation: Augmentation, seed: UInt64, epoch: Int, step: Int, height h: Int,
                            width w: Int) -> BatchMix? {
        guard augmentation.mixes else { return nil }
        var rng = RandomSource(seed: seed, stream: [0xB1E, UInt64(epoch), UInt64(step)])
        let useCutmix = augmentation.mixup > 0 && augmentation.cutmix > 0
            ? rng.nextInt(below: 2) == 1 : augmentation.cutmix > 0
        let alpha = useCutmix ? augmentation.cutmix : augmentation.mixup
        let lambda = rng.nextBeta(alpha, alpha)
        guard useCutmix else { return BatchMix(kind: .mixup, lambda: lambda) }
        // timm's rand_bbox: a box of sqrt(1 - lambda) of each side, centred anywhere, clipped.
        let ratio = (1 - lambda).squareRoot()
        let cutH = Int(Double(h) * ratio), cutW = Int(Double(w) * ratio)
        let cy = rng.nextInt(below: h), cx = rng.nextInt(below: w)
        let rows = min(h, max(0, cy - cutH / 2))..<min(h, max(0, cy + cutH / 2))
        let columns = min(w, max(0, cx - cutW / 2))..<min(w, max(0, cx + cutW / 2))
        let kept = 1 - Double(rows.count * columns.count) / Double(h * w)
        return BatchMix(kind: .cutmix(rows: rows, columns: columns), lambda: kept)
    }
}

extension RandomSource {
    /// Gamma(shape, 1) (Marsaglia and Tsang 2000; shape < 1 boosted by U^(1/shape)).
    public mutating func nextGamma(_ shape: Double) -> Double {
        if shape < 1 {
            var u = nextDouble()
            while u <= 0 { u = nextDouble() }
            return nextGamma(shape + 1) * pow(u, 1 / shape)
        }
        let d = shape - 1.0 / 3, c = 1 / (9 * d).squareRoot()
        while true {
            var x = 0.0, v = 0.0
            repeat {
                x = nextNormal()
                v = 1 + c * x
            } while v <= 0
            v = v * v * v
            let u = nextDouble()
            if u < 1 - 0.0331 * x * x * x * x { return d * v }
            if u > 0, log(u) < 0.5 * x * x + d * (1 - v + log(v)) { return d * v }
        }
    }

    /// Beta(a, b) as X / (X + Y), X ~ Gamma(a), Y ~ Gamma(b).
    public mutating func nextBeta(_ a: Double, _ b: Double) -> Double {
        let x = nextGamma(a), y = nextGamma(b)
        return x + y > 0 ? x / (x + y) : 0.5
    }
}
