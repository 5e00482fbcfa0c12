/// What an evaluation measures on the test set, as nested values: the accuracy figures, those
/// of the post-hoc adjusted predictions, retrieval with the features as embeddings (all
/// classes, and the classes held out of training), and how the features cluster. metrics.jsonl,
/// `eval --json` and the printed results write them through one flat coding
/// (`EpochMetrics+Coding`) and one rendering (`ResultText`).
public struct TestFigures: Sendable, Equatable {
    public var test: AccuracyFigures
    /// The post-hoc adjusted predictions' figures (`--posthoc-tau`; nil when off).
    public var posthoc: AccuracyFigures?
    /// The tau-normalised classifier's figures (`--tau-norm`; nil when off), and the tau that
    /// `--tau-norm search` chose on the validation split (nil when tau was given).
    public var taunorm: AccuracyFigures?
    public var tauChosen: Double?
    /// The validation split's figures (`--val-split`; nil without one).
    public var val: AccuracyFigures?
    /// Retrieval on the test set (nil when not measured this epoch, or in files of older versions).
    public var retrieval: RetrievalMetrics?
    /// Retrieval among the classes held out of training (`--holdout-classes`), when held out.
    public var unseen: RetrievalMetrics?
    /// How the test features cluster by class (`ClusterQuality`).
    public var clusters: ClusterQuality?

    public init(test: AccuracyFigures, posthoc: AccuracyFigures? = nil, retrieval: RetrievalMetrics? = nil,
                unseen: RetrievalMetrics? = nil, clusters: ClusterQuality? = nil) {
        self.test = test
        self.posthoc = posthoc
        self.retrieval = retrieval
        self.unseen = unseen
        self.clusters = clusters
    }

    /// Mean precision@1 of the few classes (the bottom 30% by `trainCounts`).
    public func fewPrecisionAt1(trainCounts: [Int]) -> Double? {
        guard let p = retrieval?.precisionAt1PerClass, p.count == trainCounts.count else { return nil }
        let few = AccuracyFigures.groups(trainCounts: trainCounts).2
        return few.isEmpty ? nil : few.reduce(0) { $0 + p[$1] } / Double(few.count)
    }
}

/// An evaluation of a model on the test set (`Evaluator`): its figures, and what the caller may
/// keep of the predictions.
public struct Evaluation: Sendable {
    public var figures: TestFigures
    /// The predicted class of each test sample (empty when not recorded).
    public var predictions: [Int32] = []
    /// The test samples' logits (N x K, test-set order) when the evaluator keeps them.
    public var logits: [Float]?

    public init(figures: TestFigures) {
        self.figures = figures
    }

    /// The class with the lowest recall.
    public var worstClass: Int { figures.test.worstClass }
}
