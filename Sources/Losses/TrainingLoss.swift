import Settings
import Tensor

/// The loss a run trains with: the classification term `--loss` names (plain CE before
/// `--ib-start-epoch` for the losses that train in two phases) plus the `--metric-loss` term.
/// The trainer asks for `terms(epoch:)` and provides what each declares in `needs`.
public final class TrainingLoss {
    public let classification: LossTerm
    /// The first phase's loss (plain CE) of the losses that train in two phases.
    public let firstPhase: LossTerm?
    /// The epoch the second phase starts.
    public let secondPhaseStart: Int?
    public let metric: LossTerm?
    /// dL/dscores (B, K) and dL/dh (B, D) of the step, the sum of the terms'.
    public let scoresGradient = Tensor(shape: [1, 1])
    public let featureGradient = Tensor(shape: [1, 1])
    /// The terms of each phase and what they need together, built once (a step allocates nothing).
    private let phases: [(terms: [LossTerm], needs: LossNeeds)]

    public init(classification: LossTerm, firstPhase: LossTerm? = nil, secondPhaseStart: Int? = nil, metric: LossTerm? = nil) {
        self.classification = classification
        self.firstPhase = firstPhase
        self.secondPhaseStart = secondPhaseStart
        self.metric = metric
        phases = [firstPhase ?? classification, classification].map { main in
            let terms = [main] + (metric.map { [$0] } ?? [])
            return (terms, terms.reduce(LossNeeds()) { $0.union($1.needs) })
        }
    }

    /// The loss `settings` describe, from the specs of `--loss` and `--metric-loss`;
    /// `secondPhaseStart` is the resolved `--ib-start-epoch`.
    public convenience init(_ settings: Settings, classes: Int, featureDimension d: Int, secondPhaseStart: Int?) {
        let spec = settings.loss.spec
        let first: LossTerm? = spec.twoPhase ? LossSpec.crossEntropy.make(settings, classes, d) : nil
        self.init(classification: spec.make(settings, classes, d), firstPhase: first, secondPhaseStart: spec.twoPhase ? secondPhaseStart : nil,
                  metric: settings.metricLoss.spec?.term(settings, classes: classes, featureDimension: d))
    }

    /// Whether `epoch` is in the first phase (plain CE) of a two-phase loss.
    public func inFirstPhase(epoch: Int) -> Bool {
        guard firstPhase != nil, let start = secondPhaseStart else { return false }
        return epoch < start
    }

    /// The terms applied in `epoch`, classification first.
    public func terms(epoch: Int) -> [LossTerm] { phases[inFirstPhase(epoch: epoch) ? 0 : 1].terms }

    /// What the terms of `epoch` need together.
    public func needs(epoch: Int) -> LossNeeds { phases[inFirstPhase(epoch: epoch) ? 0 : 1].needs }

    /// Every term's persistent state, by name (checkpointed).
    public var state: [(name: String, tensor: Tensor)] {
        ([classification] + (firstPhase.map { [$0] } ?? []) + (metric.map { [$0] } ?? [])).flatMap(\.state)
    }

    /// Zeroes the step's gradients for `batch` samples, `classes` scores and `d` features.
    public func clearGradients(batch: Int, classes: Int, features d: Int) {
        scoresGradient.ensureShape(batch, classes)
        scoresGradient.fill(0)
        featureGradient.ensureShape(batch, d)
        featureGradient.fill(0)
    }

    /// The mean's local denominator: `sum_i w[y_i]` when a term wants a weighted mean and there
    /// are weights, else the batch size.
    public func localNormalizer(epoch: Int, targets: UnsafePointer<Int32>, batch: Int, weights: [Double]?) -> Double {
        guard needs(epoch: epoch).weightedMean, let weights else { return Double(batch) }
        var s = 0.0
        for i in 0..<batch { s += weights[Int(targets[i])] }
        return s
    }
}
