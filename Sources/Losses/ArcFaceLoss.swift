extension LossSpec {
    /// `--loss arcface`: additive angular margin on the cosine head (PML's ArcFaceLoss).
    public static let arcface = MarginLoss.spec({ .arcface(marginDegrees: $0) }, margin: 28.6, scale: 64,
                                                marginName: "margin_degrees",
                                                marginRange: MarginLoss.degrees)
}
