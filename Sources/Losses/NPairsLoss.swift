extension EmbeddingLossSpec {
    /// `--metric-loss npairs`: N-pairs loss over the global batch (PML's NPairsLoss).
    public static let npairs = EmbeddingLossSpec(options: { [] }) { _, _, d, weight in
        EmbeddingLoss(.npairs, dimension: d, weight: weight)
    }
}
