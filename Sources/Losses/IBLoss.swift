import Settings

extension Options {
    public var ibAlpha: Option<Double> { Option("ib-alpha", 1000.0, "IB alpha (ib, ib-focal).", check: .positive) }
    public var ibStartEpoch: Option<Int?> { Option("ib-start-epoch", nil, "Epoch the IB loss starts; plain CE before it.", defaultText: "epochs / 2", check: OptionCheck.range(0, 1_000_000).whenSet) }
}

extension LossSpec {
    /// `--loss ib`: influence-balanced loss (Park et al. 2021), after a first phase of plain CE.
    public static let ib = LossSpec(
        options: { [Options().ibAlpha, Options().ibStartEpoch] }, defaultWeighting: .ib, twoPhase: true,
        golden: [GoldenParameter("alpha") { $0.ibAlpha = $1 }]
    ) { settings, classes, d in
        LossFunction(LossConfig(settings, variant: .ib), classes: classes, featureDimension: d)
    }
}
