import Testing
@testable import Data

/// The validation split (`--val-split`): disjoint from the training samples, the requested size
/// per class, a function of the seed alone, and refused where it would leave a class no
/// training sample.
@Suite struct ValidationSplitTests {
    static let original = [600, 400, 250, 90, 40]

    func positions(_ mask: [[Bool]]) -> [[Int]] { mask.map { row in row.indices.filter { row[$0] } } }

    @Test func aNumberPerClassComesBeforeTheLongTail() throws {
        let (targets, kept, val) = try LongTail.select(original: Self.original, ratio: 10, profile: .exp, seed: 3,
                                                       validation: .perClass(20))
        let v = positions(try #require(val)), k = positions(kept)
        #expect(v.map(\.count) == [20, 20, 20, 20, 20])
        #expect(zip(v, k).allSatisfy { Set($0).isDisjoint(with: $1) })
        // The long tail is drawn from what is left: the largest class 580, the ratio 10, at most
        // what a class has left.
        let wanted = LongTail.counts(nMax: 580, classes: 5, ratio: 10, profile: .exp)
        #expect(targets == zip(wanted, Self.original.map { $0 - 20 }).map { min($0, $1) })
        #expect(targets == [580, 326, 183, 70, 20])
        #expect(k.map(\.count) == targets)
        // The seed alone decides; another seed draws other samples.
        let again = try LongTail.select(original: Self.original, ratio: 10, profile: .exp, seed: 3,
                                        validation: .perClass(20))
        #expect(again.val == val && again.kept == kept)
        let other = try LongTail.select(original: Self.original, ratio: 10, profile: .exp, seed: 4,
                                        validation: .perClass(20))
        #expect(other.val != val)
    }

    @Test func aShareComesAfterTheLongTailWithAtLeastOnePerClass() throws {
        let plain = try LongTail.select(original: Self.original, ratio: 10, profile: .exp, seed: 3)
        let (targets, kept, val) = try LongTail.select(original: Self.original, ratio: 10, profile: .exp, seed: 3,
                                                       validation: .share(0.1))
        let v = positions(try #require(val)), k = positions(kept)
        // Taken out of the long-tailed selection: together they are the plain selection.
        for c in 0..<5 {
            #expect(Set(v[c]).union(k[c]) == Set(positions(plain.1)[c]) && Set(v[c]).isDisjoint(with: k[c]))
            #expect(v[c].count == max(1, Int((0.1 * Double(plain.0[c])).rounded())))
        }
        #expect(zip(targets, plain.0).map { $1 - $0 } == v.map(\.count) && k.map(\.count) == targets)
    }

    @Test func aSplitThatLeavesAClassEmptyIsRefused() {
        #expect(throws: DataError.self) {
            try LongTail.select(original: Self.original, ratio: 1, profile: .exp, seed: 0, validation: .perClass(40))
        }
        #expect(throws: DataError.self) {
            try LongTail.select(original: [100, 1], ratio: 1, profile: .exp, seed: 0, validation: .share(0.5))
        }
        #expect(ValidationSplit.parse(["20"]) == .perClass(20) && ValidationSplit.parse(["0.1"]) == .share(0.1))
        #expect(ValidationSplit.perClass(0).problem != nil && ValidationSplit.share(1).problem != nil)
    }
}
