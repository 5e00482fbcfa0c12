import Foundation

extension MetricLosses {
    /// PML's NPairsLoss: one (anchor, positive) pair per label (the first in batch order, labels
    /// ascending), dot-product similarities of anchors to all the positives, cross-entropy
    /// with each anchor's own positive as the target, mean over the anchors. PML's
    /// DotProductSimilarity normalises the embeddings first (its default), as the golden
    /// cases confirm.
    static func npairs(normalized x: [Double], norms: [Double], labels: [Int], dimension d: Int) -> Result {
        let n = labels.count
        var firstPair: [Int: (Int, Int)] = [:]
        for a in 0..<n {
            for p in 0..<n where p != a && labels[p] == labels[a] && firstPair[labels[a]] == nil {
                firstPair[labels[a]] = (a, p)
            }
        }
        let pairs = firstPair.keys.sorted().map { firstPair[$0]! }
        var dX = [Double](repeating: 0, count: n * d)
        guard !pairs.isEmpty else { return Result(loss: 0, dEmbeddings: dX) }  // no label with two samples
        let count = pairs.count
        var loss = 0.0
        for (i, (a, _)) in pairs.enumerated() {
            let sims = pairs.map { pair in (0..<d).reduce(0.0) { $0 + x[a * d + $1] * x[pair.1 * d + $1] } }
            let m = sims.max() ?? 0
            let sum = sims.reduce(0.0) { $0 + exp($1 - m) }
            loss += m + log(sum) - sims[i]
            for (j, (_, p)) in pairs.enumerated() {
                let g = (exp(sims[j] - m) / sum - (i == j ? 1 : 0)) / Double(count)
                for c in 0..<d {
                    dX[a * d + c] += g * x[p * d + c]
                    dX[p * d + c] += g * x[a * d + c]
                }
            }
        }
        return Result(loss: loss / Double(count), dEmbeddings: normalizeBackward(dX, normalized: x, norms: norms, rows: n, columns: d))
    }

    /// Quadruplet loss (Chen et al. 2017) on squared distances of normalised embeddings: the
    /// triplet term relu(d_ap - d_an + m1) and the term relu(d_ap - d_nm + m2) over a fourth
    /// sample of a third class, each averaged over its non-zero terms, summed.
    static func quadruplet(normalized e: [Double], norms: [Double], labels: [Int], dimension d: Int,
                           margin1: Double, margin2: Double) -> Result {
        let n = labels.count
        let dist = distances(e, rows: n, columns: d, squared: true)
        // Active terms add 1 to dD at their positive pair and -1 at their negative pair; each
        // term's counts are scaled by 1 / (its active terms) (no lists: O(N^2) memory).
        var dD1 = [Double](repeating: 0, count: n * n), dD2 = [Double](repeating: 0, count: n * n)
        var sum1 = 0.0, sum2 = 0.0, count1 = 0, count2 = 0
        for a in 0..<n {
            for p in 0..<n where p != a && labels[p] == labels[a] {
                let ap = dist[a * n + p]
                for q in 0..<n where labels[q] != labels[a] {
                    let v1 = ap - dist[a * n + q] + margin1
                    if v1 > 0 { sum1 += v1; count1 += 1; dD1[a * n + p] += 1; dD1[a * n + q] -= 1 }
                    for r in 0..<n where labels[r] != labels[a] && labels[r] != labels[q] {
                        let v2 = ap - dist[q * n + r] + margin2
                        if v2 > 0 { sum2 += v2; count2 += 1; dD2[a * n + p] += 1; dD2[q * n + r] -= 1 }
                    }
                }
            }
        }
        var dD = [Double](repeating: 0, count: n * n)
        for i in 0..<(n * n) { dD[i] = dD1[i] / Double(max(count1, 1)) + dD2[i] / Double(max(count2, 1)) }
        // d(|e_i - e_j|^2) = 2 (e_i - e_j) . (de_i - de_j)
        var dE = [Double](repeating: 0, count: n * d)
        for i in 0..<n {
            for j in 0..<n where dD[i * n + j] != 0 {
                let g = 2 * dD[i * n + j]
                for c in 0..<d {
                    let v = g * (e[i * d + c] - e[j * d + c])
                    dE[i * d + c] += v
                    dE[j * d + c] -= v
                }
            }
        }
        let loss = (count1 == 0 ? 0 : sum1 / Double(count1)) + (count2 == 0 ? 0 : sum2 / Double(count2))
        return Result(loss: loss, dEmbeddings: normalizeBackward(dE, normalized: e, norms: norms, rows: n, columns: d))
    }
}
