import Foundation
import Data
import Distributed
import Settings
import Losses
import NN
import Tensor

extension GradientCompression: OptionEnum {}

/// How gradient buckets are all-reduced.
public enum BucketMode: String, Codable, CaseIterable, Sendable, OptionEnum {
    /// Blocking when every rank runs on one host, overlapping otherwise.
    case auto
    /// Non-blocking all-reduces started as buckets are ready and polled between layers.
    case overlap
    /// A blocking all-reduce of each bucket as soon as it is ready.
    case blocking
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

    /// Keys config.json has beside the options, derived from them and the data (`RunDirectory.writeConfig`).
    public static let derivedKeys: Set<String> = ["shot_groups"]

    /// Every option, with nulls for unset optional ones, so that config.json lists them all.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: OptionKey.self)
        for option in Self.parser.options { try option.encode(settings, into: &c) }
    }

    /// Options by name; a missing one has its default (a checkpoint of an older version).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: OptionKey.self)
        for key in c.allKeys where !Self.derivedKeys.contains(key.stringValue) {
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

    /// The seed of the data's selection: `--data-seed`, or 0 for `--subset ldam` (LDAM-DRW's
    /// `rand_number`), or `--seed`.
    public var dataSelectionSeed: UInt64 { UInt64(self.dataSeed ?? (self.subset == .ldam ? 0 : self.seed)) }

    public var dataConfig: DataConfig {
        var data = DataConfig(directory: self.data, imbalanceRatio: self.imbalanceRatio,
                              imbalanceProfile: self.imbalanceProfile, classes: self.classes, augment: self.augment,
                              dropLast: self.dropLast, holdout: self.holdoutClasses?.classes ?? [],
                              imageSize: self.imageSize.map { [$0.height, $0.width] }, channels: self.channels,
                              cache: imageCache, validation: self.valSplit, subset: self.subset,
                              lists: self.trainList ?? self.testList == nil ? nil
                                  : ImageLists(train: self.trainList ?? "", val: self.valList,
                                               test: self.testList ?? ""))
        data.normalization = self.normalization
        return data
    }

    /// The training images' augmentation.
    public var augmentation: Augmentation {
        Augmentation(cropAndFlip: self.augment, policy: self.autoAugment.map { .auto($0) } ?? self.randAugment.map {
            .rand($0)
        }, cutout: self.cutout, mixup: self.mixup, cutmix: self.cutmix)
    }

    /// `--cache`, or `.image-cache` beside the run directory (none before one is chosen).
    public var imageCache: String? {
        if let cache = self.cache { return cache }
        guard !self.runDir.isEmpty else { return nil }
        let parent = (self.runDir as NSString).deletingLastPathComponent
        return ((parent.isEmpty ? "." : parent) as NSString).appendingPathComponent(".image-cache")
    }

    /// The model's last layer: the cosine head for the margin losses.
    public var head: Head {
        switch self.loss.spec.head {
        case .linear: .linear
        case .cosine: .cosine(subCenters: 1)
        case .cosineWithSubCenters: .cosine(subCenters: self.subCenters)
        }
    }

    public var optimizerConfig: OptimizerConfig {
        OptimizerConfig(kind: self.optimizer, momentum: Float(self.momentum), nesterov: self.nesterov,
                        weightDecay: Float(self.weightDecay))
    }

    public var lrSchedule: Schedule {
        Schedule(kind: self.schedule, baseLR: Float(self.lr), epochs: self.epochs, warmupEpochs: self.warmupEpochs,
                 milestones: self.lrMilestones)
    }

    /// The convolution backend that runs: `auto` resolved, `onednn` without oneDNN refused with
    /// a warning (im2col runs).
    public func convolutionBackend(log: Log) -> ConvolutionBackend {
        if self.convBackend == .onednn, !OneDNN.isAvailable {
            log.warn("--conv-backend onednn: \(OneDNN.status); the convolutions run on im2col + OpenBLAS")
            return .im2col
        }
        return self.convBackend.resolved
    }

    /// The configuration as a job of `comm` runs it (what config.json records): defaults that
    /// depend on other settings filled in, the bucket mode and the convolution backend resolved.
    public func resolved(comm: Communicator, log: Log) -> TrainConfig {
        var config = self
        config.resolve()
        // auto overlaps buckets across hosts and blocks on one host, where the ranks have no idle
        // core to overlap on and Open MPI's blocking all-reduce is faster than its non-blocking
        // one (bench: mlp on 2 ranks 45k against 42k samples/s).
        if config.bucketMode == .auto { config.bucketMode = comm.localSize < comm.size ? .overlap : .blocking }
        config.convBackend = convolutionBackend(log: log)
        return config
    }

    /// Fills in defaults that depend on other settings (`ib-start-epoch`).
    public mutating func resolve() {
        if self.loss.spec.twoPhase, self.ibStartEpoch == nil { self.ibStartEpoch = self.epochs / 2 }
        if self.lrMilestones?.isEmpty == true { self.lrMilestones = nil }
    }

    /// Largest batch (training or evaluation): far beyond any real use, small enough that no
    /// batch buffer allocation can fail on size alone.
    public static let maxBatchSize = 1 << 20
    /// Largest class count (the data set's limit).
    public static let maxClasses = Dataset.maxClasses

    /// Range checks of every setting (each option's `check`), and cross-field checks (the
    /// losses' in their specs); returns the problems (empty when the configuration is valid). The
    /// one validation path for a configuration from the command line, a config file or a
    /// checkpoint: NaN and infinity fail every range.
    public func problems() -> [String] {
        var out = Self.parser.options.compactMap { $0.problem(in: settings) }
        if self.dropLast,
            self.padToWorldSize { out.append("--drop-last and --pad-to-world-size exclude each other: " +
                                             "an epoch ends one way") }
        out += self.loss.spec.problems(settings)
        if self.sampler == .mPerClass, self.batchSize % self.samplerM != 0 {
            out.append("--sampler m-per-class needs a --batch-size that is a multiple of --sampler-m " +
                       "\(self.samplerM), got \(self.batchSize)")
        }
        if self.drsEpoch != nil, self.sampler != .uniform {
            out.append("--drs-epoch samples uniformly, then class-balanced; it takes no --sampler " +
                       "\(self.sampler.rawValue)")
        }
        out += EmbeddingLossKind.problems(settings)
        if let problem = LabelSmoothing.problem(settings) { out.append(problem) }
        if let problem = mixProblem { out.append(problem) }
        if self.autoAugment != nil, self.randAugment != nil {
            out.append("--autoaugment and --randaugment are two policies for the same step; choose one")
        }
        out += [stage2Problem, tauNormProblem].compactMap { $0 }
        if (self.trainList == nil) != (self.testList == nil) || (self.valList != nil && self.trainList == nil) {
            out.append("--train-list and --test-list name a data set's images together (--val-list beside them)")
        }
        if self.valList != nil, let split = self.valSplit {
            out.append("--val-list is the validation split; --val-split \(split.text) would take another")
        }
        if self.subset == .ldam, let seed = self.dataSeed, seed > Int(UInt32.max) {
            out.append("--subset ldam seeds NumPy's generator with --data-seed, which takes 0...\(UInt32.max), " +
                       "got \(seed)")
        }
        if !(self.bucketFirstMib > 0 && self.bucketFirstMib <= 4096 && self.bucketMib > 0 && self.bucketMib <= 4096) {
            out.append("--bucket-first-mib and --bucket-mib must be in (0, 4096], got \(self.bucketFirstMib) " +
                       "and \(self.bucketMib)")
        }
        if self.convPrecision != nil, self.precision == .fp32 {
            out.append("--conv-precision chooses bfloat16 passes: it needs --precision bf16 or auto")
        }
        if self.precision == .bf16 {
            if self.model == .mlp { out.append("--precision bf16 computes the convolutions in bfloat16, and " +
                                               "--model mlp has none") }
            if self.convBackend == .im2col { out.append("--precision bf16 runs on oneDNN; --conv-backend im2col " +
                                                        "computes in float32 only") }
        }
        return out
    }
}

extension TrainConfig {
    /// The losses that take mixup's and CutMix's soft targets: the cross-entropy losses (plain,
    /// logit-adjusted, smoothed) and focal loss, per sample a function of the logits and one label.
    public static let mixedLosses: [LossKind] = [.ce, .focal] + LabelSmoothing.losses.filter { $0 != .ce }

    /// Why `--mixup` or `--cutmix` cannot run, or nil.
    var mixProblem: String? {
        let option = self.cutmix > 0 ? "--cutmix" : "--mixup"
        guard self.augmentation.mixes else { return nil }
        guard Self.mixedLosses.contains(self.loss) else {
            return "\(option) trains on soft targets, which --loss \(self.loss.rawValue) does not take (it needs " +
                   "hard labels); use one of \(Self.mixedLosses.map(\.rawValue).joined(separator: ", "))"
        }
        if self.embeddingLoss != .none {
            return "\(option) blends images of two classes, and --metric-loss \(self.embeddingLoss.rawValue) " +
                   "needs each image's own class"
        }
        return nil
    }
}
