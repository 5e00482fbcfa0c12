/// The losses the trainer offers (see docs/losses.md).
public enum LossKind: String, Codable, CaseIterable, Sendable {
    /// Cross-entropy, optionally class-weighted (PyTorch's weighted mean).
    case ce
    /// Focal loss (Lin et al. 2017), LDAM-DRW convention.
    case focal
    /// Influence-balanced loss (Park et al. 2021).
    case ib
    /// IB loss with a focal factor.
    case ibFocal = "ib-focal"
    /// Class rectification loss (Dong et al. 2017/2019): hard-sample triplets of minority classes + CE.
    case crl

    /// Whether the loss takes the penultimate features `h` and returns `dL/dh`.
    public var usesFeatures: Bool { self == .ib || self == .ibFocal }

    /// Whether the loss trains in two phases (plain CE before the IB start epoch).
    public var hasIBPhase: Bool { usesFeatures }

    /// The name used in the golden file (`ib_focal`).
    public var goldenName: String { self == .ibFocal ? "ib_focal" : rawValue }
}

/// Hyper-parameters of every loss; each loss reads its own.
public struct LossConfig: Codable, Sendable, Equatable {
    public var kind: LossKind
    public var focalGamma: Double = 1
    public var focalScale: Double = 1
    public var ibAlpha: Double = 1000
    public var crlEta: Double = 0.01
    public var crlKappa: Int = 25
    public var crlMargin: Double = 0.5
    public var crlRho: Double = 0.5

    /// IB's fixed epsilon in `alpha / (g f + epsilon)`.
    public static let ibEpsilon = 0.001

    public init(kind: LossKind, focalGamma: Double = 1, focalScale: Double = 1, ibAlpha: Double = 1000,
                crlEta: Double = 0.01, crlKappa: Int = 25, crlMargin: Double = 0.5, crlRho: Double = 0.5) {
        self.kind = kind
        self.focalGamma = focalGamma
        self.focalScale = focalScale
        self.ibAlpha = ibAlpha
        self.crlEta = crlEta
        self.crlKappa = crlKappa
        self.crlMargin = crlMargin
        self.crlRho = crlRho
    }
}
