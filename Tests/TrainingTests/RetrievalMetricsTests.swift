import Foundation
import Testing
@testable import Training

/// Retrieval metrics against a direct computation of PML's definitions (sort every
/// reference by distance), and shards of the queries adding up to the whole.
@Suite struct RetrievalMetricsTests {
    func data(n: Int, d: Int, k: Int, seed: UInt64) -> ([Float], [Int32]) {
        var state = seed
        func next() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(state >> 40) / Float(1 << 24) - 0.5
        }
        let labels = (0..<n).map { Int32($0 % k) }
        // Class-dependent means so that retrieval is neither perfect nor random.
        let x = (0..<(n * d)).map { i in next() + 0.3 * Float((Int(labels[i / d]) * 7 + i % d) % 3) }
        return (x, labels)
    }

    func direct(_ x: [Float], _ y: [Int32], n: Int, d: Int) -> (Double, Double, Double) {
        var p1 = 0.0, rp = 0.0, map = 0.0, queries = 0.0
        for q in 0..<n {
            let relevant = y.filter { $0 == y[q] }.count - 1
            guard relevant > 0 else { continue }
            let others = (0..<n).filter { $0 != q }.map { j -> (Double, Int) in
                (Double((0..<d).reduce(Float(0)) { $0 + (x[q * d + $1] - x[j * d + $1])
                    * (x[q * d + $1] - x[j * d + $1]) }), j)
            }.sorted { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
            var hits = 0, ap = 0.0
            for (rank, (_, j)) in others.prefix(relevant).enumerated() where y[j] == y[q] {
                hits += 1
                ap += Double(hits) / Double(rank + 1)
            }
            p1 += y[others[0].1] == y[q] ? 1 : 0
            rp += Double(hits) / Double(relevant)
            map += ap / Double(relevant)
            queries += 1
        }
        return (p1 / queries, rp / queries, map / queries)
    }

    @Test(arguments: [(n: 60, d: 5, k: 3), (n: 301, d: 8, k: 7)])
    func matchesTheDefinitions(shape: (n: Int, d: Int, k: Int)) {
        let (x, y) = data(n: shape.n, d: shape.d, k: shape.k, seed: UInt64(shape.n))
        let sums = RetrievalMetrics.sums(queries: Array(0..<shape.n), embeddings: x, labels: y, count: shape.n,
                                         dimension: shape.d, classes: shape.k)
        let got = RetrievalMetrics(sums: sums, classes: shape.k)
        let want = direct(x, y, n: shape.n, d: shape.d)
        #expect(abs(got.precisionAt1 - want.0) < 1e-9)
        #expect(abs(got.rPrecision - want.1) < 1e-9)
        #expect(abs(got.mapAtR - want.2) < 1e-9)
        #expect(got.precisionAt1 > 0.2 && got.precisionAt1 < 1)  // neither trivial case
    }

    /// The r nearest by a sampled threshold equal the first r of a full sort (ties by index):
    /// random distances, heavy ties, and distances whose sampled positions are the smallest
    /// (too few candidates under the threshold: every distance becomes one).
    @Test(arguments: [0, 1, 2]) func rankNearestMatchesAFullSort(pattern: Int) {
        let n = 3000
        var state: UInt64 = 77 + UInt64(pattern)
        let distances: [Float] = (0..<n).map { j in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let u = Float(state >> 40) / Float(1 << 24)
            switch pattern {
            case 0: return u * 10
            case 1: return Float(Int(u * 6))              // six values, thousands of ties
            default: return j % (n / 256) == 0 ? u * 1e-3 : 1 + u  // the sample sees only the smallest
            }
        }
        let order = (0..<n).sorted { distances[$0] != distances[$1] ? distances[$0] < distances[$1] : $0 < $1 }
        for r in [1, 2, 17, 299, 300, 1000, 1499] {
            var d = distances, keys: [UInt64] = [], sample: [Float] = [], scratch: [UInt64] = []
            let m = RetrievalMetrics.rankNearest(r, distances: &d, keys: &keys, sample: &sample, scratch: &scratch)
            #expect(m == r)
            #expect(keys.prefix(r).map { Int($0 & 0xffff_ffff) } == Array(order.prefix(r)),
                    "pattern \(pattern), r \(r)")
        }
    }

    /// The radix sort orders keys whose low words ascend by their high words, stably, whatever
    /// digits the high words share (a single pass, several, none).
    @Test func radixSortOrdersKeys() {
        for (n, spread) in [(0, 1), (1, 1), (2, 1), (100, 1), (100, 300), (5000, 1 << 20), (5000, 1 << 31), (777, 3)] {
            var state = UInt64(n + spread)
            var keys: [UInt64] = (0..<n).map { j in
                state = state &* 6364136223846793005 &+ 1442695040888963407
                return (UInt64(0x3f00_0000 + Int((state >> 33) % UInt64(spread))) << 32) | UInt64(j)
            }
            let want = keys.sorted()
            var scratch: [UInt64] = []
            RetrievalMetrics.radixSortByHighWord(&keys, scratch: &scratch)
            #expect(keys == want, "n \(n), spread \(spread)")
        }
    }

    /// Selection returns what a full sort has at k, for every k, with ties and without.
    @Test func selectFindsTheKthSmallest() {
        for (n, values) in [(1, 5), (2, 5), (23, 1000), (24, 3), (25, 1000), (256, 7), (256, 1 << 20), (1000, 2)] {
            var state = UInt64(n * 31 + values)
            let a: [Float] = (0..<n).map { _ in
                state = state &* 6364136223846793005 &+ 1442695040888963407
                return Float((state >> 33) % UInt64(values))
            }
            let sorted = a.sorted()
            for k in 0..<n {
                var b = a
                let got = b.withUnsafeMutableBufferPointer { RetrievalMetrics.select(k, in: $0) }
                #expect(got == sorted[k], "n \(n), values \(values), k \(k)")
            }
        }
    }

    @Test func shardsOfQueriesAddUp() {
        let (x, y) = data(n: 200, d: 6, k: 5, seed: 9)
        let whole = RetrievalMetrics.sums(queries: Array(0..<200), embeddings: x, labels: y, count: 200, dimension: 6,
                                          classes: 5)
        var parts = [Double](repeating: 0, count: whole.count)
        for r in 0..<3 {
            let s = RetrievalMetrics.sums(queries: Array(stride(from: r, to: 200, by: 3)), embeddings: x, labels: y,
                                          count: 200,
                                          dimension: 6, classes: 5)
            for i in parts.indices { parts[i] += s[i] }
        }
        for i in parts.indices { #expect(abs(parts[i] - whole[i]) < 1e-9) }
    }
}
