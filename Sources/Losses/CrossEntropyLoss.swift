import Settings

extension LossSpec {
    /// `--loss ce`: cross-entropy, optionally class-weighted (PyTorch's weighted mean).
    public static let crossEntropy = LossSpec(options: { [] }) { settings, classes, d in
        LossFunction(LossConfig(settings, variant: .ce), classes: classes, featureDimension: d)
    }
}
