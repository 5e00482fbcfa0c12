import Settings
import Tensor

/// `--metric-loss`: a loss on the features `h` added to the classification loss.
public enum MetricLossKind: String, Codable, CaseIterable, Sendable, OptionEnum {
    case none, contrastive, triplet, npairs, quadruplet, center
}

extension Options {
    public var metricLoss: Option<MetricLossKind> { Option("metric-loss", MetricLossKind.none, "Embedding loss on the features h over the global batch, added to the classification loss: L = loss + lambda * metric(h).") }
    public var metricWeight: Option<Double?> { Option("metric-weight", nil, "lambda, the embedding loss's weight.", defaultText: "0.01 for center, 1 otherwise") }
    public var tripletMargin: Option<Double> { Option("triplet-margin", 0.05, "Triplet margin.") }
    public var posMargin: Option<Double> { Option("pos-margin", 0.0, "Contrastive loss: positive pairs count beyond this distance.") }
    public var negMargin: Option<Double> { Option("neg-margin", 1.0, "Contrastive loss: negative pairs count within this distance.") }
    public var quadrupletMargin1: Option<Double> { Option("quadruplet-margin1", 1.0, "Quadruplet loss: margin of the triplet term.") }
    public var quadrupletMargin2: Option<Double> { Option("quadruplet-margin2", 0.5, "Quadruplet loss: margin of the term over a fourth sample of a third class.") }
    public var centerAlpha: Option<Double> { Option("center-alpha", 0.5, "Center loss: the centres' step size alpha.") }
}

extension MetricLossKind {
    /// The embedding loss `settings` describe, nil for none.
    public static func term(_ settings: Settings, classes: Int, featureDimension d: Int) -> LossTerm? {
        let kind = settings.metricLoss
        let lambda = settings.metricWeight ?? (kind == .center ? 0.01 : 1)
        switch kind {
        case .none: return nil
        case .center: return CenterLoss(classes: classes, dimension: d, lambda: lambda, alpha: settings.centerAlpha)
        case .contrastive: return EmbeddingLoss(.contrastive(posMargin: settings.posMargin, negMargin: settings.negMargin), dimension: d, weight: lambda)
        case .triplet: return EmbeddingLoss(.triplet(margin: settings.tripletMargin), dimension: d, weight: lambda)
        case .npairs: return EmbeddingLoss(.npairs, dimension: d, weight: lambda)
        case .quadruplet:
            return EmbeddingLoss(.quadruplet(margin1: settings.quadrupletMargin1, margin2: settings.quadrupletMargin2), dimension: d, weight: lambda)
        }
    }
}

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
