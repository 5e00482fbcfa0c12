import Settings

/// `--class-weights`: `auto` is what the loss's spec says (ib for focal, ib and ib-focal).
public enum ClassWeightSetting: String, Codable, CaseIterable, Sendable, OptionEnum {
    case auto, none, ib, cb

    /// The weighting for `loss` once `auto` is resolved.
    public func resolved(for loss: LossKind) -> ClassWeighting {
        switch self {
        case .none: .none
        case .ib: .ib
        case .cb: .cb
        case .auto: loss.spec.defaultWeighting
        }
    }
}

extension Options {
    public var classWeights: Option<ClassWeightSetting> { Option("class-weights", ClassWeightSetting.auto,
                                                                 "Class weights: auto is ib for focal, ib and " +
                                                                 "ib-focal, none for the others.") }
    public var cbBeta: Option<Double> { Option("cb-beta", 0.9999, "Beta of the class-balanced (cb) weights.",
                                               check: OptionCheck { $0 > 0 && $0 < 1
                                               ? nil : "must be in (0, 1), got \($0)" }) }
    public var drwEpoch: Option<EpochPoint?> { Option("drw-epoch", nil,
                                                      "Deferred re-weighting: class weights off before this epoch (a " +
                                                      "number, or a share of the epochs such as 80%).",
                                                      defaultText: "always on",
                                                      check: OptionCheck { $0.problem }.whenSet) }
}
