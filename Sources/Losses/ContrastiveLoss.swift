import Settings

extension Options {
    public var posMargin: Option<Double> { Option("pos-margin", 0.0, "Contrastive loss: positive pairs count beyond this distance.", check: .marginLike) }
    public var negMargin: Option<Double> { Option("neg-margin", 1.0, "Contrastive loss: negative pairs count within this distance.", check: .marginLike) }
}

extension EmbeddingLossSpec {
    /// `--metric-loss contrastive`: every pair of the global batch (PML's ContrastiveLoss).
    public static let contrastive = EmbeddingLossSpec(
        options: { [Options().posMargin, Options().negMargin, Options().miner, Options().tripletMargin] },
        golden: [GoldenParameter("pos_margin") { $0.posMargin = $1 }, GoldenParameter("neg_margin") { $0.negMargin = $1 }]
    ) { s, _, d, weight in
        EmbeddingLoss(.contrastive(posMargin: s.posMargin, negMargin: s.negMargin, miner: s.miner, minerMargin: s.tripletMargin),
                      dimension: d, weight: weight)
    }
}
