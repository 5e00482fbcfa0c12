import Settings
import Foundation

/// Learning-rate schedules.
public enum ScheduleKind: String, Codable, CaseIterable, Sendable, OptionEnum {
    /// The IB paper's recipe (see docs/losses.md): warm-up, base, then x0.01 from 80% and
    /// x0.0001 from 90% of the epochs, times the training phase's factor (x0.01 in the IB
    /// losses' second phase: x0.0001 and x0.000001 at the end).
    case ibPaper = "ib-paper"
    /// x0.1 at each milestone epoch (default: 50% and 75% of the epochs).
    case step
    /// Half-cosine from the base rate to 0 after warm-up, per step.
    case cosine
    /// The base rate after warm-up.
    case constant
}

/// A learning-rate schedule: base rate, linear warm-up over the first epochs, then the chosen
/// decay, times the factor of the training phase the epoch is in (the training loop knows the
/// phases; a schedule knows none).
public struct Schedule: Codable, Sendable, Equatable {
    public var kind: ScheduleKind
    public var baseLR: Float
    public var epochs: Int
    public var warmupEpochs: Int
    /// For `step`: the epochs where the rate is multiplied by 0.1.
    public var milestones: [Int]

    public init(kind: ScheduleKind, baseLR: Float, epochs: Int, warmupEpochs: Int, milestones: [Int]? = nil) {
        self.kind = kind
        self.baseLR = baseLR
        self.epochs = epochs
        self.warmupEpochs = warmupEpochs
        self.milestones = milestones ?? [epochs / 2, epochs * 3 / 4]
    }

    /// The rate for step `step` (0-based) of `stepsPerEpoch` in epoch `epoch` (0-based), in a
    /// phase whose rate is `phaseFactor` times the schedule's (after warm-up).
    ///
    /// Warm-up is per epoch as in the IB-Loss and LDAM-DRW code: epoch e < warm-up runs at
    /// base x (e + 1) / warm-up.
    public func learningRate(epoch: Int, step: Int = 0, stepsPerEpoch: Int = 1, phaseFactor: Double = 1) -> Float {
        if epoch < warmupEpochs {
            return baseLR * Float(epoch + 1) / Float(warmupEpochs)
        }
        let e = Double(epoch), total = Double(epochs)
        let multiplier: Double
        switch kind {
        case .constant:
            multiplier = 1
        case .step:
            multiplier = Foundation.pow(0.1, Double(milestones.filter { epoch >= $0 }.count))
        case .cosine:
            let span = Double(max(epochs - warmupEpochs, 1) * max(stepsPerEpoch, 1))
            let t = Double((epoch - warmupEpochs) * max(stepsPerEpoch, 1) + step)
            multiplier = 0.5 * (1 + cos(Double.pi * min(t / span, 1)))
        case .ibPaper:
            multiplier = e >= 0.9 * total ? 1e-4 : (e >= 0.8 * total ? 1e-2 : 1)
        }
        return baseLR * Float(multiplier * phaseFactor)
    }
}
