/// Accuracy figures of one confusion matrix (rows: true class): accuracy, per-class recall,
/// balanced accuracy, the mean recall of the many / medium / few classes and of the shot groups;
/// with the scores' tally (`ScoreTally`), top-5 accuracy, the NLL and calibration.
public struct AccuracyFigures: Sendable, Equatable {
    public var confusion: [[Int]]
    public var accuracy: Double
    /// Recall of each class.
    public var perClass: [Double]
    /// Mean per-class recall.
    public var balanced: Double
    /// Mean recall of the classes ranked by training count: top 30%, middle 40%, bottom 30%.
    public var many: Double
    public var medium: Double
    public var few: Double
    /// Mean recall of the shot groups by training count (`ShotThresholds`: > 100, 20-100, < 20);
    /// nil for an empty group.
    public var manyShot: Double?, mediumShot: Double?, fewShot: Double?
    /// Share of samples whose class is among the 5 highest scores (more than 5 classes only).
    public var top5: Double?
    /// Mean negative log-likelihood of the true class under the softmax of the scores.
    public var nll: Double?
    /// Expected calibration error over 15 equal-width confidence bins (Guo et al. 2017), and the
    /// mean over classes of each class's own.
    public var ece: Double?, eceBalanced: Double?
    /// The reliability diagram: per bin, samples, mean confidence, accuracy.
    public var reliability: [[Double]]?

    public init(confusion: [[Int]], trainCounts: [Int], thresholds: ShotThresholds = ShotThresholds()) {
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
        let (m, md, f) = Self.groups(trainCounts: trainCounts)
        func mean(_ classes: [Int]) -> Double { classes.isEmpty
            ? 0 : classes.reduce(0) { $0 + recall[$1] } / Double(classes.count) }
        many = mean(m)
        medium = mean(md)
        few = mean(f)
        if trainCounts.count == k {
            let shots = thresholds.groups(trainCounts: trainCounts)
            func shot(_ classes: [Int]) -> Double? { classes.isEmpty ? nil : mean(classes) }
            (manyShot, mediumShot, fewShot) = (shot(shots.many), shot(shots.medium), shot(shots.few))
        }
    }

    /// Figures read back from a file (metrics.jsonl).
    init(confusion: [[Int]], accuracy: Double, perClass: [Double], balanced: Double, many: Double, medium: Double,
         few: Double) {
        (self.confusion, self.accuracy, self.perClass, self.balanced) = (confusion, accuracy, perClass, balanced)
        (self.many, self.medium, self.few) = (many, medium, few)
    }

    /// The names of `scalars`, as the test set's figures have them in metrics lines.
    public static let scalarNames = ["test_acc", "balanced_acc", "many", "medium", "few", "many_shot", "medium_shot",
                                     "few_shot", "top5_acc", "test_nll", "ece", "ece_balanced"]

    /// The scalar figures in `scalarNames` order, nil where not measured or empty.
    public var scalars: [Double?] {
        [accuracy, balanced, many, medium, few, manyShot, mediumShot, fewShot, top5, nll, ece, eceBalanced]
    }

    /// The class with the lowest recall.
    public var worstClass: Int { perClass.indices.min { perClass[$0] < perClass[$1] } ?? 0 }

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
}
