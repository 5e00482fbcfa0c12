extension LossSpec {
    /// `--loss sphereface`: multiplicative angular margin, logits scaled by `|h|` (PML's SphereFaceLoss).
    public static let sphereface = MarginLoss.spec({ .sphereface(margin: Int($0)) }, margin: 4, scale: 1,
                                                   marginName: "margin") { _, m in
        m >= 1 && m <= 16 && m == m.rounded() ? nil : "--margin of sphereface is an integer multiplier " +
                                                      "in 1...16, got \(m)"
    }
}
