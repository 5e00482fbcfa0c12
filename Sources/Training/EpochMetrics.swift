/// One line of `metrics.jsonl`: `{"event": "epoch", ...}` after every epoch and
/// `{"event": "done", ...}` at the end.
public struct EpochMetrics: Codable, Sendable, Equatable {
    public var event: String
    public var epoch: Int
    public var step: Int
    public var lr: Double
    /// Mean loss over the epoch's steps, each the global batch's loss.
    public var trainLoss: Double
    public var testAcc: Double
    /// Mean per-class recall.
    public var balancedAcc: Double
    /// Mean recall of the classes ranked by training count: top 30%, middle 40%, bottom 30%.
    public var many: Double
    public var medium: Double
    public var few: Double
    public var perClassAcc: [Double]
    /// Global training class counts this epoch.
    public var classCounts: [Int]
    public var classWeights: [Double]
    public var omega: Double
    /// Training samples per second of the whole job (evaluation excluded).
    public var samplesPerS: Double
    public var epochSeconds: Double
    public var skippedSteps: Int
    /// The loss applied this epoch (`ce` in the first phase of the IB losses).
    public var lossPhase: String
    /// Seconds ranks waited for gradient all-reduces this epoch (communication not hidden by backward).
    public var exposedCommSeconds: Double
    public var worldSize: Int
    /// Confusion matrix of the test set: row = true class, column = predicted.
    public var confusion: [[Int]]
    /// Retrieval on the test set with the features as embeddings (nil in files of older versions).
    public var precisionAt1: Double?
    public var rPrecision: Double?
    public var mapAtR: Double?
    public var precisionAt1PerClass: [Double]?
    public var rPrecisionPerClass: [Double]?
    public var mapAtRPerClass: [Double]?
    /// Retrieval among the classes held out of training (`--holdout-classes`), when held out.
    public var unseenPrecisionAt1: Double?
    public var unseenRPrecision: Double?
    public var unseenMapAtR: Double?
    /// How the test features cluster by class (`ClusterQuality`; nil in files of older versions).
    public var nmi: Double?
    public var ami: Double?
    public var varianceRatio: Double?
    /// The post-hoc adjusted predictions' figures (`--posthoc-tau`; nil when off).
    public var testAccPosthoc: Double?
    public var balancedAccPosthoc: Double?
    public var manyPosthoc: Double?
    public var mediumPosthoc: Double?
    public var fewPosthoc: Double?
    public var perClassAccPosthoc: [Double]?
    public var confusionPosthoc: [[Int]]?
    /// With `--profile`: rank 0's seconds per phase of the epoch (`EpochProfile`).
    public var profile: [String: Double]?

    enum CodingKeys: String, CodingKey {
        case event, epoch, step, lr
        case trainLoss = "train_loss"
        case testAcc = "test_acc"
        case balancedAcc = "balanced_acc"
        case many, medium, few
        case perClassAcc = "per_class_acc"
        case classCounts = "class_counts"
        case classWeights = "class_weights"
        case omega
        case samplesPerS = "samples_per_s"
        case epochSeconds = "epoch_seconds"
        case skippedSteps = "skipped_steps"
        case lossPhase = "loss_phase"
        case exposedCommSeconds = "exposed_comm_seconds"
        case worldSize = "world_size"
        case confusion
        case precisionAt1 = "precision_at_1"
        case rPrecision = "r_precision"
        case mapAtR = "map_at_r"
        case precisionAt1PerClass = "precision_at_1_per_class"
        case rPrecisionPerClass = "r_precision_per_class"
        case mapAtRPerClass = "map_at_r_per_class"
        case nmi, ami
        case varianceRatio = "variance_ratio"
        case unseenPrecisionAt1 = "unseen_precision_at_1"
        case unseenRPrecision = "unseen_r_precision"
        case unseenMapAtR = "unseen_map_at_r"
        case testAccPosthoc = "test_acc_posthoc"
        case balancedAccPosthoc = "balanced_acc_posthoc"
        case manyPosthoc = "many_posthoc"
        case mediumPosthoc = "medium_posthoc"
        case fewPosthoc = "few_posthoc"
        case perClassAccPosthoc = "per_class_acc_posthoc"
        case confusionPosthoc = "confusion_posthoc"
        case profile
    }

    /// Mean precision@1 of the few classes (the bottom 30% by training count).
    public var fewPrecisionAt1: Double? {
        guard let p = precisionAt1PerClass, p.count == classCounts.count else { return nil }
        let few = Evaluation.groups(trainCounts: classCounts).2
        return few.isEmpty ? nil : few.reduce(0) { $0 + p[$1] } / Double(few.count)
    }

    /// The line's scalar figures by key, nil where not measured (retrieval of older runs,
    /// post-hoc figures when off): metrics.csv's numeric columns and TensorBoard's tags.
    public var scalars: [(String, Double?)] {
        [("lr", lr), ("train_loss", trainLoss), ("test_acc", testAcc), ("balanced_acc", balancedAcc),
         ("many", many), ("medium", medium), ("few", few), ("omega", omega), ("samples_per_s", samplesPerS),
         ("epoch_seconds", epochSeconds), ("exposed_comm_seconds", exposedCommSeconds),
         ("precision_at_1", precisionAt1), ("r_precision", rPrecision), ("map_at_r", mapAtR),
         ("few_precision_at_1", fewPrecisionAt1), ("nmi", nmi), ("ami", ami), ("variance_ratio", varianceRatio),
         ("unseen_precision_at_1", unseenPrecisionAt1), ("unseen_r_precision", unseenRPrecision), ("unseen_map_at_r", unseenMapAtR),
         ("test_acc_posthoc", testAccPosthoc),
         ("balanced_acc_posthoc", balancedAccPosthoc), ("many_posthoc", manyPosthoc),
         ("medium_posthoc", mediumPosthoc), ("few_posthoc", fewPosthoc)]
    }

    /// Sets the post-hoc adjusted figures.
    public mutating func setPosthoc(_ f: AccuracyFigures?) {
        testAccPosthoc = f?.accuracy
        balancedAccPosthoc = f?.balanced
        manyPosthoc = f?.many
        mediumPosthoc = f?.medium
        fewPosthoc = f?.few
        perClassAccPosthoc = f?.perClass
        confusionPosthoc = f?.confusion
    }

    /// Sets the held-out classes' retrieval figures.
    public mutating func setUnseen(_ r: RetrievalMetrics?) {
        unseenPrecisionAt1 = r?.precisionAt1
        unseenRPrecision = r?.rPrecision
        unseenMapAtR = r?.mapAtR
    }

    /// Sets the cluster figures.
    public mutating func setClusters(_ c: ClusterQuality?) {
        nmi = c?.nmi
        ami = c?.ami
        varianceRatio = c?.varianceRatio
    }

    /// Sets the retrieval figures.
    public mutating func setRetrieval(_ r: RetrievalMetrics?) {
        precisionAt1 = r?.precisionAt1
        rPrecision = r?.rPrecision
        mapAtR = r?.mapAtR
        precisionAt1PerClass = r?.precisionAt1PerClass
        rPrecisionPerClass = r?.rPrecisionPerClass
        mapAtRPerClass = r?.mapAtRPerClass
    }
}

/// Test-set accuracy figures from a confusion matrix.
public struct Evaluation: Sendable {
    public var confusion: [[Int]]
    public var accuracy: Double
    public var perClass: [Double]
    public var balanced: Double
    public var many: Double
    public var medium: Double
    public var few: Double
    /// Retrieval with the features as embeddings (`RetrievalMetrics`), when computed.
    public var retrieval: RetrievalMetrics?
    /// How the features cluster by class, when computed.
    public var clusters: ClusterQuality?
    /// Retrieval among the held-out classes' test images (`--holdout-classes`).
    public var unseenRetrieval: RetrievalMetrics?
    /// The predicted class of each test sample (empty when not recorded).
    public var predictions: [Int32] = []
    /// The test samples' logits (N x K, test-set order) when the evaluator keeps them.
    public var logits: [Float]?
    /// The figures of the post-hoc adjusted predictions (`--posthoc-tau`), when on.
    public var posthoc: AccuracyFigures?

    /// - trainCounts: training class counts, which rank the classes into many / medium / few
    public init(confusion: [[Int]], trainCounts: [Int]) {
        let f = AccuracyFigures(confusion: confusion, trainCounts: trainCounts)
        self.confusion = confusion
        (accuracy, perClass, balanced, many, medium, few) = (f.accuracy, f.perClass, f.balanced, f.many, f.medium, f.few)
    }

    /// Classes by training count, largest first; ties by class id.
    public static func ranked(trainCounts: [Int]) -> [Int] {
        trainCounts.indices.sorted { trainCounts[$0] != trainCounts[$1] ? trainCounts[$0] > trainCounts[$1] : $0 < $1 }
    }

    /// Classes ranked by training count (largest first; ties by class id): top 30%, middle 40%, bottom 30%.
    public static func groups(trainCounts: [Int]) -> ([Int], [Int], [Int]) {
        let k = trainCounts.count
        let ranked = Self.ranked(trainCounts: trainCounts)
        let top = Int((0.3 * Double(k)).rounded()), bottom = Int((0.3 * Double(k)).rounded())
        return (Array(ranked.prefix(top)), Array(ranked.dropFirst(top).dropLast(bottom)), Array(ranked.suffix(bottom)))
    }

    /// The class with the lowest recall.
    public var worstClass: Int { perClass.indices.min { perClass[$0] < perClass[$1] } ?? 0 }
}

/// Accuracy figures of one confusion matrix (rows: true class): accuracy, per-class recall,
/// balanced accuracy, and the mean recall of the many / medium / few classes.
public struct AccuracyFigures: Sendable, Equatable {
    public var confusion: [[Int]]
    public var accuracy: Double
    public var perClass: [Double]
    public var balanced: Double
    public var many: Double
    public var medium: Double
    public var few: Double

    public init(confusion: [[Int]], trainCounts: [Int]) {
        self.confusion = confusion
        let k = confusion.count
        let total = confusion.reduce(0) { $0 + $1.reduce(0, +) }
        let correct = (0..<k).reduce(0) { $0 + confusion[$1][$1] }
        accuracy = total > 0 ? Double(correct) / Double(total) : 0
        perClass = (0..<k).map { c in
            let n = confusion[c].reduce(0, +)
            return n > 0 ? Double(confusion[c][c]) / Double(n) : 0
        }
        balanced = perClass.reduce(0, +) / Double(max(k, 1))
        let recall = perClass
        let (m, md, f) = Evaluation.groups(trainCounts: trainCounts)
        func mean(_ classes: [Int]) -> Double { classes.isEmpty ? 0 : classes.reduce(0) { $0 + recall[$1] } / Double(classes.count) }
        many = mean(m)
        medium = mean(md)
        few = mean(f)
    }
}
