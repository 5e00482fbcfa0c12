import Settings

extension Options {
    public var quadrupletMargin1: Option<Double> { Option("quadruplet-margin1", 1.0, "Quadruplet loss: margin of the triplet term.", check: .marginLike) }
    public var quadrupletMargin2: Option<Double> { Option("quadruplet-margin2", 0.5, "Quadruplet loss: margin of the term over a fourth sample of a third class.", check: .marginLike) }
}

extension EmbeddingLossSpec {
    /// `--metric-loss quadruplet`: Chen et al. 2017 over the global batch.
    public static let quadruplet = EmbeddingLossSpec(
        options: { [Options().quadrupletMargin1, Options().quadrupletMargin2] },
        golden: [GoldenParameter("margin1") { $0.quadrupletMargin1 = $1 }, GoldenParameter("margin2") { $0.quadrupletMargin2 = $1 }]
    ) { s, _, d, weight in
        EmbeddingLoss(.quadruplet(margin1: s.quadrupletMargin1, margin2: s.quadrupletMargin2), dimension: d, weight: weight)
    }
}
