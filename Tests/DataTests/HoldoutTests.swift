import Testing
@testable import Data

/// `--holdout-classes`: the seen classes renumbered in their order, the held-out ones apart.
@Suite struct HoldoutTests {
    @Test func renumbersSeenAndHeldOutClasses() throws {
        let labels: [Int32] = [0, 3, 1, 2, 3, 4, 1, 0]
        let split = Split(pixels: .bytes(labels.map { UInt8($0) * 10 }), labels: labels, channels: 1, height: 1,
                          width: 1)
        let holdout = try Holdout([3, 1], total: 5)
        #expect(holdout.classes == [1, 3] && holdout.seen == [0, 2, 4])
        let seen = holdout.seenPart(split), held = holdout.heldOutPart(split)
        #expect(seen.labels == [0, 1, 2, 0])  // data classes 0, 2, 4, 0
        #expect((0..<seen.count).map { seen.value($0, 0) * 255 } == [0, 20, 40, 0])
        #expect(held.labels == [1, 0, 1, 0])  // data classes 3, 1, 3, 1
        #expect(holdout.seenValues(["a", "b", "c", "d", "e"]) == ["a", "c", "e"])
    }

    @Test func refusesWhatCannotBeHeldOut() {
        #expect(throws: DataError.self) { try Holdout([5], total: 5) }
        #expect(throws: DataError.self) { try Holdout([1, 1], total: 5) }
        #expect(throws: DataError.self) { try Holdout([0, 1, 2, 3], total: 5) }
        #expect(ClassList.parse(["7,8,9"]) == ClassList([7, 8, 9]))
        #expect(ClassList.parse(["7,,9"]) == nil && ClassList.parse(["-1"]) == nil && ClassList.parse(["x"]) == nil)
    }
}
