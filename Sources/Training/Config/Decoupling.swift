import Losses
import NN
import Settings

/// Kang et al. 2020's decoupled classifiers: `--stage2` (below) and `--tau-norm` (post hoc,
/// `TauNormalization`).
///
/// `--stage2`: the decoupled second stage, after the `--epochs` of the first, in the
/// same run: the backbone frozen (batch norm on its running statistics, no backward through it),
/// class-balanced sampling, the stage's own cosine schedule from `--stage2-lr`.
public enum Stage2Method: String, Codable, CaseIterable, Sendable, OptionEnum {
    case none
    /// Classifier re-training: the linear classifier re-initialised and trained alone.
    case crt
    /// Learnable weight scaling: only a scale per class on the logits trains (`linear.scales`).
    case lws

    /// What the stage does, for the log.
    public var summary: String {
        switch self {
        case .none: "none"
        case .crt: "cRT, the classifier re-initialised and re-trained alone on the frozen backbone"
        case .lws: "LWS, a scale per class learnt on the logits of the frozen model"
        }
    }
}

extension Options {
    public var stage2: Option<Stage2Method> {
        Option("stage2", Stage2Method.none,
               "A second, decoupled stage after --epochs (Kang et al. 2020): crt re-initialises and re-trains the " +
               "classifier, lws learns a scale per class on the logits; the backbone frozen, class-balanced sampling.")
    }
    public var stage2Epochs: Option<Int> {
        Option("stage2-epochs", 10, "Epochs of the second stage.", check: .range(1, 1_000_000))
    }
    public var stage2LR: Option<Double?> {
        Option("stage2-lr", nil, "Base learning rate of the second stage (a cosine decay over its epochs).",
               defaultText: "--lr", check: OptionCheck.positive.whenSet)
    }
    public var stage2Loss: Option<LossKind> {
        Option("stage2-loss", LossKind.ce, "The classification loss of the second stage (a loss of the linear head).")
    }
}

extension TrainConfig {
    /// Whether the model has class scales on its logits (LWS's, trained in the second stage).
    public var classScales: Bool { self.stage2 == .lws }

    /// Every epoch of the run: the first stage's and the second's.
    public var totalEpochs: Int { self.epochs + (self.stage2 == .none ? 0 : self.stage2Epochs) }

    /// The second stage's schedule: a half-cosine from `--stage2-lr` over its epochs, per step.
    public var stage2Schedule: Schedule {
        Schedule(kind: .cosine, baseLR: Float(self.stage2LR ?? self.lr), epochs: self.stage2Epochs, warmupEpochs: 0)
    }

    /// The learning rate at `step` of `epoch` (counted over both stages) in `phase`: the run's
    /// schedule in the first stage, the second stage's own in the second.
    public func learningRate(epoch: Int, step: Int = 0, stepsPerEpoch: Int = 1,
                             phase: TrainingPhases.Phase) -> Float {
        phase.stage == 2
            ? stage2Schedule.learningRate(epoch: epoch - self.epochs, step: step, stepsPerEpoch: stepsPerEpoch,
                                          phaseFactor: 1)
            : lrSchedule.learningRate(epoch: epoch, step: step, stepsPerEpoch: stepsPerEpoch,
                                      phaseFactor: phase.lrFactor)
    }

    /// Why the second stage cannot run with these settings, or nil.
    var stage2Problem: String? {
        guard self.stage2 != .none else { return nil }
        let method = self.stage2.rawValue, second = self.stage2Loss.rawValue
        if self.loss.spec.head != .linear {
            return "--stage2 \(method) needs a model with a linear classifier, and --loss \(self.loss.rawValue) " +
                   "trains a cosine head; use a loss of the linear head (ce, focal, ib, ldam, ...)"
        }
        if self.stage2Loss.spec.head != .linear {
            return "--stage2-loss \(second) needs a cosine head; the second stage trains the linear classifier"
        }
        if self.stage2Loss.spec.twoPhase { return "--stage2-loss \(second) trains in two phases; a stage has one" }
        return nil
    }

    /// Why `--tau-norm` cannot apply to this model, or nil.
    var tauNormProblem: String? {
        guard self.tauNorm != nil, self.loss.spec.head != .linear else { return nil }
        return "--tau-norm rescales a linear classifier's rows, and --loss \(self.loss.rawValue) trains a cosine " +
               "head (its rows are normalised already)"
    }
}
