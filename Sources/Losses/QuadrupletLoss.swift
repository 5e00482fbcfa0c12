import Settings

extension Options {
    public var quadrupletMargin1: Option<Double> { Option("quadruplet-margin1", 1.0,
                                                          "Quadruplet loss: margin of the triplet term.",
                                                          check: .marginLike) }
    public var quadrupletMargin2: Option<Double> { Option("quadruplet-margin2", 0.5,
                                                          "Quadruplet loss: margin of the term over a fourth " +
                                                          "sample of a third class.", check: .marginLike) }
}

/// Quadruplet loss (Chen et al. 2017) on squared distances of normalised rows: the triplet term
/// `relu(d_ap - d_an + m1)` and the term `relu(d_ap - d_nm + m2)` over a fourth sample of a third
/// class, each averaged over its non-zero terms, summed. Active terms add 1 at their positive
/// pair and -1 at their negative pair of their term's counts.
public final class QuadrupletLoss: EmbeddingObjective {
    public let margin1: Double, margin2: Double

    public init(margin1: Double, margin2: Double) {
        self.margin1 = margin1
        self.margin2 = margin2
    }

    public func evaluate(_ g: EmbeddingGeometry, labels y: UnsafePointer<Int32>, count n: Int,
                         dimension d: Int) -> Double {
        g.distances(rows: n, columns: d, squared: true)
        let dist = g.dist.p, dD1 = g.dD.p, dD2 = g.scratch.p
        dD1.update(repeating: 0, count: n * n)
        dD2.update(repeating: 0, count: n * n)
        var sum1 = 0.0, sum2 = 0.0, count1 = 0, count2 = 0
        for a in 0..<n {
            for p in 0..<n where p != a && y[p] == y[a] {
                let ap = dist[a * n + p]
                for q in 0..<n where y[q] != y[a] {
                    let v1 = ap - dist[a * n + q] + margin1
                    if v1 > 0 { sum1 += v1; count1 += 1; dD1[a * n + p] += 1; dD1[a * n + q] -= 1 }
                    for r in 0..<n where y[r] != y[a] && y[r] != y[q] {
                        let v2 = ap - dist[q * n + r] + margin2
                        if v2 > 0 { sum2 += v2; count2 += 1; dD2[a * n + p] += 1; dD2[q * n + r] -= 1 }
                    }
                }
            }
        }
        for i in 0..<(n * n) { dD1[i] = dD1[i] / Double(max(count1, 1)) + dD2[i] / Double(max(count2, 1)) }
        g.distanceBackward(rows: n, columns: d, squared: true)
        return (count1 == 0 ? 0 : sum1 / Double(count1)) + (count2 == 0 ? 0 : sum2 / Double(count2))
    }
}

extension EmbeddingLossSpec {
    /// `--metric-loss quadruplet`: Chen et al. 2017 over the global batch.
    public static let quadruplet = EmbeddingLossSpec(
        options: { [Options().quadrupletMargin1, Options().quadrupletMargin2] },
        golden: [GoldenParameter("margin1") { $0.quadrupletMargin1 = $1 },
                 GoldenParameter("margin2") { $0.quadrupletMargin2 = $1 }]
    ) { s, _, d, weight in
        EmbeddingLoss(QuadrupletLoss(margin1: s.quadrupletMargin1, margin2: s.quadrupletMargin2), dimension: d,
                      weight: weight)
    }
}
