import Testing
import Tensor
@testable import Data

/// The re-sampling samplers (`--sampler`, `--drs-epoch`): each draws an epoch's order from (seed,
/// epoch) alone, and the ranks' slices of it are the one-process global batches.
@Suite struct ResamplingTests {
    /// A long-tailed label set: 600, 300, 150, 75, 40, 20, 10 samples of 7 classes, interleaved.
    static let labels: [Int32] = {
        let counts = [600, 300, 150, 75, 40, 20, 10]
        var out: [Int32] = []
        for (c, n) in counts.enumerated() { out += Array(repeating: Int32(c), count: n) }
        var rng = RandomSource(seed: 11)
        rng.shuffle(&out)
        return out
    }()
    static let draws = ClassDraws(labels: labels, classes: 7)

    func histogram(_ order: [Int]) -> [Int] {
        var h = [Int](repeating: 0, count: 7)
        for i in order { h[Int(Self.labels[i])] += 1 }
        return h
    }

    /// The ranks' batches of every step, in the global batch's row order, are the one-process batch:
    /// N ranks train on the same global batches as one process, whatever the sampler.
    @Test(arguments: [SamplerKind.classBalanced, .squareRoot, .progressive, .mPerClass], [2, 3, 4])
    func ranksTakeTheOneProcessBatches(kind: SamplerKind, world: Int) {
        let n = Self.labels.count, batch = 48
        let length = ClassDraws.epochLength(kind, count: n, batchSize: batch, m: 4)
        let order = Self.draws.order(kind, epoch: 2, epochs: 5, length: length, batchSize: batch, m: 4, seed: 3)
        #expect(order.count == length && order == Self.draws.order(kind, epoch: 2, epochs: 5, length: length,
                                                                    batchSize: batch, m: 4, seed: 3))
        let single = DistributedSampler(count: n, globalCount: length, batchSize: batch, rank: 0, worldSize: 1, seed: 3,
                                        sharded: false, end: .whole)
        for step in 0..<single.stepsPerEpoch {
            var want = [Int](repeating: -1, count: batch), pos = [Int](repeating: -1, count: batch)
            let count = single.indices(step: step, order: order, into: &want, positions: &pos)
            var rows = [Int](repeating: -1, count: count)
            for r in 0..<world {
                let s = DistributedSampler(count: n, globalCount: length, batchSize: batch, rank: r, worldSize: world,
                                           seed: 3, sharded: false, end: .whole)
                var got = [Int](repeating: -1, count: batch), p = [Int](repeating: -1, count: batch)
                for i in 0..<s.indices(step: step, order: order, into: &got, positions: &p) {
                    rows[s.globalRow(step: step, rank: r, local: i)] = got[i]
                }
            }
            #expect(rows == Array(want.prefix(count)), "\(kind) on \(world) ranks, step \(step)")
        }
    }

    /// Each sampler's class frequencies over many draws are its definition's (within 2% of the
    /// draws, fixed seeds), and another epoch draws another order.
    @Test func classFrequenciesFollowTheDefinitions() {
        let counts = [600.0, 300, 150, 75, 40, 20, 10], total = counts.reduce(0, +)
        let length = 70_000
        func frequencies(_ kind: SamplerKind, epoch: Int) -> [Double] {
            let order = Self.draws.order(kind, epoch: epoch, epochs: 10, length: length, batchSize: 35, m: 5, seed: 9)
            return histogram(order).map { Double($0) / Double(length) }
        }
        let root = counts.map { $0.squareRoot() }, rootTotal = root.reduce(0, +)
        let expected: [(SamplerKind, Int, [Double])] = [
            (.classBalanced, 0, counts.map { _ in 1 / 7 }),
            (.squareRoot, 0, root.map { $0 / rootTotal }),
            (.progressive, 0, counts.map { $0 / total }),  // t = 0: instance-balanced
            (.progressive, 5, counts.map { 0.5 * $0 / total + 0.5 / 7 }),
            (.mPerClass, 0, counts.map { _ in 1 / 7 }),
        ]
        for (kind, epoch, want) in expected {
            let got = frequencies(kind, epoch: epoch)
            for c in 0..<7 { #expect(abs(got[c] - want[c]) < 0.02,
                                     "\(kind) epoch \(epoch) class \(c): \(got[c]) vs \(want[c])") }
        }
        let a = Self.draws.order(.classBalanced, epoch: 0, epochs: 10, length: 500, batchSize: 50, m: 5, seed: 9)
        let b = Self.draws.order(.classBalanced, epoch: 1, epochs: 10, length: 500, batchSize: 50, m: 5, seed: 9)
        #expect(a != b)
    }

    /// m-per-class: every global batch holds m distinct samples of each class in it, batch / m
    /// classes; the last batch whole groups of m.
    @Test(arguments: [4, 5])
    func mPerClassBatches(m: Int) {
        let batch = 20, n = Self.labels.count
        let length = ClassDraws.epochLength(.mPerClass, count: n, batchSize: batch, m: m)
        #expect(length == n / batch * batch + n % batch / m * m)
        let order = Self.draws.order(.mPerClass, epoch: 1, epochs: 3, length: length, batchSize: batch, m: m, seed: 5)
        for start in stride(from: 0, to: length, by: batch) {
            let part = Array(order[start..<min(start + batch, length)])
            var byClass: [Int32: [Int]] = [:]
            for i in part { byClass[Self.labels[i], default: []].append(i) }
            #expect(byClass.values.allSatisfy { $0.count == m && Set($0).count == m }, "batch at \(start): \(byClass)")
            #expect(byClass.count == part.count / m)
        }
    }

    /// What m-per-class cannot do is said with the option's name.
    @Test func mPerClassRefusals() {
        #expect(Self.draws.problem(.mPerClass, batchSize: 40,
                                   m: 11)?.contains("more than the smallest class's 10") == true)
        #expect(Self.draws.problem(.mPerClass, batchSize: 64, m: 8)?.contains("holds 8 classes") == true)
        #expect(Self.draws.problem(.mPerClass, batchSize: 28, m: 4) == nil)
        #expect(Self.draws.problem(.classBalanced, batchSize: 40, m: 100) == nil)
    }
}
