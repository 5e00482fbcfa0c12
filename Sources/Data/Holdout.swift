import Foundation
import Settings

/// `--holdout-classes`: classes kept out of training, whose test images measure how the
/// features serve classes the model never saw (retrieval among them). The model learns the
/// other ("seen") classes, renumbered 0..<seen.count in their order; the held-out classes'
/// test images are renumbered 0..<classes.count in theirs.
public struct Holdout: Sendable, Equatable {
    /// The held-out classes (ids of the data), ascending.
    public let classes: [Int]
    /// The seen classes (ids of the data), ascending: model class i is data class seen[i].
    public let seen: [Int]

    /// Checks the classes against the data's `total` classes; the message names the option.
    public init(_ classes: [Int], total: Int) throws {
        let held = Array(Set(classes)).sorted()
        guard held.count == classes.count else {
            throw DataError.mismatch("--holdout-classes \(classes.map(String.init).joined(separator: ",")): a " +
                                     "class is given twice")
        }
        if let bad = held.first(where: { !(0..<total).contains($0) }) {
            throw DataError.mismatch("--holdout-classes: class \(bad) is not in the data's classes 0..<\(total)")
        }
        guard total - held.count >= 2 else {
            throw DataError.mismatch("--holdout-classes: \(held.count) of \(total) classes held out leaves " +
                                     "\(total - held.count) to train; expected at least 2")
        }
        self.classes = held
        seen = (0..<total).filter { !held.contains($0) }
    }

    /// The samples of the seen classes, renumbered.
    public func seenPart(_ split: Split) -> Split { part(split, classes: seen) }

    /// The samples of the held-out classes, renumbered.
    public func heldOutPart(_ split: Split) -> Split { part(split, classes: classes) }

    func part(_ split: Split, classes kept: [Int]) -> Split {
        let number = Dictionary(uniqueKeysWithValues: kept.enumerated().map { ($1, Int32($0)) })
        let indices = split.labels.indices.filter { number[Int(split.labels[$0])] != nil }
        var out = split.subset(indices)
        out.labels = out.labels.map { number[Int($0)]! }
        return out
    }

    /// Per-class values of the data's classes (counts, names) kept for the seen classes.
    public func seenValues<T>(_ values: [T]) -> [T] { seen.map { values[$0] } }
}

/// A list of class ids written `7,8,9` (`--holdout-classes`); JSON: an array.
public struct ClassList: OptionValue, Sendable, Equatable {
    public var classes: [Int]

    public init(_ classes: [Int]) { self.classes = classes }

    public static func parse(_ values: [String]) -> ClassList? {
        guard values.count == 1 else { return nil }
        let parts = values[0].split(separator: ",", omittingEmptySubsequences: false)
            .map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !parts.isEmpty, parts.allSatisfy({ $0 != nil && $0! >= 0 }) else { return nil }
        return ClassList(parts.compactMap { $0 })
    }

    public static var expected: String { "class numbers separated by commas (7,8,9)" }
    public var text: String { classes.map(String.init).joined(separator: ",") }

    public init(from decoder: Decoder) throws { classes = try [Int](from: decoder) }
    public func encode(to encoder: Encoder) throws { try classes.encode(to: encoder) }
}
