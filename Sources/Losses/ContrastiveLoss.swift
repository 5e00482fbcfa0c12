import Settings

extension Options {
    public var posMargin: Option<Double> { Option("pos-margin", 0.0,
                                                  "Contrastive loss: positive pairs count beyond this distance.",
                                                  check: .marginLike) }
    public var negMargin: Option<Double> { Option("neg-margin", 1.0,
                                                  "Contrastive loss: negative pairs count within this distance.",
                                                  check: .marginLike) }
}

/// PML's ContrastiveLoss: the mean over the non-zero positive terms `relu(d - pos)` plus the mean
/// over the non-zero negative terms `relu(neg - d)`, over ordered pairs; with a miner, over the
/// pairs of the mined triplets (anchor-positive and anchor-negative, each once per triplet, as
/// PML converts them), mined with `minerMargin`.
public final class ContrastiveLoss: EmbeddingObjective {
    public let posMargin: Double, negMargin: Double
    public let miner: Miner
    public let minerMargin: Double
    public private(set) var minedTriplets: Int? = 0

    public init(posMargin: Double, negMargin: Double, miner: Miner = .none, minerMargin: Double = 0.05) {
        self.posMargin = posMargin
        self.negMargin = negMargin
        self.miner = miner
        self.minerMargin = minerMargin
    }

    public func evaluate(_ g: EmbeddingGeometry, labels y: UnsafePointer<Int32>, count n: Int,
                         dimension d: Int) -> Double {
        g.distances(rows: n, columns: d, squared: false)
        let dist = g.dist.p, dD = g.dD.p, uses = g.scratch.p  // how often each ordered pair counts
        if miner == .none {
            minedTriplets = 0
            for i in 0..<n { for j in 0..<n { uses[i * n + j] = j == i ? 0 : 1 } }
        } else {
            uses.update(repeating: 0, count: n * n)
            minedTriplets = miner.forEachTriplet(distances: dist, labels: y, count: n, margin: minerMargin) { a, p, q in
                uses[a * n + p] += 1
                uses[a * n + q] += 1
            }
        }
        var posSum = 0.0, negSum = 0.0, posCount = 0.0, negCount = 0.0
        for i in 0..<(n * n) where uses[i] > 0 {
            if y[i / n] == y[i % n] {
                let v = dist[i] - posMargin
                if v > 0 { posSum += uses[i] * v; posCount += uses[i] }
            } else {
                let v = negMargin - dist[i]
                if v > 0 { negSum += uses[i] * v; negCount += uses[i] }
            }
        }
        for i in 0..<(n * n) {
            var gradient = 0.0
            if uses[i] > 0 {
                if y[i / n] == y[i % n] {
                    if dist[i] - posMargin > 0 { gradient = uses[i] / posCount }
                } else if negMargin - dist[i] > 0 {
                    gradient = -uses[i] / negCount
                }
            }
            dD[i] = gradient
        }
        g.distanceBackward(rows: n, columns: d, squared: false)
        return (posCount == 0 ? 0 : posSum / posCount) + (negCount == 0 ? 0 : negSum / negCount)
    }
}

extension EmbeddingLossSpec {
    /// `--metric-loss contrastive`: every pair of the global batch (PML's ContrastiveLoss).
    public static let contrastive = EmbeddingLossSpec(
        options: { [Options().posMargin, Options().negMargin, Options().miner, Options().tripletMargin] },
        golden: [GoldenParameter("pos_margin") { $0.posMargin = $1 },
                 GoldenParameter("neg_margin") { $0.negMargin = $1 }]
    ) { s, _, d, weight in
        EmbeddingLoss(ContrastiveLoss(posMargin: s.posMargin, negMargin: s.negMargin, miner: s.miner,
                                      minerMargin: s.tripletMargin),
                      dimension: d, weight: weight)
    }
}
