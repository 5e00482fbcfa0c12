extension LossSpec {
    /// `--loss cosface`: additive cosine margin on the cosine head (PML's CosFaceLoss).
    public static let cosface = MarginLoss.spec({ .cosface(margin: $0) }, margin: 0.35, scale: 64, marginName: "margin",
                                                marginRange: MarginLoss.additive)
}
