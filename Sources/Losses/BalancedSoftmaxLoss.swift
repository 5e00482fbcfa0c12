/// Balanced softmax (Ren et al. 2020): cross-entropy of `z + log(prior)`, `prior_c = n_c / sum n`,
/// without class weights (the prior takes their place).
public struct BalancedSoftmaxLoss: LogitAdjustment {
    public init() {}

    public var takesClassWeights: Bool { false }

    public func adjust(counts: [Int], scale: inout [Double], offset: inout [Double], margin: inout [Double]) {
        let logPrior = ClassWeights.logPriors(counts: counts)
        for c in counts.indices {
            scale[c] = 1
            offset[c] = logPrior[c]
            margin[c] = 0
        }
    }
}
