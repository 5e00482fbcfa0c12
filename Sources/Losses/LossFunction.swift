import Foundation
import Tensor

/// The losses of docs/losses.md with their gradients, on a batch of logits (and features).
///
/// `compute` returns the loss and fills `logitsGradient` (B, K) and, for the IB
/// losses, `featureGradient` (B, D). Means are taken over `normalizer`: the
/// batch's own denominator in one process (`localNormalizer`), the global one
/// (summed over ranks) in data-parallel training, so that the ranks' gradients
/// add up to the gradient of the global batch. Arithmetic is in double precision;
/// buffers are kept between calls.
public final class LossFunction {
    /// The losses this type computes (each `--loss` of the softmax family names one).
    public enum Variant: String, Codable, Sendable, CaseIterable {
        case ce, focal, ib
        case ibFocal = "ib-focal"
        case crl

        /// Whether the loss reads the penultimate features `h` and returns `dL/dh` (the IB losses).
        public var readsFeatures: Bool {
            switch self {
            case .ib, .ibFocal: true
            case .ce, .focal, .crl: false
            }
        }

        /// Whether the mean is PyTorch's weighted mean over `sum_i w[y_i]` (ce, CRL's CE part).
        public var weightedMean: Bool {
            switch self {
            case .ce, .crl: true
            case .focal, .ib, .ibFocal: false
            }
        }
    }

    public let config: LossConfig
    public let classes: Int
    public let featureDimension: Int
    /// dL/dlogits, (B, K)
    public let logitsGradient = Tensor(shape: [1, 1])
    /// dL/dh, (B, D); zero for losses that do not use the features
    public let featureGradient = Tensor(shape: [1, 1])
    /// Softmax of the last logits, (B, K), float: CRL's scores (gathered for global mining).
    public let probabilities = Tensor(shape: [1, 1])
    private var p = UnsafeMutablePointer<Double>.allocate(capacity: 1)
    /// Log-sum-exp of each row of the last logits, (B): cross-entropy is `lse - z[y]`.
    private var lse = UnsafeMutablePointer<Double>.allocate(capacity: 1)
    private var lseCapacity = 1
    private var scoreGradient = UnsafeMutablePointer<Double>.allocate(capacity: 1)
    private var scratchCapacity = 1
    private var miningCapacity = 1
    private let rectification: ClassRectification

    public init(_ config: LossConfig, classes: Int, featureDimension: Int) {
        self.config = config
        self.classes = classes
        self.featureDimension = featureDimension
        rectification = ClassRectification(classes: classes, kappa: config.crlKappa, margin: config.crlMargin, rho: config.crlRho)
    }

    deinit {
        p.deallocate()
        lse.deallocate()
        scoreGradient.deallocate()
    }

    /// The denominator of the loss's mean over this batch: `sum_i w[y_i]` for `ce` and CRL's CE
    /// part (PyTorch's weighted mean), the batch size for the others.
    public func localNormalizer(kind: Variant, targets: UnsafePointer<Int32>, batch: Int, weights: [Double]?) -> Double {
        guard kind.weightedMean, let weights else { return Double(batch) }
        var s = 0.0
        for i in 0..<batch { s += weights[Int(targets[i])] }
        return s
    }

    /// Softmax of `logits` (B, K) into `probabilities` (float) and the double scratch.
    public func computeProbabilities(_ logits: Tensor) {
        let b = logits.shape[0], k = classes
        precondition(logits.count == b * k, "logits \(logits.shape) for \(k) classes")
        ensureScratch(b * k)
        if b > lseCapacity {
            lse.deallocate()
            lse = .allocate(capacity: b)
            lseCapacity = b
        }
        probabilities.ensureShape(b, k)
        Softmax.rows(logits.data, rows: b, columns: k, into: p, logSumExp: lse)
        for j in 0..<(b * k) { probabilities.data[j] = Float(p[j]) }
    }

    /// The loss of one batch and its gradients.
    ///
    /// - kind: the loss to apply (the trainer passes `ce` in the IB losses' first phase)
    /// - logits: (B, K); targets: (B); features: (B, D) for the IB losses
    /// - weights: per-class weights (K) or nil
    /// - omega: CRL's imbalance measure from the global counts
    /// - normalizer: the mean's denominator (see `localNormalizer`), summed over ranks in data-parallel runs
    /// - share: this batch's share of the global batch (CRL's locally mined term)
    /// - mining: the gathered global batch (softmax rows) for CRL's global mining, nil to mine this batch
    /// - Returns: this batch's contribution to the loss (the whole loss in one process)
    public func compute(kind: Variant? = nil, logits: Tensor, targets: UnsafePointer<Int32>, features: Tensor?,
                        weights: [Double]?, omega: Double = 0, normalizer: Double, share: Double = 1,
                        mining: GlobalBatch? = nil) -> Double {
        let kind = kind ?? config.variant
        let b = logits.shape[0], k = classes
        computeProbabilities(logits)
        logitsGradient.ensureShape(b, k)
        let dz = logitsGradient.data
        let inv = 1 / normalizer
        var total = 0.0

        switch kind {
        case .ce, .focal, .crl:
            let gamma = config.focalGamma
            let ceScale = kind == .crl ? 1 - config.crlEta * omega : 1
            for i in 0..<b {
                let y = Int(targets[i])
                let w = weights?[y] ?? 1
                let pi = p + i * k
                let ce = w * (lse[i] - Double(logits.data[i * k + y]))
                var factor: Double  // dL_i / dCE_i
                if kind == .focal {
                    let (f, df) = focal(ce, gamma: gamma)
                    total += f
                    factor = config.focalScale * df
                } else {
                    total += ce
                    factor = ceScale
                }
                factor *= w * inv
                for j in 0..<k { dz[i * k + j] = Float(factor * (pi[j] - (j == y ? 1 : 0))) }
            }
            total *= (kind == .focal ? config.focalScale : ceScale) * inv
            if kind == .crl {
                total += rectificationTerm(batch: b, targets: targets, alpha: config.crlEta * omega, share: share, mining: mining)
            }
            if let features, features.count > 0 { featureGradient.ensureShape(b, features.count / b); featureGradient.fill(0) }

        case .ib, .ibFocal:
            guard let features, features.count > 0 else { preconditionFailure("\(kind.rawValue) needs the features h") }
            let d = features.count / b
            featureGradient.ensureShape(b, d)
            let alpha = config.ibAlpha
            for i in 0..<b {
                let y = Int(targets[i])
                let w = weights?[y] ?? 1
                let pi = p + i * k
                let ce = w * (lse[i] - Double(logits.data[i * k + y]))
                let (x, dx) = kind == .ibFocal ? focal(ce, gamma: config.focalGamma) : (ce, 1.0)
                // g = sum_k |p_k - onehot_k| and its sign pattern s_k (sign(0) = 0, as autograd).
                var g = 0.0, sp = 0.0
                for j in 0..<k {
                    let diff = pi[j] - (j == y ? 1 : 0)
                    g += abs(diff)
                    sp += sign(diff) * pi[j]
                }
                let h = features.data + i * d
                let f = Self.absoluteSum(h, count: d)
                let ib = alpha / (g * f + Self.ibEpsilon)
                total += x * ib
                let dIB = -ib * ib / alpha  // d ib / d(g f)
                let cePart = ib * dx * w * inv
                let gPart = x * dIB * f * inv
                for j in 0..<k {
                    let diff = pi[j] - (j == y ? 1 : 0)
                    let dg = sign(diff) * pi[j] - pi[j] * sp  // dg/dz_j
                    dz[i * k + j] = Float(cePart * diff + gPart * dg)
                }
                // dL/dh_j = hPart * sign(h_j): +-Float(hPart) exactly, or 0.
                let hPart = Float(x * dIB * g * inv)
                let dh = featureGradient.data + i * d
                for j in 0..<d { dh[j] = h[j] > 0 ? hPart : (h[j] < 0 ? -hPart : 0) }
            }
            total *= inv
        }
        return total
    }

    /// IB's fixed epsilon in `alpha / (g f + epsilon)`.
    public static let ibEpsilon = 0.001

    // MARK: - Pieces

    /// `F = (1 - q)^gamma * ce` with `q = exp(-ce)`, and `dF/dce`.
    @inline(__always)
    private func focal(_ ce: Double, gamma: Double) -> (Double, Double) {
        let oneMinusQ = -Foundation.expm1(-ce)
        let q = Foundation.exp(-ce)
        if gamma == 0 { return (ce, 1) }
        let factor = Foundation.pow(oneMinusQ, gamma)
        let derivative = oneMinusQ > 0 ? gamma * Foundation.pow(oneMinusQ, gamma - 1) * q * ce : 0
        return (factor * ce, factor + derivative)
    }

    @inline(__always)
    private func sign(_ x: Double) -> Double { x > 0 ? 1 : (x < 0 ? -1 : 0) }

    /// `sum_j |h_j|` in double precision, in four independent sums (one chain of dependent
    /// additions made this loop most of the IB loss's time).
    @inline(__always)
    static func absoluteSum(_ h: UnsafePointer<Float>, count d: Int) -> Double {
        var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
        var j = 0
        while j + 4 <= d {
            s0 += Double(abs(h[j]))
            s1 += Double(abs(h[j + 1]))
            s2 += Double(abs(h[j + 2]))
            s3 += Double(abs(h[j + 3]))
            j += 4
        }
        while j < d { s0 += Double(abs(h[j])); j += 1 }
        return (s0 + s1) + (s2 + s3)
    }

    /// CRL's `alpha * L_crl`: added to `logitsGradient` through the softmax; returns its value.
    private func rectificationTerm(batch b: Int, targets: UnsafePointer<Int32>, alpha: Double, share: Double,
                                   mining: GlobalBatch?) -> Double {
        let k = classes
        let m = mining?.count ?? b
        ensureMining(m * k)
        let scale: Double, value: Double
        if let mining {
            scale = alpha
            let l = rectification.lossAndGradient(scores: mining.rows, labels: mining.labels, count: mining.count,
                                                  scale: scale, scoreGradient: scoreGradient)
            value = alpha * l / Double(mining.ranks)
        } else {
            scale = alpha * share
            let l = rectification.lossAndGradient(scores: probabilities.data, labels: targets, count: b,
                                                  scale: scale, scoreGradient: scoreGradient)
            value = scale * l
        }
        // dz_ij += sum_c dL/dp_ic p_ic (delta_cj - p_ij), only for this batch's rows.
        let dz = logitsGradient.data
        for i in 0..<b {
            let ds = scoreGradient + (mining.map { $0.localRows[i] } ?? i) * k, pi = p + i * k
            var dot = 0.0
            for c in 0..<k { dot += ds[c] * pi[c] }
            if dot == 0, (0..<k).allSatisfy({ ds[$0] == 0 }) { continue }
            for j in 0..<k { dz[i * k + j] += Float(pi[j] * (ds[j] - dot)) }
        }
        return value
    }

    private func ensureScratch(_ n: Int) {
        if n > scratchCapacity {
            p.deallocate()
            p = .allocate(capacity: n)
            scratchCapacity = n
        }
    }

    private func ensureMining(_ n: Int) {
        if n > miningCapacity {
            scoreGradient.deallocate()
            scoreGradient = .allocate(capacity: n)
            miningCapacity = n
        }
    }
}

/// The classification losses of the softmax family as a loss term: `ce`, `focal`, `ib`,
/// `ib-focal` and `crl` (global mining gathers the softmax rows of the global batch).
extension LossFunction: LossTerm {
    public var needs: LossNeeds {
        let kind = config.variant
        return LossNeeds(features: kind.readsFeatures, gatherWidth: kind == .crl && config.crlGlobalMining ? classes : 0,
                         weightedMean: kind.weightedMean)
    }

    public func rowsToGather(_ batch: LossBatch) -> UnsafePointer<Float> {
        computeProbabilities(batch.scores)
        return UnsafePointer(probabilities.data)
    }

    public func accumulate(_ batch: LossBatch, scoresGradient: Tensor, featureGradient dh: Tensor) -> Double {
        guard batch.count > 0 else { return 0 }  // no sample here (CRL's global term is counted where there are)
        let value = compute(logits: batch.scores, targets: batch.targets, features: batch.features, weights: batch.weights,
                            omega: batch.omega, normalizer: batch.normalizer, share: batch.share, mining: batch.global)
        BLAS.axpy(count: scoresGradient.count, alpha: 1, x: logitsGradient.data, y: scoresGradient.data)
        if config.variant.readsFeatures { BLAS.axpy(count: dh.count, alpha: 1, x: featureGradient.data, y: dh.data) }
        return value
    }
}
