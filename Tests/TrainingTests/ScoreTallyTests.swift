import Distributed
import Foundation
import Testing
@testable import Training

/// Top-5, NLL, calibration and shot groups of an evaluation, against a direct computation of
/// their definitions on random scores (Guo et al. 2017's ECE: 15 equal-width bins of
/// confidence, |accuracy - confidence| weighted by the bin's share).
@Suite struct ScoreTallyTests {
    /// Deterministic scores: `n` rows of `k`, sharper for some rows than others.
    static func scores(n: Int, k: Int) -> ([Float], [Int]) {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> Double {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Double(state >> 11) / Double(1 << 53)
        }
        let targets = (0..<n).map { _ in Int(next() * Double(k)) }
        var rows = [Float](repeating: 0, count: n * k)
        for i in 0..<n {
            let sharp = 0.5 + 6 * next()
            for j in 0..<k { rows[i * k + j] = Float(sharp * (next() - 0.5) + (j == targets[i] ? 1.5 : 0)) }
        }
        return (rows, targets)
    }

    @Test func figuresFollowTheirDefinitions() throws {
        let n = 500, k = 8
        let (rows, targets) = Self.scores(n: n, k: k)
        var tally = ScoreTally(classes: k)
        rows.withUnsafeBufferPointer { z in for i in 0..<n { tally.add(z.baseAddress! + i * k, target: targets[i]) } }
        try tally.sum(SingleProcessCommunicator())
        let counts = [500, 300, 150, 101, 100, 20, 19, 3]
        let f = tally.figures(trainCounts: counts, thresholds: ShotThresholds())

        var top5 = 0, nll = 0.0
        var bins = [[Double]](repeating: [0, 0, 0], count: 15)
        var classBins = [[[Double]]](repeating: bins, count: k)
        for i in 0..<n {
            let row = (0..<k).map { Double(rows[i * k + $0]) }, y = targets[i]
            let p = row.map { exp($0) / row.map(exp).reduce(0, +) }
            let predicted = p.firstIndex(of: p.max()!)!
            if row.filter({ $0 > row[y] }).count < 5 { top5 += 1 }
            nll -= log(p[y])
            let b = min(14, max(0, Int(ceil(p[predicted] * 15)) - 1))
            let hit = predicted == y ? 1.0 : 0.0
            for (i, v) in [1, p[predicted], hit].enumerated() {
                bins[b][i] += v
                classBins[y][b][i] += v
            }
        }
        let ece = bins.reduce(0) { $0 + abs($1[2] - $1[1]) } / Double(n)
        let perClass = classBins.map { c in c.reduce(0) { $0 + abs($1[2] - $1[1]) } / c.reduce(0) { $0 + $1[0] } }
        #expect(abs(try #require(f.top5) - Double(top5) / Double(n)) < 1e-12)
        #expect(abs(try #require(f.nll) - nll / Double(n)) < 1e-5)
        #expect(abs(try #require(f.ece) - ece) < 1e-5)
        #expect(abs(try #require(f.eceBalanced) - perClass.reduce(0, +) / Double(k)) < 1e-5)
        let reliability = try #require(f.reliability)
        #expect(reliability.count == 15 && reliability.reduce(0) { $0 + $1[0] } == Double(n))
        // Shot groups: > 100 (classes 0-2), 20...100 (3 has 101: many; 4, 5), < 20 (6, 7).
        let shots = ShotThresholds().groups(trainCounts: counts)
        #expect(shots.many == [0, 1, 2, 3] && shots.medium == [4, 5] && shots.few == [6, 7])
        #expect(abs(try #require(f.fewShot) - (f.perClass[6] + f.perClass[7]) / 2) < 1e-12)
    }

    @Test func anEmptyShotGroupIsNullAndFewClassesHaveNoTop5() throws {
        let (rows, targets) = Self.scores(n: 40, k: 4)
        var tally = ScoreTally(classes: 4)
        rows.withUnsafeBufferPointer { z in for i in 0..<40 { tally.add(z.baseAddress! + i * 4, target: targets[i]) } }
        let f = tally.figures(trainCounts: [5000, 400, 200, 150], thresholds: ShotThresholds())
        #expect(f.fewShot == nil && f.mediumShot == nil && f.manyShot != nil && f.top5 == nil)
        let training = TrainingFigures(trainLoss: 1, lossPhase: "ce", classCounts: [5000, 400, 200, 150],
                                       classWeights: [1, 1, 1, 1], omega: 0, samplesPerS: 1, epochSeconds: 1,
                                       skippedSteps: 0, exposedCommSeconds: 0, worldSize: 1)
        var line = EpochMetrics(event: "epoch", epoch: 0, step: 1, lr: 0.1, training: training,
                                figures: TestFigures(test: f))
        let json = try JSONSerialization.jsonObject(with: RunDirectory.json(line)) as! [String: Any]
        #expect(json["few_shot"] is NSNull && json["medium_shot"] is NSNull && json["top5_acc"] == nil)
        #expect(json["ece"] is Double && json["test_nll"] is Double)
        line = try JSONDecoder().decode(EpochMetrics.self, from: RunDirectory.json(line))
        #expect(line.figures.test == f)
        #expect(ShotThresholds.parse(["100,20"]) == ShotThresholds() && ShotThresholds.parse(["20"]) == nil)
        #expect(ShotThresholds(many: 10, few: 20).problem != nil)
    }
}
