import Settings

/// The classification losses (see docs/losses.md): the softmax family and the margin heads.
public enum LossKind: String, Codable, CaseIterable, Sendable, OptionEnum {
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
    /// Margin heads on a cosine last layer (pytorch-metric-learning's definitions).
    case arcface, cosface, sphereface
    case subcenterArcface = "subcenter-arcface"
    /// The long-tail family (`AdjustedSoftmaxLoss`): LDAM on the cosine head (Cao et al. 2019),
    /// balanced softmax (Ren et al. 2020), logit adjustment (Menon et al. 2021), VS (Kini et al. 2021).
    case ldam
    case balancedSoftmax = "balanced-softmax"
    case logitAdjusted = "logit-adjusted"
    case vs

    /// Whether the loss reads the penultimate features `h` and returns `dL/dh`.
    public var readsFeatures: Bool { self == .ib || self == .ibFocal || self == .sphereface }

    /// Whether the loss trains in two phases (plain CE before `--ib-start-epoch`).
    public var trainsInTwoPhases: Bool { self == .ib || self == .ibFocal }

    /// Whether the model's last layer is the cosine head (and the loss a margin loss on its cosines).
    public var isMarginHead: Bool { [.arcface, .cosface, .sphereface, .subcenterArcface].contains(self) }

    /// Whether the model's last layer is the cosine head: the margin heads and LDAM.
    public var usesCosineHead: Bool { isMarginHead || self == .ldam }

    /// Whether the loss adjusts the logits by the global class counts (`AdjustedSoftmaxLoss`).
    public var adjustsByCounts: Bool { [.ldam, .balancedSoftmax, .logitAdjusted, .vs].contains(self) }

    /// The name used in the golden files (`ib_focal`, `subcenter_arcface`).
    public var goldenName: String { rawValue.replacingOccurrences(of: "-", with: "_") }
}

/// Where CRL chooses its minority classes and hard samples.
public enum CRLMining: String, Codable, CaseIterable, Sendable, OptionEnum {
    /// Each rank mines its own local batch.
    case local
    /// Scores and labels are all-gathered and mined over the global batch (N ranks = one process).
    case global
}

extension Options {
    public var loss: Option<LossKind> { Option("loss", LossKind.ib, "Classification loss (docs/losses.md); the margin heads replace the last linear layer by a cosine head.") }
    public var focalGamma: Option<Double> { Option("focal-gamma", 1.0, "Focal gamma (focal, ib-focal).") }
    public var focalScale: Option<Double> { Option("focal-scale", 1.0, "Focal scale (focal).") }
    public var ibAlpha: Option<Double> { Option("ib-alpha", 1000.0, "IB alpha (ib, ib-focal).") }
    public var crlEta: Option<Double> { Option("crl-eta", 0.01, "CRL eta: the rectification term's weight is eta * Omega.") }
    public var crlKappa: Option<Int> { Option("crl-kappa", 25, "CRL kappa: hard positives and negatives per minority class.") }
    public var crlMargin: Option<Double> { Option("crl-margin", 0.5, "CRL triplet margin.") }
    public var crlRho: Option<Double> { Option("crl-rho", 0.5, "CRL rho: minority classes cover at most this share of the batch.") }
    public var crlMining: Option<CRLMining> { Option("crl-mining", CRLMining.local, "CRL mining over each rank's batch (local) or the all-gathered global batch (global).") }
}

/// Hyper-parameters of the softmax family; each loss reads its own. Defaults are the options'.
public struct LossConfig: Codable, Sendable, Equatable {
    public var kind: LossKind
    public var focalGamma = Options().focalGamma.defaultValue
    public var focalScale = Options().focalScale.defaultValue
    public var ibAlpha = Options().ibAlpha.defaultValue
    public var crlEta = Options().crlEta.defaultValue
    public var crlKappa = Options().crlKappa.defaultValue
    public var crlMargin = Options().crlMargin.defaultValue
    public var crlRho = Options().crlRho.defaultValue
    /// CRL mines the gathered global batch.
    public var crlGlobalMining = Options().crlMining.defaultValue == .global

    /// IB's fixed epsilon in `alpha / (g f + epsilon)`.
    public static let ibEpsilon = 0.001

    public init(kind: LossKind, focalGamma: Double = Options().focalGamma.defaultValue, focalScale: Double = Options().focalScale.defaultValue,
                ibAlpha: Double = Options().ibAlpha.defaultValue, crlEta: Double = Options().crlEta.defaultValue,
                crlKappa: Int = Options().crlKappa.defaultValue, crlMargin: Double = Options().crlMargin.defaultValue,
                crlRho: Double = Options().crlRho.defaultValue) {
        self.kind = kind
        self.focalGamma = focalGamma
        self.focalScale = focalScale
        self.ibAlpha = ibAlpha
        self.crlEta = crlEta
        self.crlKappa = crlKappa
        self.crlMargin = crlMargin
        self.crlRho = crlRho
    }

    /// The softmax family's settings of a run (`kind` as given: the trainer's CE phase passes `ce`).
    public init(_ settings: Settings, kind: LossKind? = nil) {
        self.init(kind: kind ?? settings.loss, focalGamma: settings.focalGamma, focalScale: settings.focalScale,
                  ibAlpha: settings.ibAlpha, crlEta: settings.crlEta, crlKappa: settings.crlKappa,
                  crlMargin: settings.crlMargin, crlRho: settings.crlRho)
        crlGlobalMining = settings.crlMining == .global
    }
}
