/// Accuracy figures of one confusion matrix (rows: true class): accuracy, per-class recall,
/// balanced accuracy, and the mean recall of the many / medium / few classes.
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
        let (m, md, f) = Self.groups(trainCounts: trainCounts)
        func mean(_ classes: [Int]) -> Double { classes.isEmpty
            ? 0 : classes.reduce(0) { $0 + recall[$1] } / Double(classes.count) }
        many = mean(m)
        medium = mean(md)
        few = mean(f)
    }

    /// Figures read back from a file (metrics.jsonl).
    init(confusion: [[Int]], accuracy: Double, perClass: [Double], balanced: Double, many: Double, medium: Double,
         few: Double) {
        (self.confusion, self.accuracy, self.perClass, self.balanced) = (confusion, accuracy, perClass, balanced)
        (self.many, self.medium, self.few) = (many, medium, few)
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
