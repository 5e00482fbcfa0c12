/// One line of `metrics.jsonl`: `{"event": "epoch", ...}` after every epoch and
/// `{"event": "done", ...}` at the end: where the run stood, what training measured, the test
/// figures. Nested values here; one flat coding with the file's keys (`EpochMetrics+Coding`).
public struct EpochMetrics: Sendable, Equatable {
    public var event: String
    public var epoch: Int
    public var step: Int
    public var lr: Double
    public var training: TrainingFigures
    public var figures: TestFigures
    /// With `--profile`: rank 0's seconds per phase of the epoch (`EpochProfile`).
    public var profile: [String: Double]?

    public init(event: String, epoch: Int, step: Int, lr: Double, training: TrainingFigures, figures: TestFigures,
                profile: [String: Double]? = nil) {
        self.event = event
        self.epoch = epoch
        self.step = step
        self.lr = lr
        self.training = training
        self.figures = figures
        self.profile = profile
    }

    /// Mean precision@1 of the few classes (the bottom 30% by training count).
    public var fewPrecisionAt1: Double? { figures.fewPrecisionAt1(trainCounts: training.classCounts) }

    /// The line's scalar figures by key, nil where not measured (retrieval of older runs,
    /// post-hoc figures when off): metrics.csv's numeric columns and TensorBoard's tags.
    public var scalars: [(String, Double?)] {
        let t = training, f = figures, r = f.retrieval, u = f.unseen, c = f.clusters, p = f.posthoc, q = f.taunorm
        let base: [(String, Double?)] = [("lr", lr), ("train_loss", t.trainLoss), ("test_acc", f.test.accuracy),
                ("balanced_acc", f.test.balanced),
                ("many", f.test.many), ("medium", f.test.medium), ("few", f.test.few), ("omega", t.omega),
                ("samples_per_s", t.samplesPerS), ("epoch_seconds", t.epochSeconds),
                ("exposed_comm_seconds", t.exposedCommSeconds),
                ("precision_at_1", r?.precisionAt1), ("r_precision", r?.rPrecision), ("map_at_r", r?.mapAtR),
                ("few_precision_at_1", fewPrecisionAt1), ("nmi", c?.nmi), ("ami", c?.ami),
                ("variance_ratio", c?.varianceRatio),
                ("unseen_precision_at_1", u?.precisionAt1), ("unseen_r_precision", u?.rPrecision),
                ("unseen_map_at_r", u?.mapAtR),
                ("test_acc_posthoc", p?.accuracy), ("balanced_acc_posthoc", p?.balanced), ("many_posthoc", p?.many),
                ("medium_posthoc", p?.medium), ("few_posthoc", p?.few),
                ("test_acc_taunorm", q?.accuracy), ("balanced_acc_taunorm", q?.balanced), ("many_taunorm", q?.many),
                ("medium_taunorm", q?.medium), ("few_taunorm", q?.few)]
        let scored: [(AccuracyFigures?, String)] = [(f.test, ""), (p, "_posthoc"), (q, "_taunorm")]
        return base + scored.flatMap { a, suffix -> [(String, Double?)] in
            let figures: [(String, Double?)] = [("many_shot", a?.manyShot), ("medium_shot", a?.mediumShot),
                                                ("few_shot", a?.fewShot), ("top5_acc", a?.top5),
                                                ("test_nll", a?.nll), ("ece", a?.ece),
                                                ("ece_balanced", a?.eceBalanced)]
            return figures.map { ($0.0 + suffix, $0.1) }
        } + zip(AccuracyFigures.scalarNames.map(AccuracyFigures.validationKey), f.val?.scalars ?? []).map { ($0, $1) }
    }
}

/// What training measured in an epoch.
public struct TrainingFigures: Sendable, Equatable {
    /// Mean loss over the epoch's steps, each the global batch's loss.
    public var trainLoss: Double
    /// The loss applied this epoch (`ce` in the first phase of the IB losses; `TrainingPhases`).
    public var lossPhase: String
    /// Global training class counts this epoch, the class weights from them and CRL's Omega.
    public var classCounts: [Int]
    public var classWeights: [Double]
    public var omega: Double
    /// Training samples per second of the whole job (evaluation excluded).
    public var samplesPerS: Double
    public var epochSeconds: Double
    public var skippedSteps: Int
    /// Seconds ranks waited for gradient sums this epoch (communication not hidden by backward).
    public var exposedCommSeconds: Double
    public var worldSize: Int
    /// Draws of each class this epoch over all ranks (the sampler's; empty in older files).
    public var sampledPerClass: [Int] = []
    /// The training stage (2 in `--stage2`'s) and the phase of the run (1-based, `TrainingPhases`).
    public var stage = 1, phase = 1

    public init(trainLoss: Double, lossPhase: String, classCounts: [Int], classWeights: [Double], omega: Double,
                samplesPerS: Double, epochSeconds: Double, skippedSteps: Int, exposedCommSeconds: Double,
                worldSize: Int) {
        self.trainLoss = trainLoss
        self.lossPhase = lossPhase
        self.classCounts = classCounts
        self.classWeights = classWeights
        self.omega = omega
        self.samplesPerS = samplesPerS
        self.epochSeconds = epochSeconds
        self.skippedSteps = skippedSteps
        self.exposedCommSeconds = exposedCommSeconds
        self.worldSize = worldSize
    }

    public init(trainLoss: Double, lossPhase: String, classCounts: [Int], classWeights: [Double], omega: Double,
                samplesPerS: Double, epochSeconds: Double, skippedSteps: Int, exposedCommSeconds: Double,
                worldSize: Int,
                sampledPerClass: [Int]) {
        self.init(trainLoss: trainLoss, lossPhase: lossPhase, classCounts: classCounts, classWeights: classWeights,
                  omega: omega,
                  samplesPerS: samplesPerS, epochSeconds: epochSeconds, skippedSteps: skippedSteps,
                  exposedCommSeconds: exposedCommSeconds, worldSize: worldSize)
        self.sampledPerClass = sampledPerClass
    }
}
