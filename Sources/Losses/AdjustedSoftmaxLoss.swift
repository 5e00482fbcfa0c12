import Foundation
import Settings
import Tensor

/// How a long-tail loss adjusts the logits from the global class counts `n` (summed over
/// ranks each epoch, so N ranks adjust as one process): the loss is the (class-weighted)
/// cross-entropy of `z'_j = scale_j * (z_j - [j = y] margin_j) + offset_j`.
public protocol LogitAdjustment: Sendable {
    /// Whether `--class-weights` apply (PyTorch's weighted mean); balanced softmax takes none.
    var takesClassWeights: Bool { get }
    /// Fills `scale`, `offset` and `margin` (K each) for the counts, every count at least 1.
    func adjust(counts: [Int], scale: inout [Double], offset: inout [Double], margin: inout [Double])
}

/// The loss term of the long-tail family (docs/losses.md): LDAM, balanced softmax, logit
/// adjustment and VS loss, each a `LogitAdjustment`. The adjustment is computed again only
/// when the epoch's counts change; a step allocates nothing.
public final class AdjustedSoftmaxLoss: LossTerm {
    public let adjustment: LogitAdjustment
    public let classes: Int
    private var counts: [Int] = []
    private var scale: [Double], offset: [Double], margin: [Double]
    /// One sample's adjusted logits, then their softmax (K; kept between steps), and with label
    /// smoothing a copy of the adjusted logits.
    private var row: [Double], adjusted: [Double]
    /// `--label-smoothing`, nil for none.
    public let smoothing: LabelSmoothing?

    public init(_ adjustment: LogitAdjustment, classes: Int, smoothing: LabelSmoothing? = nil) {
        self.adjustment = adjustment
        self.classes = classes
        self.smoothing = smoothing
        adjusted = Array(repeating: 0, count: smoothing == nil ? 0 : classes)
        scale = Array(repeating: 1, count: classes)
        offset = Array(repeating: 0, count: classes)
        margin = Array(repeating: 0, count: classes)
        row = Array(repeating: 0, count: classes)
    }

    public var needs: LossNeeds { LossNeeds(weightedMean: adjustment.takesClassWeights) }

    public func problem(counts: [Int]) -> String? {
        guard let empty = counts.firstIndex(where: { $0 <= 0 }) else { return nil }
        return "class \(empty) has no training samples: the loss adjusts each class by its count"
    }

    public func accumulate(_ batch: LossBatch, scoresGradient: Tensor, featureGradient: Tensor) -> Double {
        if batch.counts != counts {
            precondition(batch.counts.count == classes && problem(counts: batch.counts) == nil,
                         "counts \(batch.counts)")
            counts = batch.counts
            adjustment.adjust(counts: counts, scale: &scale, offset: &offset, margin: &margin)
        }
        let b = batch.count, k = classes
        let weights = adjustment.takesClassWeights ? batch.weights : nil
        let inv = 1 / batch.normalizer
        var total = 0.0
        for i in 0..<b {
            let y = Int(batch.targets[i])
            let w = weights?[y] ?? 1
            let z = batch.scores.data + i * k
            for j in 0..<k { row[j] = scale[j] * (Double(z[j]) - (j == y ? margin[j] : 0)) + offset[j] }
            let target = row[y]
            if let smoothing {
                for j in 0..<k { adjusted[j] = row[j] }
                let lse = row.withUnsafeMutableBufferPointer { Softmax.normalize($0.baseAddress!, count: k) }
                total += row.withUnsafeBufferPointer { p in
                    smoothing.accumulate(logit: { self.adjusted[$0] }, p: p.baseAddress!, lse: lse, target: y,
                                         weights: weights,
                                         classes: k, inv: inv, scale: { self.scale[$0] },
                                             into: scoresGradient.data + i * k)
                }
                continue
            }
            let lse = row.withUnsafeMutableBufferPointer { Softmax.normalize($0.baseAddress!, count: k) }
            total += w * (lse - target)
            let dz = scoresGradient.data + i * k
            for j in 0..<k { dz[j] += Float(w * inv * (row[j] - (j == y ? 1 : 0)) * scale[j]) }
        }
        return total * inv
    }
}
