import Settings
import Tensor

extension Options {
    public var ibAlpha: Option<Double> { Option("ib-alpha", 1000.0, "IB alpha (ib, ib-focal).", check: .positive) }
    public var ibStartEpoch: Option<Int?> { Option("ib-start-epoch", nil,
                                                   "Epoch the IB loss starts; plain CE before it.",
                                                   defaultText: "epochs / 2",
                                                   check: OptionCheck.range(0, 1_000_000).whenSet) }
}

/// Influence-balanced loss (Park et al. 2021): each sample's (class-weighted) cross-entropy,
/// or its focal form for IB-focal, times `alpha / (g f + epsilon)` with `g = sum_k |p_k - onehot_k|`
/// (the logits' gradient norm) and `f = sum_j |h_j|` (the features' L1 norm); a plain mean.
/// Its gradient reaches the features: `dL/dh`.
public final class IBLoss: LossTerm {
    public let classes: Int
    public let alpha: Double
    /// The focal factor's gamma for IB-focal; nil for IB.
    public let focalGamma: Double?
    let softmax = SoftmaxRows()

    /// IB's fixed epsilon in `alpha / (g f + epsilon)`.
    public static let epsilon = 0.001

    public init(classes: Int, alpha: Double, focalGamma: Double? = nil) {
        self.classes = classes
        self.alpha = alpha
        self.focalGamma = focalGamma
    }

    public var needs: LossNeeds { LossNeeds(features: true) }

    public func accumulate(_ batch: LossBatch, scoresGradient: Tensor, featureGradient: Tensor) -> Double {
        guard batch.count > 0 else { return 0 }
        let k = classes, b = batch.count, inv = 1 / batch.normalizer
        let features = batch.features, d = features.count / b
        precondition(features.count == b * d && d > 0, "the IB loss needs the features h")
        softmax.compute(batch.scores, classes: k)
        var total = 0.0
        for i in 0..<b {
            let y = Int(batch.targets[i]), w = batch.weights?[y] ?? 1
            let pi = softmax.p + i * k
            let ce = softmax.crossEntropy(i, logits: batch.scores, target: y, weight: w, classes: k)
            let (x, dx) = focalGamma.map { FocalLoss.focal(ce, gamma: $0) } ?? (ce, 1.0)
            // g = sum_k |p_k - onehot_k| and its sign pattern s_k (sign(0) = 0, as autograd).
            var g = 0.0, sp = 0.0
            for j in 0..<k {
                let diff = pi[j] - (j == y ? 1 : 0)
                g += abs(diff)
                sp += Self.sign(diff) * pi[j]
            }
            let h = features.data + i * d
            let f = Self.absoluteSum(h, count: d)
            let ib = alpha / (g * f + Self.epsilon)
            total += x * ib
            let dIB = -ib * ib / alpha  // d ib / d(g f)
            let cePart = ib * dx * w * inv
            let gPart = x * dIB * f * inv
            let dz = scoresGradient.data + i * k
            for j in 0..<k {
                let diff = pi[j] - (j == y ? 1 : 0)
                let dg = Self.sign(diff) * pi[j] - pi[j] * sp  // dg/dz_j
                dz[j] += Float(cePart * diff + gPart * dg)
            }
            // dL/dh_j = hPart * sign(h_j): +-Float(hPart) exactly, or 0.
            let hPart = Float(x * dIB * g * inv)
            let dh = featureGradient.data + i * d
            for j in 0..<d { dh[j] += h[j] > 0 ? hPart : (h[j] < 0 ? -hPart : 0) }
        }
        return total * inv
    }

    @inline(__always)
    static func sign(_ x: Double) -> Double { x > 0 ? 1 : (x < 0 ? -1 : 0) }

    /// `sum_j |h_j|` in double precision, in four independent sums (one chain of dependent
    /// additions made this loop most of the IB loss's time).
    @inline(__always)
    static func absoluteSum(_ h: UnsafePointer<Float>, count d: Int) -> Double {
        var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
        var j = 0
        while j + 4 <= d {
            s0 += Double(abs(h[j]))
            s1 += Double(abs(h[j + 1]))
            s2 += Double(abs(h[j + 2]))
            s3 += Double(abs(h[j + 3]))
            j += 4
        }
        while j < d { s0 += Double(abs(h[j])); j += 1 }
        return (s0 + s1) + (s2 + s3)
    }
}

extension LossSpec {
    /// `--loss ib`: influence-balanced loss (Park et al. 2021), after a first phase of plain CE.
    public static let ib = LossSpec(
        options: { [Options().ibAlpha, Options().ibStartEpoch] }, defaultWeighting: .ib, twoPhase: true,
        golden: [GoldenParameter("alpha") { $0.ibAlpha = $1 }]
    ) { settings, classes, _ in
        IBLoss(classes: classes, alpha: settings.ibAlpha)
    }
}
