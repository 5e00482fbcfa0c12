import Foundation
import Tensor

/// How well the test embeddings cluster by class: NMI and AMI of k-means' clusters against
/// the labels (pytorch-metric-learning's AccuracyCalculator: k = the number of labels present,
/// scikit-learn's arithmetic-mean normalisation), and the ratio of the intra-class to the
/// inter-class variance (`(1/N) sum_i |h_i - mu_y_i|^2` over `(1/N) sum_c n_c |mu_c - mu|^2`;
/// lower is better). Every rank computes it from the same gathered features.
public struct ClusterQuality: Sendable, Equatable {
    public var nmi: Double
    public var ami: Double
    public var varianceRatio: Double

    /// k-means (k-means++ seeding from a fixed seed, then 20 Lloyd iterations as faiss's default
    /// in PML) of `count` rows of `dimension` floats, and the three figures.
    public static func measure(_ x: UnsafePointer<Float>, labels: UnsafePointer<Int32>, count n: Int,
                               dimension d: Int) -> ClusterQuality {
        let present = Array(Set((0..<n).map { Int(labels[$0]) })).sorted()
        let index = Dictionary(uniqueKeysWithValues: present.enumerated().map { ($1, $0) })
        let truth = (0..<n).map { index[Int(labels[$0])]! }
        let clusters = kMeans(x, count: n, dimension: d, k: present.count, seed: 0x6B6D)
        let (nmi, ami) = mutualInformation(truth, clusters)
        return ClusterQuality(nmi: nmi, ami: ami,
                              varianceRatio: varianceRatio(x, classes: truth, count: n, dimension: d))
    }

    // MARK: - k-means

    /// Each row's cluster (0..<k).
    static func kMeans(_ x: UnsafePointer<Float>, count n: Int, dimension d: Int, k: Int, seed: UInt64,
                       iterations: Int = 20) -> [Int] {
        guard n > 0, k > 1 else { return [Int](repeating: 0, count: n) }
        var norms = [Float](repeating: 0, count: n)
        for i in 0..<n { var s: Float = 0; for j in 0..<d { s += x[i * d + j] * x[i * d + j] }; norms[i] = s }
        // k-means++: each next centre drawn with probability proportional to the squared
        // distance to the nearest centre so far.
        var rng = RandomSource(seed: seed)
        var centres = [Float](repeating: 0, count: k * d)
        var nearest = [Double](repeating: .infinity, count: n)
        var pick = Int(rng.next() % UInt64(n))
        for c in 0..<k {
            for j in 0..<d { centres[c * d + j] = x[pick * d + j] }
            var total = 0.0
            for i in 0..<n {
                var s = 0.0
                for j in 0..<d { let v = Double(x[i * d + j] - x[pick * d + j]); s += v * v }
                nearest[i] = min(nearest[i], s)
                total += nearest[i]
            }
            guard c + 1 < k else { break }
            var target = Double(rng.nextUniform()) * total
            pick = n - 1
            for i in 0..<n {
                target -= nearest[i]
                if target < 0 { pick = i; break }
            }
        }
        // Lloyd: distances through one product per iteration, |x|^2 - 2 x.c + |c|^2.
        var assignment = [Int](repeating: 0, count: n)
        var products = [Float](repeating: 0, count: n * k)
        for _ in 0..<iterations {
            var centreNorms = [Float](repeating: 0, count: k)
            for c in 0..<k { for j in 0..<d { centreNorms[c] += centres[c * d + j] * centres[c * d + j] } }
            centres.withUnsafeBufferPointer { cb in
                products.withUnsafeMutableBufferPointer { pb in
                    BLAS.gemm(transB: true, m: n, n: k, k: d, a: x, lda: d, b: cb.baseAddress!, ldb: d,
                              c: pb.baseAddress!, ldc: k)
                }
            }
            var changed = false
            for i in 0..<n {
                var best = 0, bestDistance = Float.infinity
                for c in 0..<k {
                    let distance = norms[i] - 2 * products[i * k + c] + centreNorms[c]
                    if distance < bestDistance { best = c; bestDistance = distance }
                }
                if assignment[i] != best { assignment[i] = best; changed = true }
            }
            var sums = [Double](repeating: 0, count: k * d), sizes = [Int](repeating: 0, count: k)
            for i in 0..<n {
                sizes[assignment[i]] += 1
                for j in 0..<d { sums[assignment[i] * d + j] += Double(x[i * d + j]) }
            }
            for c in 0..<k where sizes[c] > 0 {  // an empty cluster keeps its centre
                for j in 0..<d { centres[c * d + j] = Float(sums[c * d + j] / Double(sizes[c])) }
            }
            if !changed { break }
        }
        return assignment
    }

    // MARK: - NMI and AMI (scikit-learn's definitions, arithmetic mean)

    /// (NMI, AMI) of two labellings of the same items.
    static func mutualInformation(_ u: [Int], _ v: [Int]) -> (Double, Double) {
        let n = u.count
        guard n > 0 else { return (0, 0) }
        let ku = (u.max() ?? 0) + 1, kv = (v.max() ?? 0) + 1
        var table = [Int](repeating: 0, count: ku * kv)
        for i in 0..<n { table[u[i] * kv + v[i]] += 1 }
        let a = (0..<ku).map { r in (0..<kv).reduce(0) { $0 + table[r * kv + $1] } }.filter { $0 > 0 }
        let b = (0..<kv).map { c in (0..<ku).reduce(0) { $0 + table[$1 * kv + c] } }.filter { $0 > 0 }
        let N = Double(n)
        func entropy(_ counts: [Int]) -> Double { -counts.reduce(0.0) { let p = Double($1) / N; return $0 + p
            * log(p) } }
        let hu = entropy(a), hv = entropy(b)
        // Both labellings a single cluster: perfect agreement by scikit-learn's convention.
        if a.count == b.count, a.count <= 1 { return (1, 1) }
        var mi = 0.0
        for r in 0..<ku {
            let ar = (0..<kv).reduce(0) { $0 + table[r * kv + $1] }
            for c in 0..<kv where table[r * kv + c] > 0 {
                let bc = (0..<ku).reduce(0) { $0 + table[$1 * kv + c] }
                let nij = Double(table[r * kv + c])
                mi += nij / N * log(N * nij / (Double(ar) * Double(bc)))
            }
        }
        mi = max(mi, 0)
        let mean = (hu + hv) / 2
        let nmi = mean > 0 ? mi / mean : 0
        let emi = expectedMutualInformation(a, b, n: n)
        var denominator = mean - emi
        // scikit-learn guards a vanishing denominator with the smallest positive double.
        if denominator < 0 { denominator = min(denominator,
                                               -Double.leastNormalMagnitude) } else { denominator = max(denominator,
                                                   Double.leastNormalMagnitude) }
        return (nmi, (mi - emi) / denominator)
    }

    /// The mutual information expected of two random labellings with these cluster sizes
    /// (Vinh, Epps and Bailey 2010): a sum over the hypergeometric distribution of each cell.
    static func expectedMutualInformation(_ a: [Int], _ b: [Int], n: Int) -> Double {
        let N = Double(n)
        // log(m!) for m = 0...n.
        var logFactorial = [Double](repeating: 0, count: n + 1)
        for m in stride(from: 1, through: n, by: 1) { logFactorial[m] = logFactorial[m - 1] + log(Double(m)) }
        var emi = 0.0
        for ai in a {
            for bj in b {
                let lo = max(1, ai + bj - n), hi = min(ai, bj)
                guard lo <= hi else { continue }
                let fixed: Double = logFactorial[ai] + logFactorial[bj] + logFactorial[n - ai] + logFactorial[n - bj]
                    - logFactorial[n]
                for nij in lo...hi {
                    let denominator: Double = logFactorial[nij] + logFactorial[ai - nij] + logFactorial[bj - nij]
                        + logFactorial[n - ai - bj + nij]
                    let x = Double(nij)
                    let term: Double = x / N * log(N * x / (Double(ai) * Double(bj)))
                    emi += term * exp(fixed - denominator)
                }
            }
        }
        return emi
    }

    // MARK: - Variance ratio

    static func varianceRatio(_ x: UnsafePointer<Float>, classes y: [Int], count n: Int, dimension d: Int) -> Double {
        let k = (y.max() ?? 0) + 1
        var means = [Double](repeating: 0, count: k * d), sizes = [Int](repeating: 0, count: k),
            mean = [Double](repeating: 0, count: d)
        for i in 0..<n {
            sizes[y[i]] += 1
            for j in 0..<d { means[y[i] * d + j] += Double(x[i * d + j]); mean[j] += Double(x[i * d + j]) }
        }
        for c in 0..<k where sizes[c] > 0 { for j in 0..<d { means[c * d + j] /= Double(sizes[c]) } }
        for j in 0..<d { mean[j] /= Double(max(n, 1)) }
        var intra = 0.0, inter = 0.0
        for i in 0..<n { for j in 0..<d { let v = Double(x[i * d + j]) - means[y[i] * d + j]; intra += v * v } }
        for c in 0..<k { for j in 0..<d { let v = means[c * d + j] - mean[j]; inter += Double(sizes[c]) * v * v } }
        return inter > 0 ? intra / inter : .infinity
    }
}
