import Settings
import Tensor

/// Where CRL chooses its minority classes and hard samples.
public enum CRLMining: String, Codable, CaseIterable, Sendable, OptionEnum {
    /// Each rank mines its own local batch.
    case local
    /// Scores and labels are all-gathered and mined over the global batch (N ranks = one process).
    case global
}

extension Options {
    public var crlEta: Option<Double> { Option("crl-eta", 0.01,
                                               "CRL eta: the rectification term's weight is eta * Omega.",
                                               check: .atLeast(0)) }
    public var crlKappa: Option<Int> { Option("crl-kappa", 25,
                                              "CRL kappa: hard positives and negatives per minority class.",
                                              check: .range(1, 1 << 20)) }
    public var crlMargin: Option<Double> { Option("crl-margin", 0.5, "CRL triplet margin.", check: .atLeast(0)) }
    public var crlRho: Option<Double> { Option("crl-rho", 0.5,
                                               "CRL rho: minority classes cover at most this share of the batch.",
                                               check: OptionCheck { $0 > 0 && $0 <= 1
                                               ? nil : "must be in (0, 1], got \($0)" }) }
    public var crlMining: Option<CRLMining> { Option("crl-mining", CRLMining.local,
                                                     "CRL mining over each rank's batch (local) or the all-gathered " +
                                                     "global batch (global).") }
}

/// Class rectification loss (Dong et al. 2017/2019): `(1 - alpha) CE + alpha L_crl` with
/// `alpha = eta * Omega` (Omega from the global class counts), CE as `CrossEntropyLoss` (a weighted
/// mean) and `L_crl` the hard-sample triplets of the minority classes on the softmax scores
/// (`ClassRectification`), mined on this rank's batch or on the gathered global batch.
public final class CRLLoss: LossTerm {
    public let classes: Int
    public let eta: Double
    public let globalMining: Bool
    let rectification: ClassRectification
    let softmax = SoftmaxRows()
    /// dL_crl / d(scores) of the mined batch, (M, K).
    private var scoreGradient = UnsafeMutablePointer<Double>.allocate(capacity: 1)
    private var capacity = 1

    public init(classes: Int, eta: Double, kappa: Int, margin: Double, rho: Double, globalMining: Bool) {
        self.classes = classes
        self.eta = eta
        self.globalMining = globalMining
        rectification = ClassRectification(classes: classes, kappa: kappa, margin: margin, rho: rho)
    }

    deinit { scoreGradient.deallocate() }

    public var needs: LossNeeds { LossNeeds(gatherWidth: globalMining ? classes : 0, weightedMean: true) }

    /// The softmax rows, gathered over the global batch for global mining.
    public func rowsToGather(_ batch: LossBatch) -> UnsafePointer<Float> {
        softmax.compute(batch.scores, classes: classes)
        return UnsafePointer(softmax.probabilities.data)
    }

    public func accumulate(_ batch: LossBatch, scoresGradient: Tensor, featureGradient: Tensor) -> Double {
        guard batch.count > 0 else { return 0 }  // no sample here: the global term is counted where there are
        let k = classes, inv = 1 / batch.normalizer
        softmax.compute(batch.scores, classes: k)
        let alpha = eta * batch.omega, ceScale = 1 - alpha
        var total = 0.0
        for i in 0..<batch.count {
            let y = Int(batch.targets[i]), w = batch.weights?[y] ?? 1
            total += softmax.crossEntropy(i, logits: batch.scores, target: y, weight: w, classes: k)
            softmax.addCrossEntropyGradient(i, target: y, factor: ceScale * (w * inv), into: scoresGradient.data,
                                            classes: k)
        }
        return total * (ceScale * inv) + rectificationTerm(batch, alpha: alpha, into: scoresGradient.data)
    }

    /// `alpha * L_crl`, its gradient added to `dz` through the softmax, for this batch's rows.
    private func rectificationTerm(_ batch: LossBatch, alpha: Double, into dz: UnsafeMutablePointer<Float>) -> Double {
        let k = classes, b = batch.count
        let m = batch.global?.count ?? b
        if m * k > capacity {
            scoreGradient.deallocate()
            scoreGradient = .allocate(capacity: m * k)
            capacity = m * k
        }
        let value: Double
        if let global = batch.global {
            let l = rectification.lossAndGradient(scores: global.rows, labels: global.labels, count: global.count,
                                                  scale: alpha, scoreGradient: scoreGradient)
            value = alpha * l / Double(global.ranks)
        } else {
            let scale = alpha * batch.share
            let l = rectification.lossAndGradient(scores: softmax.probabilities.data, labels: batch.targets, count: b,
                                                  scale: scale, scoreGradient: scoreGradient)
            value = scale * l
        }
        // dz_ij += sum_c dL/dp_ic p_ic (delta_cj - p_ij), only for this batch's rows.
        for i in 0..<b {
            let ds = scoreGradient + (batch.global.map { $0.localRows[i] } ?? i) * k, pi = softmax.p + i * k
            var dot = 0.0
            for c in 0..<k { dot += ds[c] * pi[c] }
            if dot == 0, (0..<k).allSatisfy({ ds[$0] == 0 }) { continue }
            for j in 0..<k { dz[i * k + j] += Float(pi[j] * (ds[j] - dot)) }
        }
        return value
    }
}

extension LossSpec {
    /// `--loss crl`: class rectification loss (Dong et al. 2017/2019), hard-sample triplets of the
    /// minority classes (`ClassRectification`) beside cross-entropy.
    public static let crl = LossSpec(
        options: { [Options().crlEta, Options().crlKappa, Options().crlMargin, Options().crlRho, Options().crlMining] },
        golden: [GoldenParameter("eta") { $0.crlEta = $1 }, GoldenParameter("kappa") { $0.crlKappa = Int($1) },
                 GoldenParameter("margin") { $0.crlMargin = $1 }, GoldenParameter("rho") { $0.crlRho = $1 }]
    ) { s, classes, _ in
        CRLLoss(classes: classes, eta: s.crlEta, kappa: s.crlKappa, margin: s.crlMargin, rho: s.crlRho,
                globalMining: s.crlMining == .global)
    }
}
