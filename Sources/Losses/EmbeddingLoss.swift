import Tensor

/// Contrastive, triplet, N-pairs or quadruplet loss over the global batch: the ranks gather
/// every sample's features, each computes the loss of the whole batch (`MetricLosses`) and
/// keeps the gradient rows of its own samples, so N ranks train as one process.
public final class EmbeddingLoss: LossTerm {
    public let losses: MetricLosses
    public let dimension: Int
    public let weight: Double

    public init(_ kind: MetricLosses.Kind, dimension: Int, weight: Double) {
        losses = MetricLosses(kind)
        self.dimension = dimension
        self.weight = weight
    }

    public var needs: LossNeeds { LossNeeds(features: true, gatherWidth: dimension) }

    public func rowsToGather(_ batch: LossBatch) -> UnsafePointer<Float> { UnsafePointer(batch.features.data) }

    public func accumulate(_ batch: LossBatch, scoresGradient: Tensor, featureGradient: Tensor) -> Double {
        guard let global = batch.global else { preconditionFailure("EmbeddingLoss needs the gathered batch") }
        let d = dimension
        let loss = losses.evaluate(rows: global.rows, labels: global.labels, count: global.count, dimension: d)
        let g = losses.gradient.p
        for i in 0..<batch.count {
            let row = global.localRows[i]
            let dh = featureGradient.data + i * d
            for j in 0..<d { dh[j] += Float(weight * g[row * d + j]) }
        }
        return weight * loss / Double(global.ranks)
    }
}
