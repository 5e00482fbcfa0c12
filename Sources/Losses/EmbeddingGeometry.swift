/// What the embedding losses share, on a batch of N rows of dimension D: the rows scaled to
/// unit length (pytorch-metric-learning's default), their distance matrix, and the way back
/// from a gradient of the distances to a gradient of the rows. Double precision; the buffers
/// are kept between steps (no allocation once they fit the largest batch), O(N^2 + N D).
public final class EmbeddingGeometry {
    /// Normalised rows `e` (N, D) and their norms (N).
    public private(set) var e = Buffer(), norms = Buffer()
    /// Distances (N, N), their gradient `dD` and a second (N, N) scratch for the losses that need one.
    public private(set) var dist = Buffer(), dD = Buffer(), scratch = Buffer()
    /// The gradient of the normalised rows, (N, D): the losses add to it.
    public private(set) var dE = Buffer()
    /// dL/d(rows) after `finish`, (N, D).
    public private(set) var gradient = Buffer()

    public init() {}

    /// Sizes the buffers for `n` rows of `d`, normalises `x` into `e` and zeroes `dE`.
    func begin(rows x: UnsafePointer<Float>, count n: Int, dimension d: Int) {
        gradient.reserve(n * d)
        e.reserve(n * d)
        dE.reserve(n * d)
        dist.reserve(n * n)
        dD.reserve(n * n)
        scratch.reserve(n * n)
        norms.reserve(n)
        normalizeRows(x, rows: n, columns: d)
        dE.zero(n * d)
    }

    /// `e` = rows scaled to unit length (F.normalize: divided by max(norm, 1e-12)), `norms`.
    private func normalizeRows(_ x: UnsafePointer<Float>, rows: Int, columns d: Int) {
        let e = e.p, norms = norms.p
        for i in 0..<rows {
            var s = 0.0
            for j in 0..<d { s += Double(x[i * d + j]) * Double(x[i * d + j]) }
            let norm = max(s.squareRoot(), 1e-12)
            norms[i] = norm
            for j in 0..<d { e[i * d + j] = Double(x[i * d + j]) / norm }
        }
    }

    /// `gradient` = dE through the row normalisation: `(g - e (e . g)) / norm` per row.
    func finish(rows: Int, columns d: Int) {
        let e = e.p, g = dE.p, norms = norms.p, out = gradient.p
        for i in 0..<rows {
            var dot = 0.0
            for j in 0..<d { dot += e[i * d + j] * g[i * d + j] }
            for j in 0..<d { out[i * d + j] = (g[i * d + j] - e[i * d + j] * dot) / norms[i] }
        }
    }

    /// `dist` = Euclidean (or squared) distances between the rows of `e`, (N, N).
    func distances(rows n: Int, columns d: Int, squared: Bool) {
        let e = e.p, out = dist.p
        for i in 0..<n {
            out[i * n + i] = 0
            for j in (i + 1)..<max(n, i + 1) {
                var s2 = 0.0
                for c in 0..<d {
                    let v = e[i * d + c] - e[j * d + c]
                    s2 += v * v
                }
                let v = squared ? s2 : s2.squareRoot()
                out[i * n + j] = v
                out[j * n + i] = v
            }
        }
    }

    /// Adds to dE the gradient of the rows from `dD`, the gradient of the distance matrix.
    func distanceBackward(rows n: Int, columns d: Int, squared: Bool) {
        let e = e.p, dist = dist.p, dD = dD.p, out = dE.p
        for i in 0..<n {
            for j in 0..<n where dD[i * n + j] != 0 && (squared || dist[i * n + j] > 0) {
                // d|e_i - e_j| = (e_i - e_j) / |e_i - e_j|;  d|e_i - e_j|^2 = 2 (e_i - e_j)
                let g = squared ? 2 * dD[i * n + j] : dD[i * n + j] / dist[i * n + j]
                for c in 0..<d {
                    let v = g * (e[i * d + c] - e[j * d + c])
                    out[i * d + c] += v
                    out[j * d + c] -= v
                }
            }
        }
    }

    /// Doubles that keep their memory between steps; grown, never shrunk.
    public final class Buffer {
        public private(set) var p = UnsafeMutablePointer<Double>.allocate(capacity: 1)
        private var capacity = 1

        func reserve(_ count: Int) {
            guard count > capacity else { return }
            p.deallocate()
            p = .allocate(capacity: count)
            capacity = count
        }

        func zero(_ count: Int) { p.update(repeating: 0, count: count) }

        deinit { p.deallocate() }
    }
}
