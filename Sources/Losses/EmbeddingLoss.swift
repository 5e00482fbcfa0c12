import Tensor

/// An embedding loss's math (pytorch-metric-learning 2.9's definitions; the quadruplet loss as
/// docs/losses.md pins it): its value on a batch's normalised rows (`EmbeddingGeometry.e`), its
/// gradient added to `geometry.dE`. Each loss is in its own file beside its spec.
public protocol EmbeddingObjective: AnyObject {
    func evaluate(_ geometry: EmbeddingGeometry, labels: UnsafePointer<Int32>, count n: Int, dimension d: Int) -> Double
    /// Triplets the miner kept in the last `evaluate` (the losses that mine), or nil.
    var minedTriplets: Int? { get }
}

extension EmbeddingObjective {
    public var minedTriplets: Int? { nil }
}

/// An embedding loss over the global batch (`--metric-loss`): the ranks gather every sample's
/// features, each computes the loss of the whole batch and keeps the gradient rows of its own
/// samples, so N ranks train as one process. Checked against `Tests/golden/metric_losses.json`.
public final class EmbeddingLoss: LossTerm {
    public let objective: EmbeddingObjective
    public let geometry = EmbeddingGeometry()
    public let dimension: Int
    public let weight: Double

    public init(_ objective: EmbeddingObjective, dimension: Int, weight: Double) {
        self.objective = objective
        self.dimension = dimension
        self.weight = weight
    }

    /// The loss of a batch of `n` rows; its gradient is left in `geometry.gradient` (N, D).
    /// - rows: (N, D) row-major; labels: (N)
    public func evaluate(rows x: UnsafePointer<Float>, labels: UnsafePointer<Int32>, count n: Int,
                         dimension d: Int) -> Double {
        geometry.begin(rows: x, count: n, dimension: d)
        let loss = objective.evaluate(geometry, labels: labels, count: n, dimension: d)
        geometry.finish(rows: n, columns: d)
        return loss
    }

    public var needs: LossNeeds { LossNeeds(features: true, gatherWidth: dimension) }

    public func rowsToGather(_ batch: LossBatch) -> UnsafePointer<Float> { UnsafePointer(batch.features.data) }

    public func accumulate(_ batch: LossBatch, scoresGradient: Tensor, featureGradient: Tensor) -> Double {
        guard let global = batch.global else { preconditionFailure("EmbeddingLoss needs the gathered batch") }
        let d = dimension
        let loss = evaluate(rows: global.rows, labels: global.labels, count: global.count, dimension: d)
        let g = geometry.gradient.p
        for i in 0..<batch.count {
            let row = global.localRows[i]
            let dh = featureGradient.data + i * d
            for j in 0..<d { dh[j] += Float(weight * g[row * d + j]) }
        }
        return weight * loss / Double(global.ranks)
    }
}
