import Foundation

/// Metric-learning losses as pytorch-metric-learning 2.9 defines them, in double
/// precision with their gradients: ArcFace and CosFace (large-margin softmax over
/// cosines to class weight columns) and triplet margin and contrastive losses
/// (over distances between L2-normalised embeddings, all triplets / pairs of the
/// batch, averaged over the non-zero terms). Checked against the golden file's
/// `metric_losses`; not yet wired into training.
public enum MetricLosses {
    /// Loss value and gradients; `dW` is empty for the losses without class weights.
    public struct Result {
        public var loss: Double
        /// (N, D)
        public var dEmbeddings: [Double]
        /// (D, K), one column per class
        public var dW: [Double]
    }

    public enum Kind: Sendable {
        case arcface(marginDegrees: Double, scale: Double)
        case cosface(margin: Double, scale: Double)
        case triplet(margin: Double)
        case contrastive(posMargin: Double, negMargin: Double)
    }

    /// - embeddings: (N, D) row-major; labels: (N); W: (D, K) for ArcFace and CosFace
    public static func evaluate(_ kind: Kind, embeddings x: [Double], labels: [Int], dimension d: Int,
                                classes k: Int, W: [Double] = []) -> Result {
        let n = labels.count
        let (e, norms) = normalizeRows(x, rows: n, columns: d)
        switch kind {
        case .arcface, .cosface:
            // Class columns of W, normalised: w (K, D).
            let wt = (0..<(k * d)).map { i in W[(i % d) * k + i / d] }
            let (w, wNorms) = normalizeRows(wt, rows: k, columns: d)
            var loss = 0.0
            var dCos = [Double](repeating: 0, count: n * k)
            for i in 0..<n {
                let y = labels[i]
                var cos = (0..<k).map { c in (0..<d).reduce(0.0) { $0 + e[i * d + $1] * w[c * d + $1] } }
                let (target, slope) = modifiedTarget(kind, cos[y])
                cos[y] = target
                let scale: Double
                switch kind {
                case .arcface(_, let s), .cosface(_, let s): scale = s
                default: scale = 1
                }
                let logits = cos.map { $0 * scale }
                let m = logits.max() ?? 0
                let sum = logits.reduce(0.0) { $0 + exp($1 - m) }
                loss += m + log(sum) - logits[y]
                for c in 0..<k {
                    let dl = (exp(logits[c] - m) / sum - (c == y ? 1 : 0)) / Double(n)
                    dCos[i * k + c] = scale * dl * (c == y ? slope : 1)
                }
            }
            // cos_ic = e_i . w_c
            var dE = [Double](repeating: 0, count: n * d), dWn = [Double](repeating: 0, count: k * d)
            for i in 0..<n {
                for c in 0..<k {
                    let g = dCos[i * k + c]
                    for j in 0..<d {
                        dE[i * d + j] += g * w[c * d + j]
                        dWn[c * d + j] += g * e[i * d + j]
                    }
                }
            }
            let dX = normalizeBackward(dE, normalized: e, norms: norms, rows: n, columns: d)
            let dWt = normalizeBackward(dWn, normalized: w, norms: wNorms, rows: k, columns: d)
            let dW = (0..<(d * k)).map { i in dWt[(i % k) * d + i / k] }
            return Result(loss: loss / Double(n), dEmbeddings: dX, dW: dW)

        case .triplet(let margin):
            let dist = distances(e, rows: n, columns: d)
            var terms: [(a: Int, p: Int, q: Int)] = []
            var total = 0.0
            for a in 0..<n {
                for p in 0..<n where p != a && labels[p] == labels[a] {
                    for q in 0..<n where labels[q] != labels[a] {
                        let v = dist[a * n + p] - dist[a * n + q] + margin
                        if v > 0 {
                            total += v
                            terms.append((a, p, q))
                        }
                    }
                }
            }
            var dD = [Double](repeating: 0, count: n * n)
            if !terms.isEmpty {
                let w = 1 / Double(terms.count)
                for t in terms {
                    dD[t.a * n + t.p] += w
                    dD[t.a * n + t.q] -= w
                }
            }
            let dE = distanceBackward(dD, normalized: e, distances: dist, rows: n, columns: d)
            return Result(loss: terms.isEmpty ? 0 : total / Double(terms.count),
                          dEmbeddings: normalizeBackward(dE, normalized: e, norms: norms, rows: n, columns: d), dW: [])

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
            return Result(loss: loss, dEmbeddings: normalizeBackward(dE, normalized: e, norms: norms, rows: n, columns: d), dW: [])
        }
    }

    /// The target class's modified cosine and its derivative with respect to the cosine.
    static func modifiedTarget(_ kind: Kind, _ c: Double) -> (Double, Double) {
        switch kind {
        case .cosface(let margin, _):
            return (c - margin, 1)
        case .arcface(let degrees, _):
            let m = degrees * Double.pi / 180
            let clamped = min(max(c, -1), 1)
            let theta = acos(clamped)
            let dTheta = -1 / (1 - clamped * clamped).squareRoot()
            if theta <= Double.pi - m {
                return (cos(theta + m), -sin(theta + m) * dTheta)
            }
            // Past pi - m the curve continues as cos(theta) - m sin(m), keeping it decreasing.
            return (cos(theta) - m * sin(m), -sin(theta) * dTheta)
        default:
            return (c, 1)
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

    /// Euclidean distances between rows, (N, N).
    static func distances(_ e: [Double], rows n: Int, columns d: Int) -> [Double] {
        var out = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in 0..<n {
                out[i * n + j] = (0..<d).reduce(0.0) { s, c in
                    let v = e[i * d + c] - e[j * d + c]
                    return s + v * v
                }.squareRoot()
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
