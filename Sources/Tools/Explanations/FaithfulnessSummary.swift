import Explain
import Training

/// The explained images' deletion and insertion areas averaged per true class, over the many,
/// medium and few classes (by training count, as the accuracy groups them) and over all: are
/// the minority classes' explanations as faithful as the majority's?
public struct FaithfulnessSummary: Sendable, Equatable {
    public struct Mean: Sendable, Equatable {
        public var images: Int
        public var deletionArea: Double
        public var insertionArea: Double

        init(_ items: [ExplainJob.Item]) {
            images = items.count
            let n = Double(max(items.count, 1))
            deletionArea = items.reduce(0) { $0 + $1.faithfulness.deletionArea } / n
            insertionArea = items.reduce(0) { $0 + $1.faithfulness.insertionArea } / n
        }

        var json: [String: Any] { ["images": images, "deletion_auc": deletionArea, "insertion_auc": insertionArea] }
    }

    /// By true class, for the classes with explained images.
    public var perClass: [Int: Mean]
    /// "many", "medium", "few" (those with explained images) and "all".
    public var groups: [(name: String, mean: Mean)]

    public init(_ items: [ExplainJob.Item], trainCounts: [Int]) {
        perClass = Dictionary(grouping: items, by: \.label).mapValues(Mean.init)
        let (many, medium, few) = AccuracyFigures.groups(trainCounts: trainCounts)
        groups = [("many", many), ("medium", medium), ("few", few)].compactMap { name, classes in
            let members = items.filter { classes.contains($0.label) }
            return members.isEmpty ? nil : (name, Mean(members))
        } + [("all", Mean(items))]
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.perClass == b.perClass && a.groups.map(\.name) == b.groups.map(\.name)
            && a.groups.map(\.mean) == b.groups.map(\.mean)
    }

    /// The summary as maps.json and `explain --json` give it.
    public var json: [String: Any] {
        var out: [String: Any] = ["per_class": Dictionary(uniqueKeysWithValues: perClass.map { (String($0.key),
                                                                                                $0.value.json) })]
        for g in groups { out[g.name] = g.mean.json }
        return out
    }
}
