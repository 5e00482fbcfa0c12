import Settings

/// The classification losses (see docs/losses.md): the softmax family, the margin heads and the
/// long-tail family. Each case's `LossSpec` is in the loss's own file; adding a loss is a case
/// here, its line in `spec`, and its file.
public enum LossKind: String, Codable, CaseIterable, Sendable, OptionEnum {
    case ce, focal, ib
    case ibFocal = "ib-focal"
    case crl
    case arcface, cosface, sphereface
    case subcenterArcface = "subcenter-arcface"
    case ldam
    case balancedSoftmax = "balanced-softmax"
    case logitAdjusted = "logit-adjusted"
    case vs

    /// The loss's spec.
    public var spec: LossSpec {
        switch self {
        case .ce: .crossEntropy
        case .focal: .focal
        case .ib: .ib
        case .ibFocal: .ibFocal
        case .crl: .crl
        case .arcface: .arcface
        case .cosface: .cosface
        case .sphereface: .sphereface
        case .subcenterArcface: .subcenterArcface
        case .ldam: .ldam
        case .balancedSoftmax: .balancedSoftmax
        case .logitAdjusted: .logitAdjusted
        case .vs: .vs
        }
    }
}

extension Options {
    public var loss: Option<LossKind> { Option("loss", LossKind.ib,
                                               "Classification loss (docs/losses.md); the margin heads replace the " +
                                               "last linear layer by a cosine head.") }
}
