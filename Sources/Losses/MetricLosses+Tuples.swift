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
        guard !pairs.isEmpty else { return Result(loss: 0, dEmbeddings: dX, dW: []) }  // no label with two samples
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
        return Result(loss: loss / Double(count), dEmbeddings: normalizeBackward(dX, normalized: x, norms: norms, rows: n, columns: d), dW: [])
    }

    /// Quadruplet loss (Chen et al. 2017) on squared distances of normalised embeddings: the
    /// triplet term relu(d_ap - d_an + m1) and the term relu(d_ap - d_nm + m2) over a fourth
    /// sample of a third class, each averaged over its non-zero terms, summed.
    static func quadruplet(normalized e: [Double], norms: [Double], labels: [Int], dimension d: Int,
                           margin1: Double, margin2: Double) -> Result {
        let n = labels.count
        let dist = distances(e, rows: n, columns: d, squared: true)
        var dD = [Double](repeating: 0, count: n * n)
        var sum1 = 0.0, sum2 = 0.0
        var terms1: [(Int, Int)] = [], terms2: [(Int, Int)] = []  // (positive pair, negative pair) indices into dist
        for a in 0..<n {
            for p in 0..<n where p != a && labels[p] == labels[a] {
                for q in 0..<n where labels[q] != labels[a] {
                    let v1 = dist[a * n + p] - dist[a * n + q] + margin1
                    if v1 > 0 { sum1 += v1; terms1.append((a * n + p, a * n + q)) }
                    for r in 0..<n where labels[r] != labels[a] && labels[r] != labels[q] {
                        let v2 = dist[a * n + p] - dist[q * n + r] + margin2
                        if v2 > 0 { sum2 += v2; terms2.append((a * n + p, q * n + r)) }
                    }
                }
            }
        }
        for (terms, weight) in [(terms1, 1 / Double(max(terms1.count, 1))), (terms2, 1 / Double(max(terms2.count, 1)))] {
            for (pos, neg) in terms {
                dD[pos] += weight
                dD[neg] -= weight
            }
        }
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
        let loss = (terms1.isEmpty ? 0 : sum1 / Double(terms1.count)) + (terms2.isEmpty ? 0 : sum2 / Double(terms2.count))
        return Result(loss: loss, dEmbeddings: normalizeBackward(dE, normalized: e, norms: norms, rows: n, columns: d), dW: [])
    }
}
