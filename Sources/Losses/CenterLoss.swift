import Settings
import Tensor

/// Center loss (Wen et al. 2016) over the global batch: `lambda / 2 * mean_i |h_i - c_{y_i}|^2`
/// and, after the step, `c_j -= alpha * sum_{i: y_i = j} (c_j - h_i) / (1 + n_j)` summed over
/// the gathered global batch, so every rank moves the centres as one process would. The move
/// is computed with the loss and applied by `stepTaken` (a skipped step leaves the centres).
/// The centres (K, D), zero at the start, are state: checkpointed as `center_loss.centers`.
public final class CenterLoss: LossTerm {
    public let classes: Int
    public let dimension: Int
    public let lambda: Double
    public let alpha: Double
    public let centers: Tensor
    private var pull: [Double]
    private var counts: [Int]

    public init(classes: Int, dimension: Int, lambda: Double, alpha: Double) {
        self.classes = classes
        self.dimension = dimension
        self.lambda = lambda
        self.alpha = alpha
        centers = Tensor(shape: [classes, dimension])
        pull = [Double](repeating: 0, count: classes * dimension)
        counts = [Int](repeating: 0, count: classes)
    }

    public var needs: LossNeeds { LossNeeds(features: true, gatherWidth: dimension) }
    public var state: [(name: String, tensor: Tensor)] { [("center_loss.centers", centers)] }

    public func rowsToGather(_ batch: LossBatch) -> UnsafePointer<Float> { UnsafePointer(batch.features.data) }

    public func accumulate(_ batch: LossBatch, scoresGradient: Tensor, featureGradient: Tensor) -> Double {
        guard let global = batch.global else { preconditionFailure("CenterLoss needs the gathered batch") }
        let m = global.count, d = dimension, c = centers.data
        // This rank's samples: their share of the loss and their gradient rows.
        var value = 0.0
        for i in 0..<batch.count {
            let h = global.rows + global.localRows[i] * d, y = Int(global.labels[global.localRows[i]])
            let dh = featureGradient.data + i * d
            for j in 0..<d {
                let v = Double(h[j]) - Double(c[y * d + j])
                value += v * v
                dh[j] += Float(lambda * v / Double(m))
            }
        }
        // The centres' move from the whole global batch, in its order, applied by stepTaken.
        for i in 0..<pull.count { pull[i] = 0 }
        for i in 0..<counts.count { counts[i] = 0 }
        for i in 0..<m {
            let h = global.rows + i * d, y = Int(global.labels[i])
            counts[y] += 1
            for j in 0..<d { pull[y * d + j] += Double(c[y * d + j]) - Double(h[j]) }
        }
        return lambda / 2 * value / Double(m)
    }

    public func stepTaken() {
        let d = dimension, c = centers.data
        for k in 0..<classes where counts[k] > 0 {
            for j in 0..<d { c[k * d + j] = Float(Double(c[k * d + j]) - alpha
                * pull[k * d + j] / Double(1 + counts[k])) }
            counts[k] = 0
        }
    }
}

extension Options {
    public var centerAlpha: Option<Double> { Option("center-alpha", 0.5, "Center loss: the centres' step size alpha.",
                                                    check: .closed(0, 1)) }
}

extension EmbeddingLossSpec {
    /// `--metric-loss center`.
    public static let center = EmbeddingLossSpec(
        options: { [Options().centerAlpha] }, defaultWeight: 0.01,
        golden: [GoldenParameter("lambda") { $0.embeddingWeight = $1 },
                 GoldenParameter("alpha") { $0.centerAlpha = $1 }]
    ) { s, classes, d, weight in
        CenterLoss(classes: classes, dimension: d, lambda: weight, alpha: s.centerAlpha)
    }
}
