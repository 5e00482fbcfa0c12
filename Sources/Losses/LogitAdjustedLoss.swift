import Settings

/// Logit-adjusted loss (Menon et al. 2021): weighted cross-entropy of `z + tau * log(prior)`.
/// Prediction stays the argmax of `z`. (Post-hoc adjustment of a plain model is `--posthoc-tau`.)
public struct LogitAdjustedLoss: LogitAdjustment {
    public var tau: Double
    public init(tau: Double = 1) { self.tau = tau }

    public var takesClassWeights: Bool { true }

    public func adjust(counts: [Int], scale: inout [Double], offset: inout [Double], margin: inout [Double]) {
        let logPrior = ClassWeights.logPriors(counts: counts)
        for c in counts.indices {
            scale[c] = 1
            offset[c] = tau * logPrior[c]
            margin[c] = 0
        }
    }
}

extension Options {
    public var laTau: Option<Double> { Option("la-tau", 1.0, "Logit-adjusted loss: tau in z + tau log(prior).",
                                              check: .closed(0, 10)) }
}

extension LossSpec {
    /// `--loss logit-adjusted`.
    public static let logitAdjusted = LossSpec(options: { [Options().laTau, Options().labelSmoothing] },
                                               golden: [GoldenParameter("tau") { $0.laTau = $1 },
                                                        LabelSmoothing.golden]) { s, classes, _ in
        AdjustedSoftmaxLoss(LogitAdjustedLoss(tau: s.laTau), classes: classes, smoothing: LabelSmoothing.of(s))
    }
}
