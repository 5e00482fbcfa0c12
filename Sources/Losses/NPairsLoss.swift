import Tensor

/// PML's NPairsLoss: one (anchor, positive) pair per label (the label's first two samples in
/// batch order, labels ascending), dot-product similarities of anchors to all the positives,
/// cross-entropy with each anchor's own positive as the target, mean over the anchors. PML's
/// DotProductSimilarity normalises the embeddings first (its default), as the golden cases confirm.
public final class NPairsLoss: EmbeddingObjective {
    private var anchors = [Int](), positives = [Int]()
    /// One anchor's similarities to the positives (N), kept between steps.
    private let sims = EmbeddingGeometry.Buffer()

    public init() {}

    public func evaluate(_ g: EmbeddingGeometry, labels y: UnsafePointer<Int32>, count n: Int,
                         dimension d: Int) -> Double {
        sims.reserve(n)
        if anchors.count < n {
            anchors = [Int](repeating: 0, count: n)
            positives = [Int](repeating: 0, count: n)
        }
        var count = 0
        for a in 0..<n {
            guard !(0..<a).contains(where: { y[$0] == y[a] }),
                let p = ((a + 1)..<n).first(where: { y[$0] == y[a] }) else { continue }
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
        let x = g.e.p, dX = g.dE.p, s = sims.p
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
                let gradient = (s[j] - (i == j ? 1 : 0)) / Double(count)
                for c in 0..<d {
                    dX[a * d + c] += gradient * x[p * d + c]
                    dX[p * d + c] += gradient * x[a * d + c]
                }
            }
        }
        return loss / Double(count)
    }
}

extension EmbeddingLossSpec {
    /// `--metric-loss npairs`: N-pairs loss over the global batch (PML's NPairsLoss).
    public static let npairs = EmbeddingLossSpec(options: { [] }) { _, _, d, weight in
        EmbeddingLoss(NPairsLoss(), dimension: d, weight: weight)
    }
}
