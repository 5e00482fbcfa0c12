import Data
import Settings
import Losses
import NN

/// How gradient buckets are all-reduced.
public enum BucketMode: String, Codable, CaseIterable, Sendable, OptionEnum {
    /// Blocking when every rank runs on one host, overlapping otherwise.
    case auto
    /// Non-blocking all-reduces started as buckets are ready and polled between layers.
    case overlap
    /// A blocking all-reduce of each bucket as soon as it is ready.
    case blocking
}

/// `--class-weights`: `auto` resolves to `ib` for focal, ib and ib-focal, `none` for ce and crl.
public enum ClassWeightSetting: String, Codable, CaseIterable, Sendable, OptionEnum {
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
/// checkpoint stores, keyed by option name, so that a `--config` file and `config.json` read
/// the same. Each option is defined once (`Options.lr`: name, default, help), next to the
/// code that uses it; `TrainOptions.groups` lists them for the command line and `--help`.
/// Read and write them by their Swift names (`config.lr`).
@dynamicMemberLookup
public struct TrainConfig: Codable, Sendable, Equatable {
    public var settings = Settings()

    public init() {}

    public subscript<Value>(dynamicMember path: KeyPath<Options, Option<Value>>) -> Value {
        get { settings[dynamicMember: path] }
        set { settings[dynamicMember: path] = newValue }
    }

    /// The train command's options, in `--help` order.
    public static let parser = OptionParser(TrainOptions.groups)

    /// Every option, with nulls for unset optional ones, so that config.json lists them all.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: OptionKey.self)
        for option in Self.parser.options { try option.encode(settings, into: &c) }
    }

    /// Options by name; a missing one has its default (a checkpoint of an older version).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: OptionKey.self)
        for key in c.allKeys {
            guard let option = Self.parser.option(named: key.stringValue) else {
                throw OptionError("unknown option '\(OptionParser.clip(key.stringValue))'")
            }
            try option.decode(from: c, into: &settings)
        }
    }

    public static func == (a: TrainConfig, b: TrainConfig) -> Bool {
        Self.parser.options.allSatisfy { $0.text(in: a.settings) == $0.text(in: b.settings) }
    }

    /// The default of `--stall-timeout`: ten minutes, far beyond any step of these models.
    public static let defaultStallTimeout = 600.0

    // MARK: - Derived settings

    /// The IB start epoch with its default (epochs / 2) applied; nil for losses without an IB phase.
    public var resolvedIBStart: Int? { self.loss.trainsInTwoPhases ? (self.ibStartEpoch ?? self.epochs / 2) : nil }

    public var dataConfig: DataConfig {
        DataConfig(directory: self.data, imbalanceRatio: self.imbalanceRatio, imbalanceProfile: self.imbalanceProfile,
                   classes: self.classes, augment: self.augment, dropLast: self.dropLast)
    }

    /// The model's last layer: the cosine head for the margin losses.
    public var head: Head {
        guard self.loss.usesCosineHead else { return .linear }
        return .cosine(subCenters: self.loss == .subcenterArcface ? self.subCenters : 1)
    }

    public var optimizerConfig: OptimizerConfig {
        OptimizerConfig(kind: self.optimizer, momentum: Float(self.momentum), nesterov: self.nesterov, weightDecay: Float(self.weightDecay))
    }

    public var lrSchedule: Schedule {
        Schedule(kind: self.schedule, baseLR: Float(self.lr), epochs: self.epochs, warmupEpochs: self.warmupEpochs,
                 ibStartEpoch: resolvedIBStart, milestones: self.lrMilestones)
    }

    /// Fills in defaults that depend on other settings (`ib-start-epoch`).
    public mutating func resolve() {
        if self.loss.trainsInTwoPhases, self.ibStartEpoch == nil { self.ibStartEpoch = self.epochs / 2 }
        if self.lrMilestones?.isEmpty == true { self.lrMilestones = nil }
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
        check(self.epochs >= 1 && self.epochs <= 1_000_000, "--epochs must be in 1...1000000, got \(self.epochs)")
        range("batch-size", self.batchSize, 1, Self.maxBatchSize)
        check(self.imbalanceRatio >= 1 && self.imbalanceRatio.isFinite, "--imbalance-ratio must be a finite number of at least 1, got \(self.imbalanceRatio)")
        check(self.lr > 0 && self.lr.isFinite, "--lr must be a positive finite number, got \(self.lr)")
        check(self.momentum >= 0 && self.momentum < 1, "--momentum must be in [0, 1), got \(self.momentum)")
        check(self.weightDecay >= 0 && self.weightDecay.isFinite, "--weight-decay must be a finite number of at least 0, got \(self.weightDecay)")
        range("warmup-epochs", self.warmupEpochs, 0, 1_000_000)
        if let s = self.ibStartEpoch { range("ib-start-epoch", s, 0, 1_000_000) }
        if self.dropLast, self.padToWorldSize { out.append("--drop-last and --pad-to-world-size exclude each other: an epoch ends one way") }
        if let problem = self.drwEpoch?.problem { out.append("--drw-epoch \(problem)") }
        check(self.focalGamma >= 0 && self.focalGamma.isFinite, "--focal-gamma must be a finite number of at least 0, got \(self.focalGamma)")
        check(self.focalScale > 0 && self.focalScale.isFinite, "--focal-scale must be a positive finite number, got \(self.focalScale)")
        check(self.ibAlpha > 0 && self.ibAlpha.isFinite, "--ib-alpha must be a positive finite number, got \(self.ibAlpha)")
        check(self.crlEta >= 0 && self.crlEta.isFinite, "--crl-eta must be a finite number of at least 0, got \(self.crlEta)")
        check(self.crlMargin >= 0 && self.crlMargin.isFinite, "--crl-margin must be a finite number of at least 0, got \(self.crlMargin)")
        range("crl-kappa", self.crlKappa, 1, Self.maxBatchSize)
        check(self.crlRho > 0 && self.crlRho <= 1, "--crl-rho must be in (0, 1], got \(self.crlRho)")
        if let m = self.margin {
            switch self.loss {
            case .sphereface: check(m >= 1 && m <= 16 && m == m.rounded(), "--margin of sphereface is an integer multiplier in 1...16, got \(m)")
            case .cosface, .ldam: check(m >= 0 && m <= 2, "--margin of \(self.loss.rawValue) must be in [0, 2], got \(m)")
            default: check(m >= 0 && m < 180, "--margin must be in [0, 180) degrees, got \(m)")
            }
        }
        if let v = self.scale { check(v > 0 && v <= 10_000, "--scale must be in (0, 10000], got \(v)") }
        range("sub-centers", self.subCenters, 1, 1000)
        check(self.laTau >= 0 && self.laTau <= 10, "--la-tau must be in [0, 10], got \(self.laTau)")
        check(self.vsGamma >= 0 && self.vsGamma <= 10, "--vs-gamma must be in [0, 10], got \(self.vsGamma)")
        check(self.vsTau >= 0 && self.vsTau <= 10, "--vs-tau must be in [0, 10], got \(self.vsTau)")
        check(self.posthocTau >= 0 && self.posthocTau <= 10, "--posthoc-tau must be in [0, 10] (0: off), got \(self.posthocTau)")
        if self.loss == .balancedSoftmax, ![.auto, .none].contains(self.classWeights) {
            out.append("--loss balanced-softmax takes no class weights (its log-prior adjustment takes their place), got --class-weights \(self.classWeights.rawValue)")
        }
        if let w = self.metricWeight { check(w >= 0 && w.isFinite, "--metric-weight must be a finite number of at least 0, got \(w)") }
        for (name, v) in [("triplet-margin", self.tripletMargin), ("pos-margin", self.posMargin), ("neg-margin", self.negMargin),
                          ("quadruplet-margin1", self.quadrupletMargin1), ("quadruplet-margin2", self.quadrupletMargin2)] {
            check(v.isFinite && abs(v) <= 100, "--\(name) must be a finite number in [-100, 100], got \(v)")
        }
        check(self.centerAlpha >= 0 && self.centerAlpha <= 1, "--center-alpha must be in [0, 1], got \(self.centerAlpha)")
        check(self.cbBeta > 0 && self.cbBeta < 1, "--cb-beta must be in (0, 1), got \(self.cbBeta)")
        check(self.seed >= 0, "--seed must not be negative, got \(self.seed)")
        if let m = self.maxSteps { check(m >= 0, "--max-steps must be at least 0, got \(m)") }
        if let t = self.threads { range("threads", t, 1, 4096) }
        if let c = self.classes { range("classes", c, 2, Self.maxClasses) }
        check(self.bucketFirstMib > 0 && self.bucketFirstMib <= 4096 && self.bucketMib > 0 && self.bucketMib <= 4096,
              "--bucket-first-mib and --bucket-mib must be in (0, 4096], got \(self.bucketFirstMib) and \(self.bucketMib)")
        if let e = self.evalBatchSize { range("eval-batch-size", e, 1, Self.maxBatchSize) }
        if let t = self.stallTimeout { check(t >= 0 && t <= 1e7, "--stall-timeout must be in 0...10000000 seconds (0: never), got \(t)") }
        check(self.checkpointEvery >= 0, "--checkpoint-every must not be negative, got \(self.checkpointEvery)")
        if let s = self.checkpointEverySteps { check(s >= 1, "--checkpoint-every-steps must be at least 1, got \(s)") }
        range("keep-checkpoints", self.keepCheckpoints, 1, 1_000_000)
        range("checkpoint-level", self.checkpointLevel, 1, 19)
        if let milestones = self.lrMilestones { check(milestones.allSatisfy { $0 >= 0 }, "--lr-milestones must not be negative, got \(milestones)") }
        return out
    }
}
