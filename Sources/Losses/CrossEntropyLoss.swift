import Settings
import Tensor

/// Cross-entropy with optional class weights, PyTorch's weighted mean: `sum_i w_yi CE_i / sum_i w_yi`
/// (the denominator summed over ranks: `LossBatch.normalizer`).
public final class CrossEntropyLoss: LossTerm {
    public let classes: Int
    /// `--label-smoothing`, nil for none.
    public let smoothing: LabelSmoothing?
    let softmax = SoftmaxRows()

    public init(classes: Int, smoothing: LabelSmoothing? = nil) {
        self.classes = classes
        self.smoothing = smoothing
    }

    public var needs: LossNeeds { LossNeeds(weightedMean: true) }

    public func accumulate(_ batch: LossBatch, scoresGradient: Tensor, featureGradient: Tensor) -> Double {
        guard batch.count > 0 else { return 0 }
        let k = classes, inv = 1 / batch.normalizer
        softmax.compute(batch.scores, classes: k)
        var total = 0.0
        if let smoothing {
            for i in 0..<batch.count {
                let row = batch.scores.data + i * k
                total += smoothing.accumulate(logit: { Double(row[$0]) }, p: softmax.p + i * k, lse: softmax.lse[i],
                                              target: Int(batch.targets[i]), weights: batch.weights, classes: k,
                                                  inv: inv,
                                              scale: { _ in 1 }, into: scoresGradient.data + i * k)
            }
            return total * inv
        }
        for i in 0..<batch.count {
            let y = Int(batch.targets[i]), w = batch.weights?[y] ?? 1
            total += softmax.crossEntropy(i, logits: batch.scores, target: y, weight: w, classes: k)
            softmax.addCrossEntropyGradient(i, target: y, factor: w * inv, into: scoresGradient.data, classes: k)
        }
        return total * inv
    }
}

extension LossSpec {
    /// `--loss ce`: cross-entropy, optionally class-weighted (PyTorch's weighted mean).
    public static let crossEntropy = LossSpec(options: { [Options().labelSmoothing] },
                                              golden: [LabelSmoothing.golden]) { s, classes, _ in
        CrossEntropyLoss(classes: classes, smoothing: LabelSmoothing.of(s))
    }
}
