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
