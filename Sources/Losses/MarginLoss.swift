import Foundation
import Settings
import Tensor

extension Options {
    public var margin: Option<Double?> { Option("margin", nil,
                                                "Margin of a margin head: degrees for arcface and subcenter-arcface, " +
                                                "a cosine for cosface, the integer multiplier m for sphereface, the " +
                                                "largest class's margin for ldam.",
                                                defaultText: MarginLoss.defaultsText(\.marginDefault)) }
    public var scale: Option<Double?> { Option("scale", nil, "Scale of a margin head's logits (and of ldam's).",
                                               defaultText: MarginLoss.defaultsText(\.scaleDefault),
                                               check: OptionCheck { $0 > 0 && $0 <= 10_000
                                               ? nil : "must be in (0, 10000], got \($0)" }.whenSet) }
    public var subCenters: Option<Int> { Option("sub-centers", 3, "Sub-centres per class (subcenter-arcface).",
                                                check: .range(1, 1000)) }
}

/// The margin heads' loss on the cosine head's output (pytorch-metric-learning 2.9): mean
/// cross-entropy (class-weighted as PyTorch weighs it) over `scale * cos(theta_j)`, the target
/// class's cosine replaced by its margin form; SphereFace scales by `|h| * scale` and so also
/// sends a gradient into `h`. Prediction is the argmax of the cosines, without margin.
public final class MarginLoss: LossTerm {
    public enum Kind: Sendable, Equatable {
        case arcface(marginDegrees: Double)
        case cosface(margin: Double)
        case sphereface(margin: Int)
    }

    public let kind: Kind
    public let scale: Double
    public let classes: Int
    /// One sample's scaled logits, then their softmax (K; kept between steps).
    private var row: [Double]

    public init(kind: Kind, scale: Double, classes: Int) {
        self.kind = kind
        self.scale = scale
        self.classes = classes
        row = Array(repeating: 0, count: classes)
    }

    /// The spec of a margin head: `--margin` and `--scale`, or PML's defaults (`margin`, `scale`);
    /// `marginRange` checks `--margin` for this head.
    static func spec(_ kind: @escaping @Sendable (Double) -> Kind, margin: Double, scale: Double, marginName: String,
                     head: LossHead = .cosine,
                     marginRange: @escaping @Sendable (LossKind, Double) -> String?) -> LossSpec {
        LossSpec(options: { [Options().margin,
                             Options().scale] + (head == .cosineWithSubCenters ? [Options().subCenters] : []) },
                 head: head, marginDefault: margin, scaleDefault: scale,
                 golden: [GoldenParameter(marginName) { $0.margin = $1 }, GoldenParameter("scale") { $0.scale = $1 }]
                     + (head == .cosineWithSubCenters
                         ? [GoldenParameter("sub_centers") { $0.subCenters = Int($1) }] : []),
                 problems: { s in s.margin.flatMap { marginRange(s.loss, $0) }.map { [$0] } ?? [] }) { s, classes, _ in
            MarginLoss(kind: kind(s.margin ?? margin), scale: s.scale ?? scale, classes: classes)
        }
    }

    /// `--margin` in degrees, [0, 180).
    static func degrees(_ loss: LossKind, _ m: Double) -> String? {
        m >= 0 && m < 180 ? nil : "--margin must be in [0, 180) degrees, got \(m)"
    }

    /// `--margin` as a cosine or a logit margin, [0, 2].
    static func additive(_ loss: LossKind, _ m: Double) -> String? {
        m >= 0 && m <= 2 ? nil : "--margin of \(loss.rawValue) must be in [0, 2], got \(m)"
    }

    /// The losses' defaults of a shared option, for `--help` ("arcface 28.6, cosface 0.35, ...").
    static func defaultsText(_ value: KeyPath<LossSpec, Double?>) -> String {
        LossKind.allCases.compactMap { kind in
            kind.spec[keyPath: value].map { "\(kind.rawValue) \(Double(Int($0)) == $0 ? String(Int($0)) : String($0))" }
        }.joined(separator: ", ")
    }

    public var needs: LossNeeds {
        if case .sphereface = kind { return LossNeeds(features: true, weightedMean: true) }
        return LossNeeds(weightedMean: true)
    }

    public func accumulate(_ batch: LossBatch, scoresGradient: Tensor, featureGradient: Tensor) -> Double {
        let b = batch.count, k = classes
        let d = batch.count > 0 ? batch.features.count / b : 0
        let inv = 1 / batch.normalizer
        var total = 0.0
        let sphere: Bool
        if case .sphereface = kind { sphere = true } else { sphere = false }
        for i in 0..<b {
            let y = Int(batch.targets[i])
            let w = batch.weights?[y] ?? 1
            let cos = batch.scores.data + i * k
            let h = batch.features.data + i * d
            var norm = 1.0
            if sphere {
                var s2 = 0.0
                for j in 0..<d { s2 += Double(h[j]) * Double(h[j]) }
                norm = max(s2.squareRoot(), 1e-12)
            }
            let (target, slope) = modifiedTarget(Double(cos[y]))
            let factor = scale * norm
            // The softmax of factor * f, f the cosines with the target's replaced.
            for c in 0..<k { row[c] = factor * (c == y ? target : Double(cos[c])) }
            let lse = row.withUnsafeMutableBufferPointer { Softmax.normalize($0.baseAddress!, count: k) }
            total += w * (lse - factor * target)
            var dNorm = 0.0
            let dcos = scoresGradient.data + i * k
            for c in 0..<k {
                let f = c == y ? target : Double(cos[c])
                let dl = w * inv * (row[c] - (c == y ? 1 : 0))
                dcos[c] += Float(factor * dl * (c == y ? slope : 1))
                dNorm += scale * dl * f
            }
            if sphere {
                // |h| scales SphereFace's logits: d|h|/dh = h / |h|.
                let dh = featureGradient.data + i * d
                for j in 0..<d { dh[j] += Float(dNorm * Double(h[j]) / norm) }
            }
        }
        return total * inv
    }

    /// The target class's modified cosine and its derivative with respect to the cosine.
    public func modifiedTarget(_ c: Double) -> (Double, Double) {
        switch kind {
        case .cosface(let margin):
            return (c - margin, 1)
        case .sphereface(let m):
            // psi = (-1)^k cos(m theta) - 2k, k = floor(m theta / pi); cos(m theta) as the
            // Chebyshev polynomial T_m(c) (also its derivative: finite at c = +-1).
            let clamped = min(max(c, -1), 1)
            let k = (acos(clamped) * Double(m) / Double.pi).rounded(.down)
            let sign = Int(k) % 2 == 0 ? 1.0 : -1.0
            let (t, dt) = Self.chebyshev(m, clamped)
            return (sign * t - 2 * k, sign * dt)
        case .arcface(let degrees):
            let m = degrees * Double.pi / 180
            let clamped = min(max(c, -1), 1)
            let theta = acos(clamped)
            // d theta / d c is infinite at c = +-1; PML clamps the cosine just inside.
            let dTheta = -1 / max(1 - clamped * clamped, 1e-14).squareRoot()
            if theta <= Double.pi - m {
                return (cos(theta + m), -sin(theta + m) * dTheta)
            }
            // Past pi - m the curve continues as cos(theta) - m sin(m), keeping it decreasing.
            return (cos(theta) - m * sin(m), 1)
        }
    }

    /// T_m(c) = cos(m acos c) and its derivative, from the multiple-angle formula
    /// sum_n (-1)^n C(m, 2n) c^(m-2n) (1-c^2)^n (PML's LargeMarginSoftmaxLoss).
    static func chebyshev(_ m: Int, _ c: Double) -> (Double, Double) {
        var value = 0.0, slope = 0.0
        let s2 = 1 - c * c
        for n in 0...(m / 2) {
            let coefficient = (n % 2 == 0 ? 1.0 : -1.0) * binomial(m, 2 * n)
            let p = m - 2 * n
            value += coefficient * pow(c, Double(p)) * pow(s2, Double(n))
            if p > 0 { slope += coefficient * Double(p) * pow(c, Double(p - 1)) * pow(s2, Double(n)) }
            if n > 0 { slope += coefficient * pow(c, Double(p)) * Double(n) * pow(s2, Double(n - 1)) * (-2 * c) }
        }
        return (value, slope)
    }

    static func binomial(_ n: Int, _ r: Int) -> Double {
        (0..<r).reduce(1.0) { $0 * Double(n - $1) / Double($1 + 1) }
    }
}
