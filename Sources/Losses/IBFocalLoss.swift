import Settings

extension LossSpec {
    /// `--loss ib-focal`: the IB loss with a focal factor on its cross-entropy.
    public static let ibFocal = LossSpec(
        options: { [Options().focalGamma, Options().ibAlpha, Options().ibStartEpoch] }, defaultWeighting: .ib, twoPhase: true,
        golden: [GoldenParameter("gamma") { $0.focalGamma = $1 }, GoldenParameter("alpha") { $0.ibAlpha = $1 }]
    ) { settings, classes, d in
        LossFunction(LossConfig(settings, variant: .ibFocal), classes: classes, featureDimension: d)
    }
}
