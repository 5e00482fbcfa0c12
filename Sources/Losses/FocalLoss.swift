import Foundation
import Settings
import Tensor

extension Options {
    public var focalGamma: Option<Double> { Option("focal-gamma", 1.0, "Focal gamma (focal, ib-focal).",
                                                   check: .atLeast(0)) }
    public var focalScale: Option<Double> { Option("focal-scale", 1.0, "Focal scale (focal).", check: .positive) }
}

/// Focal loss (Lin et al. 2017) in the LDAM-DRW convention: `scale * (1 - q)^gamma * CE_i` with
/// `q = exp(-CE_i)` and `CE_i` class-weighted, a plain mean over the batch.
public final class FocalLoss: LossTerm {
    public let classes: Int
    public let gamma: Double
    public let scale: Double
    let softmax = SoftmaxRows()

    public init(classes: Int, gamma: Double, scale: Double) {
        self.classes = classes
        self.gamma = gamma
        self.scale = scale
    }

    public var needs: LossNeeds { LossNeeds() }

    public func accumulate(_ batch: LossBatch, scoresGradient: Tensor, featureGradient: Tensor) -> Double {
        guard batch.count > 0 else { return 0 }
        let k = classes, inv = 1 / batch.normalizer
        softmax.compute(batch.scores, classes: k)
        var total = 0.0
        for i in 0..<batch.count {
            let y = Int(batch.targets[i]), w = batch.weights?[y] ?? 1
            let (f, df) = Self.focal(softmax.crossEntropy(i, logits: batch.scores, target: y, weight: w, classes: k),
                                     gamma: gamma)
            total += f
            softmax.addCrossEntropyGradient(i, target: y, factor: (scale * df) * (w * inv), into: scoresGradient.data,
                                            classes: k)
        }
        return total * (scale * inv)
    }

    /// `F = (1 - q)^gamma * ce` with `q = exp(-ce)`, and `dF/dce`.
    @inline(__always)
    static func focal(_ ce: Double, gamma: Double) -> (Double, Double) {
        let oneMinusQ = -Foundation.expm1(-ce)
        let q = Foundation.exp(-ce)
        if gamma == 0 { return (ce, 1) }
        let factor = Foundation.pow(oneMinusQ, gamma)
        let derivative = oneMinusQ > 0 ? gamma * Foundation.pow(oneMinusQ, gamma - 1) * q * ce : 0
        return (factor * ce, factor + derivative)
    }
}

extension LossSpec {
    /// `--loss focal`: focal loss (Lin et al. 2017) in the LDAM-DRW convention, IB class weights by default.
    public static let focal = LossSpec(
        options: { [Options().focalGamma, Options().focalScale] }, defaultWeighting: .ib,
        golden: [GoldenParameter("gamma") { $0.focalGamma = $1 }, GoldenParameter("scale") { $0.focalScale = $1 }]
    ) { settings, classes, _ in
        FocalLoss(classes: classes, gamma: settings.focalGamma, scale: settings.focalScale)
    }
}
