import Settings

extension Options {
    public var focalGamma: Option<Double> { Option("focal-gamma", 1.0, "Focal gamma (focal, ib-focal).", check: .atLeast(0)) }
    public var focalScale: Option<Double> { Option("focal-scale", 1.0, "Focal scale (focal).", check: .positive) }
}

extension LossSpec {
    /// `--loss focal`: focal loss (Lin et al. 2017) in the LDAM-DRW convention, IB class weights by default.
    public static let focal = LossSpec(
        options: { [Options().focalGamma, Options().focalScale] }, defaultWeighting: .ib,
        golden: [GoldenParameter("gamma") { $0.focalGamma = $1 }, GoldenParameter("scale") { $0.focalScale = $1 }]
    ) { settings, classes, d in
        LossFunction(LossConfig(settings, variant: .focal), classes: classes, featureDimension: d)
    }
}
