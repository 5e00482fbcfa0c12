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
