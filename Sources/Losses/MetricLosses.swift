import Foundation
import Tensor

/// Embedding losses as pytorch-metric-learning 2.9 defines them (quadruplet as docs/losses.md
/// pins it), in double precision with their gradients: losses over the batch's pairs,
/// triplets and quadruplets of L2-normalised embeddings (contrastive, triplet, quadruplet,
/// averaged over the non-zero terms) and N-pairs over dot products. Training applies them to
/// the gathered global batch (`EmbeddingLoss`); center loss is `CenterLoss`, the margin
/// heads `CosineClassifier` + `MarginLoss`. Checked against `Tests/golden/metric_losses.json`.
///
/// A `MetricLosses` keeps its work buffers between calls: no allocation per step once they
/// fit the largest batch. Memory is O(N^2 + N D): no list of pairs or triplets.
public final class MetricLosses {
    public enum Kind: Sendable {
        case triplet(margin: Double, miner: Miner = .none)
        /// With a miner, the pairs of the mined triplets (anchor-positive, anchor-negative, each
        /// once per triplet, as PML converts them), mined with `minerMargin`.
        case contrastive(posMargin: Double, negMargin: Double, miner: Miner = .none, minerMargin: Double = 0.05)
        case npairs
        case quadruplet(margin1: Double, margin2: Double)
    }

    public let kind: Kind
    /// dL/d(embeddings) of the last `evaluate`, (N, D).
    public private(set) var gradient = Buffer()
    /// Triplets the miner kept in the last `evaluate` (triplet and contrastive losses).
    public private(set) var minedTriplets = 0
    // Normalised rows (N, D) and norms (N); distances and their gradient (N, N); the
    // gradient of the normalised rows (N, D); N-pairs' pairs and similarities (N).
    private var e = Buffer(), norms = Buffer(), dist = Buffer(), dD = Buffer(), dD2 = Buffer(), dE = Buffer()
    private var sims = Buffer()
    private var anchors = [Int](), positives = [Int]()

    public init(_ kind: Kind) { self.kind = kind }

    /// The loss of the batch; its gradient is left in `gradient`.
    /// - rows: (N, D) row-major; labels: (N)
    public func evaluate(rows x: UnsafePointer<Float>, labels: UnsafePointer<Int32>, count n: Int, dimension d: Int) -> Double {
        gradient.reserve(n * d)
        e.reserve(n * d)
        dE.reserve(n * d)
        dist.reserve(n * n)
        dD.reserve(n * n)
        switch kind {
        case .quadruplet, .contrastive: dD2.reserve(n * n)
        default: break
        }
        norms.reserve(n)
        sims.reserve(n)
        if anchors.count < n {
            anchors = [Int](repeating: 0, count: n)
            positives = [Int](repeating: 0, count: n)
        }
        normalizeRows(x, rows: n, columns: d)
        dE.zero(n * d)
        let loss: Double
        switch kind {
        case .triplet(let margin, let miner): loss = triplet(labels: labels, rows: n, columns: d, margin: margin, miner: miner)
        case .contrastive(let posMargin, let negMargin, let miner, let minerMargin):
            loss = contrastive(labels: labels, rows: n, columns: d, posMargin: posMargin, negMargin: negMargin, miner: miner,
                               minerMargin: minerMargin)
        case .npairs: loss = npairs(labels: labels, rows: n, columns: d)
        case .quadruplet(let m1, let m2): loss = quadruplet(labels: labels, rows: n, columns: d, margin1: m1, margin2: m2)
        }
        normalizeBackward(rows: n, columns: d)
        return loss
    }

    // MARK: - The losses: each fills dE (the gradient of the normalised rows)

    /// Each active mined triplet adds 1 to dD[a, p] and -1 to dD[a, q]; the counts are scaled by
    /// 1 / (active triplets) at the end.
    private func triplet(labels y: UnsafePointer<Int32>, rows n: Int, columns d: Int, margin: Double, miner: Miner) -> Double {
        distances(rows: n, columns: d, squared: false)
        let dist = dist.p, dD = dD.p
        dD.update(repeating: 0, count: n * n)
        var total = 0.0, active = 0
        minedTriplets = 0
        forEachMinedTriplet(labels: y, rows: n, margin: margin, miner: miner) { a, p, q in
            let v = dist[a * n + p] - dist[a * n + q] + margin
            if v > 0 {
                total += v
                active += 1
                dD[a * n + p] += 1
                dD[a * n + q] -= 1
            }
        }
        if active > 0 { for i in 0..<(n * n) { dD[i] /= Double(active) } }
        distanceBackward(rows: n, columns: d, squared: false)
        return active == 0 ? 0 : total / Double(active)
    }

    /// Calls `body(a, p, q)` for every triplet (anchor, positive, negative) the miner keeps, on
    /// the distances `dist`, and counts them in `minedTriplets`.
    private func forEachMinedTriplet(labels y: UnsafePointer<Int32>, rows n: Int, margin: Double, miner: Miner,
                                     _ body: (Int, Int, Int) -> Void) {
        let dist = dist.p
        minedTriplets = 0
        if miner == .batchHard {
            for a in 0..<n {
                var p = -1, q = -1
                for j in 0..<n where j != a {
                    if y[j] == y[a] {
                        if p < 0 || dist[a * n + j] > dist[a * n + p] { p = j }
                    } else if q < 0 || dist[a * n + j] < dist[a * n + q] {
                        q = j
                    }
                }
                guard p >= 0, q >= 0 else { continue }
                minedTriplets += 1
                body(a, p, q)
            }
            return
        }
        for a in 0..<n {
            for p in 0..<n where p != a && y[p] == y[a] {
                for q in 0..<n where y[q] != y[a] && miner.keeps(dist[a * n + q] - dist[a * n + p], margin: margin) {
                    minedTriplets += 1
                    body(a, p, q)
                }
            }
        }
    }

    /// Mean over the non-zero positive terms relu(d - pos) plus mean over the non-zero negative
    /// terms relu(neg - d), over ordered pairs, or over the pairs of the mined triplets (each
    /// as often as a triplet has it).
    private func contrastive(labels y: UnsafePointer<Int32>, rows n: Int, columns d: Int, posMargin: Double, negMargin: Double,
                             miner: Miner, minerMargin: Double) -> Double {
        distances(rows: n, columns: d, squared: false)
        let dist = dist.p, dD = dD.p, uses = dD2.p  // how often each ordered pair counts
        if miner == .none {
            for i in 0..<n { for j in 0..<n { uses[i * n + j] = j == i ? 0 : 1 } }
        } else {
            uses.update(repeating: 0, count: n * n)
            forEachMinedTriplet(labels: y, rows: n, margin: minerMargin, miner: miner) { a, p, q in
                uses[a * n + p] += 1
                uses[a * n + q] += 1
            }
        }
        var posSum = 0.0, negSum = 0.0, posCount = 0.0, negCount = 0.0
        for i in 0..<(n * n) where uses[i] > 0 {
            if y[i / n] == y[i % n] {
                let v = dist[i] - posMargin
                if v > 0 { posSum += uses[i] * v; posCount += uses[i] }
            } else {
                let v = negMargin - dist[i]
                if v > 0 { negSum += uses[i] * v; negCount += uses[i] }
            }
        }
        for i in 0..<(n * n) {
            var g = 0.0
            if uses[i] > 0 {
                if y[i / n] == y[i % n] {
                    if dist[i] - posMargin > 0 { g = uses[i] / posCount }
                } else if negMargin - dist[i] > 0 {
                    g = -uses[i] / negCount
                }
            }
            dD[i] = g
        }
        distanceBackward(rows: n, columns: d, squared: false)
        return (posCount == 0 ? 0 : posSum / posCount) + (negCount == 0 ? 0 : negSum / negCount)
    }

    /// PML's NPairsLoss: one (anchor, positive) pair per label (the label's first two samples in
    /// batch order, labels ascending), dot-product similarities of anchors to all the
    /// positives, cross-entropy with each anchor's own positive as the target, mean over the
    /// anchors. PML's DotProductSimilarity normalises the embeddings first (its default), as
    /// the golden cases confirm.
    private func npairs(labels y: UnsafePointer<Int32>, rows n: Int, columns d: Int) -> Double {
        var count = 0
        for a in 0..<n {
            guard !(0..<a).contains(where: { y[$0] == y[a] }), let p = ((a + 1)..<n).first(where: { y[$0] == y[a] }) else { continue }
            // Insert by label: the pairs stay sorted.
            var slot = count
            while slot > 0 && y[anchors[slot - 1]] > y[a] {
                anchors[slot] = anchors[slot - 1]
                positives[slot] = positives[slot - 1]
                slot -= 1
            }
            anchors[slot] = a
            positives[slot] = p
            count += 1
        }
        guard count > 0 else { return 0 }  // no label with two samples
        let x = e.p, dX = dE.p, s = sims.p
        var loss = 0.0
        for i in 0..<count {
            let a = anchors[i]
            for j in 0..<count {
                let p = positives[j]
                var dot = 0.0
                for c in 0..<d { dot += x[a * d + c] * x[p * d + c] }
                s[j] = dot
            }
            let target = s[i]
            loss += Softmax.normalize(s, count: count) - target
            for j in 0..<count {
                let p = positives[j]
                let g = (s[j] - (i == j ? 1 : 0)) / Double(count)
                for c in 0..<d {
                    dX[a * d + c] += g * x[p * d + c]
                    dX[p * d + c] += g * x[a * d + c]
                }
            }
        }
        return loss / Double(count)
    }

    /// Quadruplet loss (Chen et al. 2017) on squared distances of normalised embeddings: the
    /// triplet term relu(d_ap - d_an + m1) and the term relu(d_ap - d_nm + m2) over a fourth
    /// sample of a third class, each averaged over its non-zero terms, summed. Active terms
    /// add 1 at their positive pair and -1 at their negative pair of their term's counts.
    private func quadruplet(labels y: UnsafePointer<Int32>, rows n: Int, columns d: Int, margin1: Double, margin2: Double) -> Double {
        distances(rows: n, columns: d, squared: true)
        let dist = dist.p, dD1 = dD.p, dD2 = dD2.p
        dD1.update(repeating: 0, count: n * n)
        dD2.update(repeating: 0, count: n * n)
        var sum1 = 0.0, sum2 = 0.0, count1 = 0, count2 = 0
        for a in 0..<n {
            for p in 0..<n where p != a && y[p] == y[a] {
                let ap = dist[a * n + p]
                for q in 0..<n where y[q] != y[a] {
                    let v1 = ap - dist[a * n + q] + margin1
                    if v1 > 0 { sum1 += v1; count1 += 1; dD1[a * n + p] += 1; dD1[a * n + q] -= 1 }
                    for r in 0..<n where y[r] != y[a] && y[r] != y[q] {
                        let v2 = ap - dist[q * n + r] + margin2
                        if v2 > 0 { sum2 += v2; count2 += 1; dD2[a * n + p] += 1; dD2[q * n + r] -= 1 }
                    }
                }
            }
        }
        for i in 0..<(n * n) { dD1[i] = dD1[i] / Double(max(count1, 1)) + dD2[i] / Double(max(count2, 1)) }
        distanceBackward(rows: n, columns: d, squared: true)
        return (count1 == 0 ? 0 : sum1 / Double(count1)) + (count2 == 0 ? 0 : sum2 / Double(count2))
    }

    // MARK: - Shared parts

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
    private func normalizeBackward(rows: Int, columns d: Int) {
        let e = e.p, g = dE.p, norms = norms.p, out = gradient.p
        for i in 0..<rows {
            var dot = 0.0
            for j in 0..<d { dot += e[i * d + j] * g[i * d + j] }
            for j in 0..<d { out[i * d + j] = (g[i * d + j] - e[i * d + j] * dot) / norms[i] }
        }
    }

    /// `dist` = Euclidean (or squared) distances between the rows of `e`, (N, N).
    private func distances(rows n: Int, columns d: Int, squared: Bool) {
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
    private func distanceBackward(rows n: Int, columns d: Int, squared: Bool) {
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
}

extension MetricLosses {
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
