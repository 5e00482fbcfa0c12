import Checkpoint
import Data
import Distributed
import Explain
import Foundation
import Losses
import NN
import Tensor

/// Data-parallel training: every rank holds a replica of the model, trains on
/// its share of each global batch, and sums gradients over ranks after every
/// step, so that the job trains as one process would on the global batch.
public final class Trainer {
    public let config: TrainConfig
    public let comm: Communicator
    public let log: Log
    public let dataset: Dataset
    public let model: Model
    public let optimizer: Optimizer
    public let loss: TrainingLoss
    public let sampler: DistributedSampler
    public let run: RunDirectory
    public let reducer: GradientReducer
    let trainBatches: BatchAssembler
    let testBatches: BatchAssembler
    let schedule: Schedule
    var state: TrainingState

    // Per-step buffers, sized once.
    var indices: UnsafeMutablePointer<Int>
    var positions: UnsafeMutablePointer<Int>
    var rows: UnsafeMutablePointer<Int>
    /// The global batch's rows and labels as a loss term asked for them (`gatherGlobalBatch`).
    var gathered: [Float] = []
    var gatheredRows: [Float] = []
    var gatheredLabels: [Int32] = []
    var gatherSend: [Float] = []
    /// Rows each rank sends to a gather, and their bytes.
    var gatherSizes: [Int] = []
    var gatherBytes: [Int] = []
    /// Per step, summed over ranks: non-finite flag, loss contribution, stop request.
    var stepReduction: [Double] = [0, 0, 0]
    var pendingError: Error?
    /// Rank 0's lock on the run directory, held while this trainer lives.
    var runLock: RunLock?
    /// Ends the job when no step completes for `--stall-timeout` seconds (while `train` runs).
    var watchdog: StallWatchdog?
    /// When set, seconds per `Phase` of `trainStep` are added here (bench --profile).
    public var phaseSeconds: [Double]?
    /// Fault injection for tests: `DDP_TRAIN_FAULT_NAN=R:A-B` makes rank R's gradients NaN in
    /// the steps A...B (0-based, counting every attempted step).
    let nanFault: (rank: Int, steps: ClosedRange<Int>)?

    // Per-epoch statistics.
    var classCounts: [Int] = []
    var classWeights: [Double]?
    var omega = 0.0
    var epochOrder: [Int] = []
    /// The last checkpoint written (rank 0): path, bytes, seconds.
    var lastCheckpoint: (path: String, bytes: Int, seconds: Double)?

    /// Loads the data (collective; errors on any rank end every rank cleanly), builds the
    /// model and gives every rank rank 0's initial parameters. With `known` (a checkpoint's
    /// card, to evaluate or explain it) only the test set is read.
    public init(config: TrainConfig, comm: Communicator, log: Log, known: DataStatistics? = nil) throws {
        var config = config
        config.resolve()
        // The bucket mode as run (config.json records it): auto overlaps across hosts.
        if config.bucketMode == .auto { config.bucketMode = Self.overlaps(.auto, comm: comm) ? .overlap : .blocking }
        if config.convBackend == .onednn, !OneDNN.isAvailable {
            log.warn("--conv-backend onednn: \(OneDNN.status); the convolutions run on im2col + OpenBLAS")
            config.convBackend = .im2col
        }
        config.convBackend = config.convBackend.resolved  // config.json records the one that runs
        self.comm = comm
        self.log = log
        let seed = UInt64(config.seed)

        dataset = try known.map { try Dataset.load(config.dataConfig, known: $0, comm: comm) }
            ?? Dataset.load(config.dataConfig, seed: seed, comm: comm)
        let shape = InputShape(channels: dataset.test.channels, height: dataset.test.height, width: dataset.test.width)
        guard min(shape.height, shape.width) >= config.model.minimumSide else {
            throw CollectiveFailure(rank: 0, message: "\(config.data): images are \(shape.height) x \(shape.width); --model \(config.model.rawValue) needs at least \(config.model.minimumSide) x \(config.model.minimumSide)")
        }
        model = Model.make(config.model, inputShape: shape, classes: dataset.classes, seed: seed, head: config.head,
                           convolutions: config.convBackend)
        if let path = config.initFrom {
            let model = model, rank = comm.rank
            try comm.agree { if rank == 0 { try ModelWeights.load(path, into: model) } }
        }
        // Same start everywhere: rank 0's initial parameters and buffers (or --init-from's).
        try comm.broadcast(model.parameters.valueBuffer)
        try comm.broadcast(model.buffers.valueBuffer)
        if config.syncBatchnorm, comm.size > 1 {
            let c = comm
            model.setBatchNormReducer { buffer in
                do { try c.allReduceSum(buffer) } catch { c.abort("sync batch norm: \(error)", code: 1) }
            }
        }
        // One BLAS thread: backward adds into zeroed gradients (sgemm with beta 1) and the optimiser
        // clears them in its pass. Several: each OpenBLAS thread clears its own part of a weight
        // gradient (beta 0) and the optimiser leaves the gradients alone, so that no part moves
        // between cores twice a step (see BLAS.gemm).
        model.parameters.accumulatesGradients = BLASRuntime.threads == 1
        optimizer = Optimizer(config.optimizerConfig, parameterCount: model.parameters.count)
        loss = TrainingLoss(config.settings, classes: dataset.classes, featureDimension: model.featureDimension,
                            secondPhaseStart: config.resolvedIBStart)
        schedule = config.lrSchedule

        let globalCount = dataset.sharded ? dataset.globalTrainCount : dataset.train.count
        guard config.batchSize >= comm.size else {
            throw CollectiveFailure(rank: 0, message: "--batch-size \(config.batchSize) is smaller than the \(comm.size) ranks: every rank needs at least one sample per step")
        }
        sampler = DistributedSampler(count: dataset.train.count, globalCount: globalCount, batchSize: config.batchSize,
                                     rank: comm.rank, worldSize: comm.size, seed: seed, sharded: dataset.sharded,
                                     end: config.dropLast ? .dropLast : (config.padToWorldSize ? .padToWorldSize : .whole))
        let channelMajor = model.inputLayout == .channelMajor
        trainBatches = BatchAssembler(split: dataset.train, mean: dataset.mean, std: dataset.std, channelMajor: channelMajor,
                                      augment: config.augment, seed: seed)
        testBatches = BatchAssembler(split: dataset.test, mean: dataset.mean, std: dataset.std, channelMajor: channelMajor,
                                     augment: false, seed: seed)

        var layerOffsets = model.features.compactMap(\.parameterOffset)
        if let top = model.classifier.parameterOffset { layerOffsets.append(top) }
        reducer = GradientReducer(comm: comm, gradients: model.parameters.gradients, count: model.parameters.count,
                                  layerOffsets: layerOffsets,
                                  firstBucketBytes: Int(config.bucketFirstMib * 1_048_576), bucketBytes: Int(config.bucketMib * 1_048_576),
                                  nonBlocking: Self.overlaps(config.bucketMode, comm: comm))

        let capacity = config.batchSize + 1
        indices = .allocate(capacity: capacity)
        positions = .allocate(capacity: capacity)
        rows = .allocate(capacity: capacity)

        // One run directory for the job, chosen by rank 0.
        let path = try comm.broadcast(string: config.runDir.isEmpty ? RunDirectory.defaultPath() : config.runDir)
        config.runDir = path
        self.config = config
        run = RunDirectory(path: path)
        state = TrainingState(config: config)
        state.worldSize = comm.size

        nanFault = Self.parseFault(ProcessInfo.processInfo.environment["DDP_TRAIN_FAULT_NAN"])
        let reducerRef = reducer
        model.gradientsReady = { [unowned self] offset in
            do { try reducerRef.gradientsReady(from: offset) } catch { self.pendingError = error }
        }
    }

    deinit {
        indices.deallocate()
        positions.deallocate()
        rows.deallocate()
    }

    /// The epoch in progress (0-based) and optimiser steps so far.
    public var epoch: Int { state.epoch }
    public var globalStep: Int { state.globalStep }

    /// Whether buckets overlap backward: `auto` blocks on one host, where the ranks have no idle
    /// core to overlap on and Open MPI's blocking all-reduce is faster than its non-blocking one
    /// (bench: mlp on 2 ranks 45k against 42k samples/s), and overlaps across hosts.
    static func overlaps(_ mode: BucketMode, comm: Communicator) -> Bool {
        switch mode {
        case .overlap: return true
        case .blocking: return false
        case .auto: return comm.localSize < comm.size
        }
    }

    static func parseFault(_ text: String?) -> (rank: Int, steps: ClosedRange<Int>)? {
        guard let text else { return nil }
        let parts = text.split(separator: ":")
        guard parts.count == 2, let rank = Int(parts[0]) else { return nil }
        let bounds = parts[1].split(separator: "-").compactMap { Int($0) }
        guard let first = bounds.first, let last = bounds.last, first <= last else { return nil }
        return (rank, first...last)
    }

    /// The loss applied in `epoch`: plain CE before the IB start epoch for the IB losses.
    func lossKind(epoch: Int) -> LossKind {
        loss.inFirstPhase(epoch: epoch) ? .ce : config.loss
    }

    /// Class weighting in `epoch`: none in the IB losses' CE phase and before `--drw-epoch`.
    func weighting(epoch: Int) -> ClassWeighting {
        if loss.inFirstPhase(epoch: epoch) { return .none }
        if let drw = config.drwEpoch, epoch < drw.epoch(of: config.epochs) { return .none }
        return config.classWeights.resolved(for: config.loss)
    }
}
