import Settings

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

extension LossSpec {
    /// `--loss balanced-softmax`: takes no class weights (the log prior takes their place).
    public static let balancedSoftmax = LossSpec(options: { [Options().labelSmoothing] },
                                                 golden: [LabelSmoothing.golden],
                                                 problems: { s in
        [.auto, .none].contains(s.classWeights)
            ? [] : ["--loss balanced-softmax takes no class weights (its log-prior " +
                                                        "adjustment takes their place), got --class-weights " +
                                                        "\(s.classWeights.rawValue)"]
    }) { s, classes, _ in
        AdjustedSoftmaxLoss(BalancedSoftmaxLoss(), classes: classes, smoothing: LabelSmoothing.of(s))
    }
}
