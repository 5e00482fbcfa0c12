import Settings

extension Options {
    public var tripletMargin: Option<Double> { Option("triplet-margin", 0.05, "Triplet margin.", check: .marginLike) }
}

extension EmbeddingLossSpec {
    /// `--metric-loss triplet`: every triplet of the global batch (PML's TripletMarginLoss).
    public static let triplet = EmbeddingLossSpec(options: { [Options().tripletMargin, Options().miner] },
                                                  golden: [GoldenParameter("margin") { $0.tripletMargin = $1 }]) { s, _, d, weight in
        EmbeddingLoss(.triplet(margin: s.tripletMargin, miner: s.miner), dimension: d, weight: weight)
    }
}

extension OptionCheck where Value == Double {
    /// A margin of an embedding loss: a finite number in [-100, 100].
    public static var marginLike: Self {
        Self { v in v.isFinite && abs(v) <= 100 ? nil : "must be a finite number in [-100, 100], got \(v)" }
    }
}
