import Settings
import Foundation

/// Learning-rate schedules.
public enum ScheduleKind: String, Codable, CaseIterable, Sendable, OptionEnum {
    /// The IB paper's recipe (see docs/losses.md): warm-up, base, then x0.01 from the
    /// IB start epoch (IB losses) and x0.0001 / x0.000001 from 80% / 90% of the epochs;
    /// other losses: warm-up, base, x0.01 from 80%, x0.0001 from 90%.
    case ibPaper = "ib-paper"
    /// x0.1 at each milestone epoch (default: 50% and 75% of the epochs).
    case step
    /// Half-cosine from the base rate to 0 after warm-up, per step.
    case cosine
    /// The base rate after warm-up.
    case constant
}

/// A learning-rate schedule: base rate, linear warm-up over the first epochs,
/// then the chosen decay.
public struct Schedule: Codable, Sendable, Equatable {
    public var kind: ScheduleKind
    public var baseLR: Float
    public var epochs: Int
    public var warmupEpochs: Int
    /// For `ib-paper`: the epoch the IB loss starts, nil for losses without a second phase.
    public var ibStartEpoch: Int?
    /// For `step`: the epochs where the rate is multiplied by 0.1.
    public var milestones: [Int]

    public init(kind: ScheduleKind, baseLR: Float, epochs: Int, warmupEpochs: Int, ibStartEpoch: Int? = nil, milestones: [Int]? = nil) {
        self.kind = kind
        self.baseLR = baseLR
        self.epochs = epochs
        self.warmupEpochs = warmupEpochs
        self.ibStartEpoch = ibStartEpoch
        self.milestones = milestones ?? [epochs / 2, epochs * 3 / 4]
    }

    /// The rate for step `step` (0-based) of `stepsPerEpoch` in epoch `epoch` (0-based).
    ///
    /// Warm-up is per epoch as in the IB-Loss and LDAM-DRW code: epoch e < warm-up runs at
    /// base x (e + 1) / warm-up.
    public func learningRate(epoch: Int, step: Int = 0, stepsPerEpoch: Int = 1) -> Float {
        if epoch < warmupEpochs {
            return baseLR * Float(epoch + 1) / Float(warmupEpochs)
        }
        let e = Double(epoch), total = Double(epochs)
        switch kind {
        case .constant:
            return baseLR
        case .step:
            let passed = milestones.filter { epoch >= $0 }.count
            return baseLR * Float(Foundation.pow(0.1, Double(passed)))
        case .cosine:
            let span = Double(max(epochs - warmupEpochs, 1) * max(stepsPerEpoch, 1))
            let t = Double((epoch - warmupEpochs) * max(stepsPerEpoch, 1) + step)
            return baseLR * Float(0.5 * (1 + cos(Double.pi * min(t / span, 1))))
        case .ibPaper:
            if e >= 0.9 * total { return baseLR * (ibStartEpoch == nil ? 1e-4 : 1e-6) }
            if e >= 0.8 * total { return baseLR * (ibStartEpoch == nil ? 1e-2 : 1e-4) }
            if let start = ibStartEpoch, epoch >= start { return baseLR * 1e-2 }
            return baseLR
        }
    }
}
