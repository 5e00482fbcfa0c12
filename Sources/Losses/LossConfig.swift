import Settings

/// Hyper-parameters of the softmax family (`LossFunction`); each variant reads its own.
/// Defaults are the options'.
public struct LossConfig: Codable, Sendable, Equatable {
    public var variant: LossFunction.Variant
    public var focalGamma = Options().focalGamma.defaultValue
    public var focalScale = Options().focalScale.defaultValue
    public var ibAlpha = Options().ibAlpha.defaultValue
    public var crlEta = Options().crlEta.defaultValue
    public var crlKappa = Options().crlKappa.defaultValue
    public var crlMargin = Options().crlMargin.defaultValue
    public var crlRho = Options().crlRho.defaultValue
    /// CRL mines the gathered global batch.
    public var crlGlobalMining = Options().crlMining.defaultValue == .global

    public init(kind variant: LossFunction.Variant, focalGamma: Double = Options().focalGamma.defaultValue,
                focalScale: Double = Options().focalScale.defaultValue, ibAlpha: Double = Options().ibAlpha.defaultValue,
                crlEta: Double = Options().crlEta.defaultValue, crlKappa: Int = Options().crlKappa.defaultValue,
                crlMargin: Double = Options().crlMargin.defaultValue, crlRho: Double = Options().crlRho.defaultValue) {
        self.variant = variant
        self.focalGamma = focalGamma
        self.focalScale = focalScale
        self.ibAlpha = ibAlpha
        self.crlEta = crlEta
        self.crlKappa = crlKappa
        self.crlMargin = crlMargin
        self.crlRho = crlRho
    }

    /// The variant's settings of a run.
    public init(_ settings: Settings, variant: LossFunction.Variant) {
        self.init(kind: variant, focalGamma: settings.focalGamma, focalScale: settings.focalScale,
                  ibAlpha: settings.ibAlpha, crlEta: settings.crlEta, crlKappa: settings.crlKappa,
                  crlMargin: settings.crlMargin, crlRho: settings.crlRho)
        crlGlobalMining = settings.crlMining == .global
    }

    /// The variant (tests and the loss's own code read it as `kind`).
    public var kind: LossFunction.Variant { variant }
}
