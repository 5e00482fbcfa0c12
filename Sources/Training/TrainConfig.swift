import Data
import Losses
import NN

/// Where CRL chooses its minority classes and hard samples.
public enum CRLMining: String, Codable, CaseIterable, Sendable {
    /// Each rank mines its own local batch.
    case local
    /// Scores and labels are all-gathered and mined over the global batch (N ranks = one process).
    case global
}

/// How gradient buckets are all-reduced.
public enum BucketMode: String, Codable, CaseIterable, Sendable {
    /// Blocking when every rank runs on one host, overlapping otherwise.
    case auto
    /// Non-blocking all-reduces started as buckets are ready and polled between layers.
    case overlap
    /// A blocking all-reduce of each bucket as soon as it is ready.
    case blocking
}

/// `--class-weights`: `auto` resolves to `ib` for focal, ib and ib-focal, `none` for ce and crl.
public enum ClassWeightSetting: String, Codable, CaseIterable, Sendable {
    case auto, none, ib, cb

    /// The weighting for `loss` once `auto` is resolved.
    public func resolved(for loss: LossKind) -> ClassWeighting {
        switch self {
        case .none: return .none
        case .ib: return .ib
        case .cb: return .cb
        case .auto: return [.focal, .ib, .ibFocal].contains(loss) ? .ib : .none
        }
    }
}

/// The resolved configuration of a training run: what `config.json` holds and every
/// checkpoint stores. Keys are the command-line option names, so a `--config` file
/// and `config.json` read the same.
public struct TrainConfig: Codable, Sendable, Equatable {
    // MARK: Data
    public var data = DatasetLayout.defaultDirectory
    public var imbalanceRatio = 100.0
    public var imbalanceProfile = ImbalanceProfile.exp
    public var classes: Int?
    public var augment = false
    public var dropLast = false
    // MARK: Model and loss
    public var model = Architecture.mlp
    public var loss = LossKind.ib
    public var classWeights = ClassWeightSetting.auto
    public var cbBeta = 0.9999
    /// Deferred re-weighting: class weights off before this epoch (nil: always on).
    public var drwEpoch: Int?
    public var focalGamma = 1.0
    public var focalScale = 1.0
    public var ibAlpha = 1000.0
    /// Epoch the IB loss starts (plain CE before); resolved to epochs / 2.
    public var ibStartEpoch: Int?
    public var crlEta = 0.01
    public var crlKappa = 25
    public var crlMargin = 0.5
    public var crlRho = 0.5
    public var crlMining = CRLMining.local
    // MARK: Optimisation
    public var epochs = 30
    public var batchSize = 128
    public var lr = 0.1
    public var momentum = 0.9
    public var nesterov = false
    public var weightDecay = 2e-4
    public var warmupEpochs = 5
    public var schedule = ScheduleKind.ibPaper
    public var lrMilestones: [Int]?
    public var optimizer = OptimizerKind.sgd
    public var seed = 0
    public var maxSteps: Int?
    public var syncBatchnorm = false
    // MARK: Running
    public var threads: Int?
    public var bucketFirstMib = 1.0
    public var bucketMib = 25.0
    /// `--bucket-mode`: overlap backward with non-blocking all-reduces, or block per bucket.
    public var bucketMode = BucketMode.auto
    /// Seconds without a completed step (or evaluation batch) after which every rank ends the
    /// job; nil for the default, 0 for never.
    public var stallTimeout: Double?
    /// The default of `--stall-timeout`: ten minutes, far beyond any step of these models.
    public static let defaultStallTimeout = 600.0
    /// Test samples per rank and forward pass; nil: the rank's training batch, so that
    /// evaluation fits the buffers training sized (a larger value grows them for good).
    public var evalBatchSize: Int?
    public var runDir = ""
    public var checkpointEvery = 1
    public var checkpointEverySteps: Int?
    public var keepCheckpoints = 3
    public var checkpointLevel = 3

    public init() {}

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case data
        case imbalanceRatio = "imbalance-ratio"
        case imbalanceProfile = "imbalance-profile"
        case classes, augment
        case dropLast = "drop-last"
        case model, loss
        case classWeights = "class-weights"
        case cbBeta = "cb-beta"
        case drwEpoch = "drw-epoch"
        case focalGamma = "focal-gamma"
        case focalScale = "focal-scale"
        case ibAlpha = "ib-alpha"
        case ibStartEpoch = "ib-start-epoch"
        case crlEta = "crl-eta"
        case crlKappa = "crl-kappa"
        case crlMargin = "crl-margin"
        case crlRho = "crl-rho"
        case crlMining = "crl-mining"
        case epochs
        case batchSize = "batch-size"
        case lr, momentum, nesterov
        case weightDecay = "weight-decay"
        case warmupEpochs = "warmup-epochs"
        case schedule
        case lrMilestones = "lr-milestones"
        case optimizer, seed
        case maxSteps = "max-steps"
        case syncBatchnorm = "sync-batchnorm"
        case threads
        case bucketFirstMib = "bucket-first-mib"
        case bucketMib = "bucket-mib"
        case bucketMode = "bucket-mode"
        case stallTimeout = "stall-timeout"
        case evalBatchSize = "eval-batch-size"
        case runDir = "run-dir"
        case checkpointEvery = "checkpoint-every"
        case checkpointEverySteps = "checkpoint-every-steps"
        case keepCheckpoints = "keep-checkpoints"
        case checkpointLevel = "checkpoint-level"
    }

    /// Keeps optional keys as explicit nulls so that config.json lists every option.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(data, forKey: .data)
        try c.encode(imbalanceRatio, forKey: .imbalanceRatio)
        try c.encode(imbalanceProfile, forKey: .imbalanceProfile)
        try c.encode(classes, forKey: .classes)
        try c.encode(augment, forKey: .augment)
        try c.encode(dropLast, forKey: .dropLast)
        try c.encode(model, forKey: .model)
        try c.encode(loss, forKey: .loss)
        try c.encode(classWeights, forKey: .classWeights)
        try c.encode(cbBeta, forKey: .cbBeta)
        try c.encode(drwEpoch, forKey: .drwEpoch)
        try c.encode(focalGamma, forKey: .focalGamma)
        try c.encode(focalScale, forKey: .focalScale)
        try c.encode(ibAlpha, forKey: .ibAlpha)
        try c.encode(ibStartEpoch, forKey: .ibStartEpoch)
        try c.encode(crlEta, forKey: .crlEta)
        try c.encode(crlKappa, forKey: .crlKappa)
        try c.encode(crlMargin, forKey: .crlMargin)
        try c.encode(crlRho, forKey: .crlRho)
        try c.encode(crlMining, forKey: .crlMining)
        try c.encode(epochs, forKey: .epochs)
        try c.encode(batchSize, forKey: .batchSize)
        try c.encode(lr, forKey: .lr)
        try c.encode(momentum, forKey: .momentum)
        try c.encode(nesterov, forKey: .nesterov)
        try c.encode(weightDecay, forKey: .weightDecay)
        try c.encode(warmupEpochs, forKey: .warmupEpochs)
        try c.encode(schedule, forKey: .schedule)
        try c.encode(lrMilestones, forKey: .lrMilestones)
        try c.encode(optimizer, forKey: .optimizer)
        try c.encode(seed, forKey: .seed)
        try c.encode(maxSteps, forKey: .maxSteps)
        try c.encode(syncBatchnorm, forKey: .syncBatchnorm)
        try c.encode(threads, forKey: .threads)
        try c.encode(bucketFirstMib, forKey: .bucketFirstMib)
        try c.encode(bucketMib, forKey: .bucketMib)
        try c.encode(bucketMode, forKey: .bucketMode)
        try c.encode(stallTimeout, forKey: .stallTimeout)
        try c.encode(evalBatchSize, forKey: .evalBatchSize)
        try c.encode(runDir, forKey: .runDir)
        try c.encode(checkpointEvery, forKey: .checkpointEvery)
        try c.encode(checkpointEverySteps, forKey: .checkpointEverySteps)
        try c.encode(keepCheckpoints, forKey: .keepCheckpoints)
        try c.encode(checkpointLevel, forKey: .checkpointLevel)
    }

    // MARK: - Derived settings

    /// The IB start epoch with its default (epochs / 2) applied; nil for losses without an IB phase.
    public var resolvedIBStart: Int? { loss.hasIBPhase ? (ibStartEpoch ?? epochs / 2) : nil }

    public var dataConfig: DataConfig {
        DataConfig(directory: data, imbalanceRatio: imbalanceRatio, imbalanceProfile: imbalanceProfile,
                   classes: classes, augment: augment, dropLast: dropLast)
    }

    public var lossConfig: LossConfig {
        LossConfig(kind: loss, focalGamma: focalGamma, focalScale: focalScale, ibAlpha: ibAlpha,
                   crlEta: crlEta, crlKappa: crlKappa, crlMargin: crlMargin, crlRho: crlRho)
    }

    public var optimizerConfig: OptimizerConfig {
        OptimizerConfig(kind: optimizer, momentum: Float(momentum), nesterov: nesterov, weightDecay: Float(weightDecay))
    }

    public var lrSchedule: Schedule {
        Schedule(kind: schedule, baseLR: Float(lr), epochs: epochs, warmupEpochs: warmupEpochs,
                 ibStartEpoch: resolvedIBStart, milestones: lrMilestones)
    }

    /// Fills in defaults that depend on other settings (`ib-start-epoch`).
    public mutating func resolve() {
        if loss.hasIBPhase, ibStartEpoch == nil { ibStartEpoch = epochs / 2 }
    }

    /// Largest batch (training or evaluation): far beyond any real use, small enough that no
    /// batch buffer allocation can fail on size alone.
    public static let maxBatchSize = 1 << 20
    /// Largest class count (the data set's limit).
    public static let maxClasses = Dataset.maxClasses

    /// Range checks of every setting, and cross-field checks; returns the problems (empty when
    /// the configuration is valid). The one validation path for a configuration from the
    /// command line, a config file or a checkpoint: NaN and infinity fail every range.
    public func problems() -> [String] {
        var out: [String] = []
        func check(_ ok: Bool, _ message: @autoclosure () -> String) { if !ok { out.append(message()) } }
        func range<T: Comparable>(_ name: String, _ v: T, _ lo: T, _ hi: T) {
            check(v >= lo && v <= hi, "--\(name) must be in \(lo)...\(hi), got \(v)")
        }
        check(epochs >= 1 && epochs <= 1_000_000, "--epochs must be in 1...1000000, got \(epochs)")
        range("batch-size", batchSize, 1, Self.maxBatchSize)
        check(imbalanceRatio >= 1 && imbalanceRatio.isFinite, "--imbalance-ratio must be a finite number of at least 1, got \(imbalanceRatio)")
        check(lr > 0 && lr.isFinite, "--lr must be a positive finite number, got \(lr)")
        check(momentum >= 0 && momentum < 1, "--momentum must be in [0, 1), got \(momentum)")
        check(weightDecay >= 0 && weightDecay.isFinite, "--weight-decay must be a finite number of at least 0, got \(weightDecay)")
        range("warmup-epochs", warmupEpochs, 0, 1_000_000)
        if let s = ibStartEpoch { range("ib-start-epoch", s, 0, 1_000_000) }
        if let d = drwEpoch { range("drw-epoch", d, 0, 1_000_000) }
        check(focalGamma >= 0 && focalGamma.isFinite, "--focal-gamma must be a finite number of at least 0, got \(focalGamma)")
        check(focalScale > 0 && focalScale.isFinite, "--focal-scale must be a positive finite number, got \(focalScale)")
        check(ibAlpha > 0 && ibAlpha.isFinite, "--ib-alpha must be a positive finite number, got \(ibAlpha)")
        check(crlEta >= 0 && crlEta.isFinite, "--crl-eta must be a finite number of at least 0, got \(crlEta)")
        check(crlMargin >= 0 && crlMargin.isFinite, "--crl-margin must be a finite number of at least 0, got \(crlMargin)")
        range("crl-kappa", crlKappa, 1, Self.maxBatchSize)
        check(crlRho > 0 && crlRho <= 1, "--crl-rho must be in (0, 1], got \(crlRho)")
        check(cbBeta > 0 && cbBeta < 1, "--cb-beta must be in (0, 1), got \(cbBeta)")
        check(seed >= 0, "--seed must not be negative, got \(seed)")
        if let m = maxSteps { check(m >= 0, "--max-steps must be at least 0, got \(m)") }
        if let t = threads { range("threads", t, 1, 4096) }
        if let c = classes { range("classes", c, 2, Self.maxClasses) }
        check(bucketFirstMib > 0 && bucketFirstMib <= 4096 && bucketMib > 0 && bucketMib <= 4096,
              "--bucket-first-mib and --bucket-mib must be in (0, 4096], got \(bucketFirstMib) and \(bucketMib)")
        if let e = evalBatchSize { range("eval-batch-size", e, 1, Self.maxBatchSize) }
        if let t = stallTimeout { check(t >= 0 && t <= 1e7, "--stall-timeout must be in 0...10000000 seconds (0: never), got \(t)") }
        check(checkpointEvery >= 0, "--checkpoint-every must not be negative, got \(checkpointEvery)")
        if let s = checkpointEverySteps { check(s >= 1, "--checkpoint-every-steps must be at least 1, got \(s)") }
        range("keep-checkpoints", keepCheckpoints, 1, 1_000_000)
        range("checkpoint-level", checkpointLevel, 1, 19)
        if let milestones = lrMilestones { check(milestones.allSatisfy { $0 >= 0 }, "--lr-milestones must not be negative, got \(milestones)") }
        return out
    }
}
