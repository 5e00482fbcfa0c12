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
