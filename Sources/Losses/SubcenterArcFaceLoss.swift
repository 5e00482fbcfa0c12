extension LossSpec {
    /// `--loss subcenter-arcface`: ArcFace over `--sub-centers` centres per class, the closest one
    /// counting (PML's SubCenterArcFaceLoss).
    public static let subcenterArcface = MarginLoss.spec({ .arcface(marginDegrees: $0) }, margin: 28.6, scale: 64,
                                                         marginName: "margin_degrees", head: .cosineWithSubCenters,
                                                         marginRange: MarginLoss.degrees)
}
