import Foundation

/// Embedding losses as pytorch-metric-learning 2.9 defines them (quadruplet as docs/losses.md
/// pins it), in double precision with their gradients: losses over the batch's pairs,
/// triplets and quadruplets of L2-normalised embeddings (contrastive, triplet, quadruplet,
/// averaged over the non-zero terms) and N-pairs over dot products. Training applies them to
/// the gathered global batch (`EmbeddingLoss`); center loss is `CenterLoss`, the margin
/// heads `CosineClassifier` + `MarginLoss`.
/// Checked against `Tests/golden/metric_losses.json`.
public enum MetricLosses {
    /// Loss value and gradients.
    public struct Result {
        public var loss: Double
        /// (N, D)
        public var dEmbeddings: [Double]
    }

    public enum Kind: Sendable {
        case triplet(margin: Double)
        case contrastive(posMargin: Double, negMargin: Double)
        case npairs
        case quadruplet(margin1: Double, margin2: Double)
    }

    /// - embeddings: (N, D) row-major; labels: (N)
    public static func evaluate(_ kind: Kind, embeddings x: [Double], labels: [Int], dimension d: Int) -> Result {
        let n = labels.count
        let (e, norms) = normalizeRows(x, rows: n, columns: d)
        switch kind {
        case .npairs:
            return npairs(normalized: e, norms: norms, labels: labels, dimension: d)
        case .quadruplet(let m1, let m2):
            return quadruplet(normalized: e, norms: norms, labels: labels, dimension: d, margin1: m1, margin2: m2)

        case .triplet(let margin):
            // Each active triplet adds 1 to dD[a, p] and -1 to dD[a, q]; the counts are scaled
            // by 1 / (active triplets) at the end (no list of triplets: O(N^2) memory).
            let dist = distances(e, rows: n, columns: d)
            var dD = [Double](repeating: 0, count: n * n)
            var total = 0.0, active = 0
            for a in 0..<n {
                for p in 0..<n where p != a && labels[p] == labels[a] {
                    for q in 0..<n where labels[q] != labels[a] {
                        let v = dist[a * n + p] - dist[a * n + q] + margin
                        if v > 0 {
                            total += v
                            active += 1
                            dD[a * n + p] += 1
                            dD[a * n + q] -= 1
                        }
                    }
                }
            }
            if active > 0 { for i in 0..<(n * n) { dD[i] /= Double(active) } }
            let dE = distanceBackward(dD, normalized: e, distances: dist, rows: n, columns: d)
            return Result(loss: active == 0 ? 0 : total / Double(active),
                          dEmbeddings: normalizeBackward(dE, normalized: e, norms: norms, rows: n, columns: d))

        case .contrastive(let posMargin, let negMargin):
            let dist = distances(e, rows: n, columns: d)
            var pos: [(Int, Int)] = [], neg: [(Int, Int)] = []
            var posSum = 0.0, negSum = 0.0
            for i in 0..<n {
                for j in 0..<n where j != i {
                    if labels[i] == labels[j] {
                        let v = dist[i * n + j] - posMargin
                        if v > 0 { posSum += v; pos.append((i, j)) }
                    } else {
                        let v = negMargin - dist[i * n + j]
                        if v > 0 { negSum += v; neg.append((i, j)) }
                    }
                }
            }
            var dD = [Double](repeating: 0, count: n * n)
            for (i, j) in pos { dD[i * n + j] += 1 / Double(pos.count) }
            for (i, j) in neg { dD[i * n + j] -= 1 / Double(neg.count) }
            let loss = (pos.isEmpty ? 0 : posSum / Double(pos.count)) + (neg.isEmpty ? 0 : negSum / Double(neg.count))
            let dE = distanceBackward(dD, normalized: e, distances: dist, rows: n, columns: d)
            return Result(loss: loss, dEmbeddings: normalizeBackward(dE, normalized: e, norms: norms, rows: n, columns: d))
        }
    }

    /// Rows scaled to unit length (F.normalize: divided by max(norm, 1e-12)) and their norms.
    static func normalizeRows(_ x: [Double], rows: Int, columns d: Int) -> ([Double], [Double]) {
        var out = x
        var norms = [Double](repeating: 0, count: rows)
        for i in 0..<rows {
            let norm = max((0..<d).reduce(0.0) { $0 + x[i * d + $1] * x[i * d + $1] }.squareRoot(), 1e-12)
            norms[i] = norm
            for j in 0..<d { out[i * d + j] = x[i * d + j] / norm }
        }
        return (out, norms)
    }

    /// Gradient through row normalisation: `(g - e (e . g)) / norm` per row.
    static func normalizeBackward(_ g: [Double], normalized e: [Double], norms: [Double], rows: Int, columns d: Int) -> [Double] {
        var out = g
        for i in 0..<rows {
            let dot = (0..<d).reduce(0.0) { $0 + e[i * d + $1] * g[i * d + $1] }
            for j in 0..<d { out[i * d + j] = (g[i * d + j] - e[i * d + j] * dot) / norms[i] }
        }
        return out
    }

    /// Euclidean distances between rows, (N, N); squared ones with `squared`.
    static func distances(_ e: [Double], rows n: Int, columns d: Int, squared: Bool = false) -> [Double] {
        var out = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in 0..<n {
                let s2 = (0..<d).reduce(0.0) { s, c in
                    let v = e[i * d + c] - e[j * d + c]
                    return s + v * v
                }
                out[i * n + j] = squared ? s2 : s2.squareRoot()
            }
        }
        return out
    }

    /// Gradient of the rows from the gradient of their distance matrix.
    static func distanceBackward(_ dD: [Double], normalized e: [Double], distances dist: [Double], rows n: Int, columns d: Int) -> [Double] {
        var out = [Double](repeating: 0, count: n * d)
        for i in 0..<n {
            for j in 0..<n where dD[i * n + j] != 0 && dist[i * n + j] > 0 {
                let g = dD[i * n + j] / dist[i * n + j]
                for c in 0..<d {
                    let v = g * (e[i * d + c] - e[j * d + c])
                    out[i * d + c] += v
                    out[j * d + c] -= v
                }
            }
        }
        return out
    }
}
