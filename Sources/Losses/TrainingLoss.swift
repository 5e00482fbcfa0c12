import Settings
import Tensor

/// Which classification term a training phase trains with.
public enum ClassificationTerm: Sendable, Equatable {
    /// Plain cross-entropy: the first phase of a two-phase loss (`LossSpec.twoPhase`).
    case crossEntropy
    /// The loss `--loss` names.
    case main
    /// The second stage's loss (`--stage2-loss`), without the embedding term.
    case stage2
}

/// The loss a run trains with: the classification term `--loss` names (and, for the losses that
/// train in two phases, the plain CE of their first phase) plus the `--metric-loss` embedding
/// term. The trainer asks for the terms of the epoch's phase (`TrainingPhases`) and provides
/// what each declares in `needs`.
public final class TrainingLoss {
    public let classification: LossTerm
    /// Plain CE, for the first phase of the losses that train in two phases.
    public let crossEntropy: LossTerm?
    public let embedding: LossTerm?
    /// The second stage's classification term (`--stage2-loss`), when there is a second stage.
    public let stage2: LossTerm?
    /// dL/dscores (B, K) and dL/dh (B, D) of the step, the sum of the terms'.
    public let scoresGradient = Tensor(shape: [1, 1])
    public let featureGradient = Tensor(shape: [1, 1])
    /// The terms with the main and with the plain CE classification term and what each set needs,
    /// built once (a step allocates nothing).
    private let main: (terms: [LossTerm], needs: LossNeeds)
    private let plain: (terms: [LossTerm], needs: LossNeeds)
    private let second: (terms: [LossTerm], needs: LossNeeds)

    public init(classification: LossTerm, crossEntropy: LossTerm? = nil, embedding: LossTerm? = nil,
                stage2: LossTerm? = nil) {
        self.classification = classification
        self.crossEntropy = crossEntropy
        self.embedding = embedding
        self.stage2 = stage2
        second = ([stage2 ?? classification], (stage2 ?? classification).needs)
        func set(_ first: LossTerm) -> ([LossTerm], LossNeeds) {
            let terms = [first] + (embedding.map { [$0] } ?? [])
            return (terms, terms.reduce(LossNeeds()) { $0.union($1.needs) })
        }
        main = set(classification)
        plain = set(crossEntropy ?? classification)
    }

    /// The loss `settings` describe, from the specs of `--loss` and `--metric-loss`, and of
    /// `stage2Loss` for a second stage.
    public convenience init(_ settings: Settings, classes: Int, featureDimension d: Int, stage2Loss: LossKind? = nil) {
        let spec = settings.loss.spec
        var second = settings
        if let stage2Loss { second.loss = stage2Loss }
        self.init(classification: spec.make(settings, classes, d),
                  crossEntropy: spec.twoPhase ? LossSpec.crossEntropy.make(settings, classes, d) : nil,
                  embedding: settings.embeddingLoss.spec?.term(settings, classes: classes, featureDimension: d),
                  stage2: stage2Loss.map { $0.spec.make(second, classes, d) })
    }

    /// The terms a phase with `term` applies, classification first.
    public func terms(_ term: ClassificationTerm) -> [LossTerm] {
        switch term {
        case .main: main.terms
        case .crossEntropy: plain.terms
        case .stage2: second.terms
        }
    }

    /// What those terms need together.
    public func needs(_ term: ClassificationTerm) -> LossNeeds {
        switch term {
        case .main: main.needs
        case .crossEntropy: plain.needs
        case .stage2: second.needs
        }
    }

    /// Every term's persistent state, by name (checkpointed).
    public var state: [(name: String, tensor: Tensor)] {
        ([classification] + [crossEntropy, embedding, stage2].compactMap { $0 }).flatMap(\.state)
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
    public func localNormalizer(_ term: ClassificationTerm, targets: UnsafePointer<Int32>, batch: Int,
                                weights: [Double]?) -> Double {
        guard needs(term).weightedMean, let weights else { return Double(batch) }
        var s = 0.0
        for i in 0..<batch { s += weights[Int(targets[i])] }
        return s
    }
}
