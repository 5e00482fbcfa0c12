import Settings
import Foundation

/// Vector-scaling loss (Kini et al. 2021): weighted cross-entropy of `z / Delta + iota`, with
/// `Delta_c = (n_max / n_c)^gamma` (multiplicative) and `iota_c = tau * log(prior_c)` (additive).
public struct VSLoss: LogitAdjustment {
    public var gamma: Double
    public var tau: Double
    public init(gamma: Double = 0.3, tau: Double = 1) {
        self.gamma = gamma
        self.tau = tau
    }

    public var takesClassWeights: Bool { true }

    public func adjust(counts: [Int], scale: inout [Double], offset: inout [Double], margin: inout [Double]) {
        let logPrior = ClassWeights.logPriors(counts: counts)
        let largest = Double(counts.max() ?? 1)
        for c in counts.indices {
            scale[c] = 1 / pow(largest / Double(counts[c]), gamma)
            offset[c] = tau * logPrior[c]
            margin[c] = 0
        }
    }
}

extension Options {
    public var vsGamma: Option<Double> { Option("vs-gamma", 0.3,
                                                "VS loss: gamma of the multiplicative scaling (n_max / n_c)^gamma.",
                                                check: .closed(0, 10)) }
    public var vsTau: Option<Double> { Option("vs-tau", 1.0, "VS loss: tau of the additive term tau log(prior).",
                                              check: .closed(0, 10)) }
}

extension LossSpec {
    /// `--loss vs`.
    public static let vs = LossSpec(options: { [Options().vsGamma, Options().vsTau, Options().labelSmoothing] },
                                    golden: [LabelSmoothing.golden, GoldenParameter("gamma") { $0.vsGamma = $1 },
                                             GoldenParameter("tau") { $0.vsTau = $1 }]) { s, classes, _ in
        AdjustedSoftmaxLoss(VSLoss(gamma: s.vsGamma, tau: s.vsTau), classes: classes, smoothing: LabelSmoothing.of(s))
    }
}
