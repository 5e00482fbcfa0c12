import Settings

extension LossSpec {
    /// `--loss ib-focal`: the IB loss (IBLoss.swift) with the focal factor of FocalLoss.swift on
    /// its cross-entropy: `alpha / (g f + epsilon) * (1 - q)^gamma CE_i`.
    public static let ibFocal = LossSpec(
        options: { [Options().focalGamma, Options().ibAlpha, Options().ibStartEpoch] }, defaultWeighting: .ib,
            twoPhase: true,
        golden: [GoldenParameter("gamma") { $0.focalGamma = $1 }, GoldenParameter("alpha") { $0.ibAlpha = $1 }]
    ) { settings, classes, _ in
        IBLoss(classes: classes, alpha: settings.ibAlpha, focalGamma: settings.focalGamma)
    }
}
