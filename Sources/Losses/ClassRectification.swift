/// The class rectification term of CRL: hard-sample triplets of the batch's
/// minority classes (Dong, Gong and Zhu, "Imbalanced Deep Learning by Minority
/// Class Incremental Rectification", TPAMI 2019), as docs/losses.md defines it.
///
/// Works on any batch given as scores (softmax probabilities) and labels, so
/// the same code mines a rank's local batch and the all-gathered global batch.
/// Scratch memory is kept between calls: no allocation per step once sized.
public final class ClassRectification {
    public let classes: Int
    public var kappa: Int
    public var margin: Double
    public var rho: Double
    private var counts: [Int]
    private var order: [Int]
    private var members: [Int] = []
    private var others: [Int] = []
    private var positives: [Int] = []
    private var negatives: [Int] = []

    public init(classes: Int, kappa: Int, margin: Double, rho: Double) {
        self.classes = classes
        self.kappa = kappa
        self.margin = margin
        self.rho = rho
        counts = Array(repeating: 0, count: classes)
        order = Array(repeating: 0, count: classes)
    }

    /// The minority classes of a batch: classes present, by batch count ascending (ties: lower id
    /// first), taken while the running total stays `<= rho * N`; those with fewer than 2 samples skipped.
    public func minorityClasses(labels: UnsafePointer<Int32>, count n: Int) -> [Int] {
        tally(labels: labels, count: n)
        var chosen: [Int] = []
        forEachMinorityClass(batch: n) { chosen.append($0) }
        return chosen
    }

    private func tally(labels: UnsafePointer<Int32>, count n: Int) {
        for k in 0..<classes { counts[k] = 0 }
        for i in 0..<n { counts[Int(labels[i])] += 1 }
        var present = 0
        for k in 0..<classes where counts[k] > 0 {
            order[present] = k
            present += 1
        }
        // Stable insertion sort of the present classes by count (ids ascending within a count).
        var i = 1
        while i < present {
            let c = order[i]
            var j = i - 1
            while j >= 0, counts[order[j]] > counts[c] {
                order[j + 1] = order[j]
                j -= 1
            }
            order[j + 1] = c
            i += 1
        }
        for k in present..<classes { order[k] = -1 }
    }

    private func forEachMinorityClass(batch n: Int, _ body: (Int) -> Void) {
        var total = 0
        for index in 0..<classes {
            let c = order[index]
            if c < 0 { break }
            total += counts[c]
            if Double(total) > rho * Double(n) { break }
            if counts[c] >= 2 { body(c) }
        }
    }

    /// `L_crl` of the batch and its gradient with respect to the scores.
    ///
    /// - scores: (N, K) softmax probabilities
    /// - labels: (N)
    /// - scoreGradient: (N, K), set to `scale * dL_crl / dscores`
    /// - Returns: `L_crl` (0 when the batch has no minority class)
    public func lossAndGradient(scores: UnsafePointer<Float>, labels: UnsafePointer<Int32>, count n: Int,
                                scale: Double, scoreGradient: UnsafeMutablePointer<Double>) -> Double {
        scoreGradient.update(repeating: 0, count: n * classes)
        tally(labels: labels, count: n)
        var triples = 0
        forEachMinorityClass(batch: n) { c in
            let nc = counts[c]
            triples += nc * min(kappa, nc) * min(kappa, n - nc)
        }
        if triples == 0 { return 0 }
        let k = classes
        let weight = scale / Double(triples)
        var total = 0.0
        forEachMinorityClass(batch: n) { c in
            members.removeAll(keepingCapacity: true)
            others.removeAll(keepingCapacity: true)
            for i in 0..<n {
                if Int(labels[i]) == c { members.append(i) } else { others.append(i) }
            }
            let score = { (i: Int) -> Double in Double(scores[i * k + c]) }
            // Hard positives: lowest scores of class c; hard negatives: highest scores of the others.
            select(&positives, from: members, count: min(kappa, members.count)) { score($0) < score($1) }
            select(&negatives, from: others, count: min(kappa, others.count)) { score($0) > score($1) }
            for a in members {
                let sa = score(a)
                for p in positives {
                    let sp = score(p)
                    let distance = abs(sa - sp)
                    let sign: Double = sa > sp ? 1 : (sa < sp ? -1 : 0)
                    for q in negatives {
                        let term = margin + distance - (sa - score(q))
                        if term <= 0 { continue }
                        total += term
                        scoreGradient[a * k + c] += weight * (sign - 1)
                        scoreGradient[p * k + c] -= weight * sign
                        scoreGradient[q * k + c] += weight
                    }
                }
            }
        }
        return total / Double(triples)
    }

    /// The first `count` of `candidates` in the order `before`, stable (ties keep batch order).
    private func select(_ out: inout [Int], from candidates: [Int], count: Int, before: (Int, Int) -> Bool) {
        out.removeAll(keepingCapacity: true)
        guard count > 0 else { return }
        for i in candidates {
            if out.count == count {
                guard let last = out.last, before(i, last) else { continue }
                out.removeLast()
            }
            // Insert after every element that is not after i (stable).
            var j = out.count
            while j > 0, before(i, out[j - 1]) { j -= 1 }
            out.insert(i, at: j)
        }
    }
}
