import Foundation

extension MetricLosses {
    /// Heads on normalised features: cross-entropy over `scale * cos(theta_c)` (SphereFace:
    /// `|h| * scale * ...`), the target class's cosine replaced by its margin form. With
    /// sub-centres a class's cosine is the largest of its S columns, and only that column
    /// receives the gradient.
    static func head(_ kind: Kind, embeddings x: [Double], normalized e: [Double], norms: [Double], labels: [Int],
                     dimension d: Int, classes k: Int, W: [Double]) -> Result {
        let n = labels.count
        let s: Int
        let scale: Double
        switch kind {
        case .arcface(_, let v), .cosface(_, let v): scale = v; s = 1
        case .sphereface(_, let v): scale = v; s = 1
        case .subcenterArcface(_, let v, let sub): scale = v; s = sub
        default: preconditionFailure("not a head: \(kind)")
        }
        let columns = k * s
        // Columns of W (D, K*S), normalised: w (K*S, D).
        let wt = (0..<(columns * d)).map { i in W[(i % d) * columns + i / d] }
        let (w, wNorms) = normalizeRows(wt, rows: columns, columns: d)
        let byNorm: Bool
        if case .sphereface = kind { byNorm = true } else { byNorm = false }
        var loss = 0.0
        var dCol = [Double](repeating: 0, count: n * columns)
        var dNorm = [Double](repeating: 0, count: n)
        for i in 0..<n {
            let y = labels[i]
            var cos = [Double](repeating: 0, count: k), chosen = [Int](repeating: 0, count: k)
            for c in 0..<k {
                var best = -Double.infinity
                for sub in 0..<s {
                    let col = c * s + sub
                    let v = (0..<d).reduce(0.0) { $0 + e[i * d + $1] * w[col * d + $1] }
                    if v > best { best = v; chosen[c] = col }
                }
                cos[c] = best
            }
            let (target, slope) = modifiedTarget(kind, cos[y])
            var f = cos
            f[y] = target
            let factor = scale * (byNorm ? norms[i] : 1)
            let logits = f.map { $0 * factor }
            let m = logits.max() ?? 0
            let sum = logits.reduce(0.0) { $0 + exp($1 - m) }
            loss += m + log(sum) - logits[y]
            for c in 0..<k {
                let dl = (exp(logits[c] - m) / sum - (c == y ? 1 : 0)) / Double(n)
                dCol[i * columns + chosen[c]] += factor * dl * (c == y ? slope : 1)
                if byNorm { dNorm[i] += scale * dl * f[c] }
            }
        }
        // cos_ic = e_i . w_c
        var dE = [Double](repeating: 0, count: n * d), dWn = [Double](repeating: 0, count: columns * d)
        for i in 0..<n {
            for c in 0..<columns where dCol[i * columns + c] != 0 {
                let g = dCol[i * columns + c]
                for j in 0..<d {
                    dE[i * d + j] += g * w[c * d + j]
                    dWn[c * d + j] += g * e[i * d + j]
                }
            }
        }
        var dX = normalizeBackward(dE, normalized: e, norms: norms, rows: n, columns: d)
        if byNorm {
            // |h_i| scales SphereFace's logits: d|h|/dh = h / |h|.
            for i in 0..<n { for j in 0..<d { dX[i * d + j] += dNorm[i] * e[i * d + j] } }
        }
        let dWt = normalizeBackward(dWn, normalized: w, norms: wNorms, rows: columns, columns: d)
        let dW = (0..<(d * columns)).map { i in dWt[(i % columns) * d + i / columns] }
        return Result(loss: loss / Double(n), dEmbeddings: dX, dW: dW)
    }

    /// T_m(c) = cos(m acos c) and its derivative, from the multiple-angle formula
    /// sum_n (-1)^n C(m, 2n) c^(m-2n) (1-c^2)^n (PML's LargeMarginSoftmaxLoss).
    static func chebyshev(_ m: Int, _ c: Double) -> (Double, Double) {
        var value = 0.0, slope = 0.0
        let s2 = 1 - c * c
        for n in 0...(m / 2) {
            let coefficient = (n % 2 == 0 ? 1.0 : -1.0) * binomial(m, 2 * n)
            let p = m - 2 * n
            value += coefficient * pow(c, Double(p)) * pow(s2, Double(n))
            if p > 0 { slope += coefficient * Double(p) * pow(c, Double(p - 1)) * pow(s2, Double(n)) }
            if n > 0 { slope += coefficient * pow(c, Double(p)) * Double(n) * pow(s2, Double(n - 1)) * (-2 * c) }
        }
        return (value, slope)
    }

    static func binomial(_ n: Int, _ r: Int) -> Double {
        (0..<r).reduce(1.0) { $0 * Double(n - $1) / Double($1 + 1) }
    }
}
