import Settings

/// LDAM (Cao et al. 2019) on the cosine head's output: the target's cosine loses the margin
/// `m_c = n_c^(-1/4)`, scaled so that the largest is `maxMargin`; the loss is the weighted
/// cross-entropy of `s * z'`. LDAM-DRW adds class-balanced weights from 80% of the epochs.
public struct LDAMLoss: LogitAdjustment {
    public var maxMargin: Double
    public var scale: Double
    public init(maxMargin: Double = 0.5, scale: Double = 30) {
        self.maxMargin = maxMargin
        self.scale = scale
    }

    public var takesClassWeights: Bool { true }

    public func adjust(counts: [Int], scale s: inout [Double], offset: inout [Double], margin: inout [Double]) {
        let raw = counts.map { 1 / Double($0).squareRoot().squareRoot() }
        let largest = raw.max() ?? 1
        for c in counts.indices {
            s[c] = scale
            offset[c] = 0
            margin[c] = maxMargin * raw[c] / largest
        }
    }
}

extension LossSpec {
    /// `--loss ldam`: LDAM on the cosine head; `--recipe ldam-drw` adds class-balanced weights from 80% of the epochs.
    public static let ldam: LossSpec = {
        let margin = 0.5, scale = 30.0
        return LossSpec(options: { [Options().margin, Options().scale, Options().labelSmoothing] }, head: .cosine,
                        marginDefault: margin,
                        scaleDefault: scale,
                        golden: [LabelSmoothing.golden, GoldenParameter("max_margin") { $0.margin = $1 },
                                 GoldenParameter("scale") { $0.scale = $1 }],
                        problems: { s in s.margin.flatMap { MarginLoss.additive(.ldam, $0) }.map { [$0] } ?? [] }) { s,
                            classes, _ in
            AdjustedSoftmaxLoss(LDAMLoss(maxMargin: s.margin ?? margin, scale: s.scale ?? scale), classes: classes,
                                smoothing: LabelSmoothing.of(s))
        }
    }()
}
