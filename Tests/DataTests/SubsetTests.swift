import Foundation
import Testing
@testable import Data

/// `--subset`: NumPy's legacy generator, LDAM-DRW's CIFAR-LT subsets against NumPy
/// (Tests/golden/ldam_subsets.json), subset files and the validation split beside a subset.
@Suite struct SubsetTests {
    static let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../golden/ldam_subsets.json").standardized.path

    @Test func theMersenneTwisterIsTheReferenceOne() {
        // The reference MT19937 (init_genrand(5489)): its first and its 10000th output.
        var r = NumPyRandomState(seed: 5489)
        #expect(r.nextUInt32() == 3_499_211_612)
        for _ in 0..<9998 { _ = r.nextUInt32() }
        #expect(r.nextUInt32() == 4_123_659_995)
    }

    @Test func aBoundedDrawNeverLeavesItsRangeAndReachesBothEnds() {
        var r = NumPyRandomState(seed: 1)
        for bound: UInt32 in [1, 2, 5, 64, 1000] {
            let draws = (0..<4000).map { _ in r.interval(bound) }
            #expect(draws.allSatisfy { $0 <= bound })
            #expect(draws.contains(0) && draws.contains(bound))
        }
        #expect(r.interval(0) == 0)
    }

    struct Case: Decodable {
        var seed: UInt64, ratio: Double, classes: Int, profile: String, samples: Int, count: Int
        var first: [Int], last: [Int], digest: String
    }

    /// Kept training-set indices, ascending, of the per-class selection `kept` over `labels`.
    static func indices(_ kept: [[Bool]], labels: [Int]) -> [Int] {
        var position = [Int](repeating: 0, count: kept.count)
        var out: [Int] = []
        for (i, c) in labels.enumerated() {
            if kept[c][position[c]] { out.append(i) }
            position[c] += 1
        }
        return out
    }

    @Test func ldamSubsetsEqualNumPys() throws {
        struct File: Decodable { var cases: [Case] }
        let cases = try JSONDecoder().decode(File.self, from: Data(contentsOf: URL(fileURLWithPath: Self.golden))).cases
        #expect(cases.count == 48)
        for g in cases {
            let labels = (0..<g.samples).map { ($0 * 7919 + $0 / 11) % g.classes }
            var original = [Int](repeating: 0, count: g.classes)
            for c in labels { original[c] += 1 }
            let (targets, kept) = try LongTail.ldamSelect(original: original, ratio: g.ratio,
                                                          profile: ImbalanceProfile(rawValue: g.profile)!,
                                                          seed: g.seed)
            let got = Self.indices(kept, labels: labels)
            var h: UInt64 = 14_695_981_039_346_656_037
            for i in got { h = (h &* 1_099_511_628_211) ^ UInt64(i) }
            let name = "seed \(g.seed), ratio \(g.ratio), \(g.classes) classes, \(g.profile)"
            #expect(got.count == g.count && targets.reduce(0, +) == g.count, "\(name)")
            #expect(Array(got.prefix(10)) == g.first && Array(got.suffix(10)) == g.last, "\(name)")
            #expect(String(h, radix: 16).leftPadded(16) == g.digest, "\(name)")
        }
    }

    @Test func ldamCountsFollowItsFormulaAndRefuseWhatItCannotDraw() throws {
        // img_max = 2000 / 4 = 500: int(500 * 0.1^(c/3)); a class smaller than its share keeps all.
        #expect(try LongTail.ldamCounts(original: [500, 500, 600, 400], ratio: 10, profile: .exp)
            == [500, 232, 107, 50])
        #expect(try LongTail.ldamCounts(original: [500, 500, 30, 970], ratio: 10, profile: .step) == [500, 500, 30, 50])
        #expect(throws: DataError.self) { try LongTail.ldamCounts(original: [5, 5, 5], ratio: 2, profile: .step) }
        #expect(throws: DataError.self) { try LongTail.ldamCounts(original: [50, 50], ratio: 200, profile: .exp) }
        #expect(throws: DataError.self) {
            try LongTail.ldamSelect(original: [50, 50], ratio: 2, profile: .exp, seed: 1 << 32)
        }
    }

    @Test func aSubsetFileIsReadAsTextOrNumPyAndCheckedEntryByEntry() throws {
        let f = Fixtures()
        defer { f.remove() }
        f.write("a.txt", Array("# kept\n3 1, 7\n\n0 # the first\n".utf8))
        #expect(try SubsetFile.read(f.path("a.txt"), total: 8) == [0, 1, 3, 7])
        f.write("a.npy", Fixtures.npy(descr: "<i8", shape: [3], data: Fixtures.int64Bytes([5, 2, 0])))
        #expect(try SubsetFile.read(f.path("a.npy"), total: 6) == [0, 2, 5])
        func message(_ name: String, _ text: String, total: Int = 8) -> String {
            f.write(name, Array(text.utf8))
            do { _ = try SubsetFile.read(f.path(name), total: total); return "" } catch { return "\(error)" }
        }
        #expect(message("range.txt", "1\n2\n8\n").contains("line 3"))
        #expect(message("range.txt", "1\n2\n8\n").contains("0..<8"))
        #expect(message("twice.txt", "1 2\n1\n").contains("1 again"))
        #expect(message("word.txt", "1 two\n").contains("'two'"))
        #expect(message("none.txt", "# nothing\n").contains("at least one"))
        #expect(message("negative.txt", "-1\n").contains("line 1"))
        #expect((try? SubsetFile.read(f.path("missing.txt"), total: 8)) == nil)
    }

    @Test func aValidationSplitBesideASubsetLeavesTheSubsetAsGivenOrSharesIt() throws {
        let original = [40, 30, 20]
        let chosen = try LongTail.ldamSelect(original: original, ratio: 4, profile: .exp, seed: 0)
        // N per class from outside the subset: the subset is trained on as it is.
        let outside = try LongTail.split(.perClass(5), of: chosen, seed: 9, subset: .ldam)
        #expect(outside.kept == chosen.kept && outside.targets == chosen.targets)
        let val = try #require(outside.val)
        for c in 0..<3 {
            #expect(val[c].count(where: { $0 }) == 5)
            #expect(!val[c].indices.contains { val[c][$0] && chosen.kept[c][$0] })
        }
        // img_max = 90 / 3 = 30: class 0 keeps 30 of its 40, so 10 are outside, fewer than 11.
        #expect(chosen.targets == [30, 15, 7])
        let tooMany = try? LongTail.split(.perClass(11), of: chosen, seed: 9, subset: .ldam)
        #expect(tooMany == nil)
        // A share comes out of the subset.
        let shared = try LongTail.split(.share(0.2), of: chosen, seed: 9, subset: .ldam)
        #expect(shared.targets == zip(chosen.targets, try #require(shared.val).map { $0.count(where: { $0 }) })
            .map { $0 - $1 })
    }
}

private extension String {
    func leftPadded(_ n: Int) -> String { String(repeating: "0", count: max(0, n - count)) + self }
}
