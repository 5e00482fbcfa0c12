import Data
import Distributed
import Dispatch
import Foundation
import Losses
import NN
import Tensor

/// What runs one optimiser step on this rank: the model's forward, the loss terms of the epoch's
/// phase (with what they asked for: the global batch gathered, a weighted mean), backward, the
/// gradients' and the step's scalars' sums over the ranks (`GradientSync`), a global non-finite
/// check, the update. No allocation once the buffers are sized. `bench` runs it alone; `Trainer`
/// runs it over epochs and saves and restores what it holds through `TrainStep+Checkpoint`.
public final class TrainStep {
    let config: TrainConfig
    let comm: Communicator
    public let model: Model
    let optimizer: Optimizer
    let loss: TrainingLoss
    let sampler: DistributedSampler
    /// Each class's samples, for the phases that re-sample (nil when every phase is uniform).
    let draws: ClassDraws?
    /// The phases of the run: which loss term and class weighting apply in an epoch.
    public let phases: TrainingPhases
    /// How the gradients are summed over the ranks (the same on every rank).
    let sync: GradientSync
    /// The steps' samples, assembled a step ahead (`BatchPrefetch`).
    private(set) var prefetch: BatchPrefetch!
    /// This step's batch and samples.
    var batches: BatchAssembler { prefetch.buffers[prefetch.current].assembler }
    var slots: BatchSlots { prefetch.buffers[prefetch.current].slots }
    /// Per step: the weighted mean's denominators of the own and the partners' labels.
    private var normalizers: [Double] = [0, 0]
    /// The global batch's rows and labels as a loss term asked for them.
    let gather: LabelledRowGather
    /// Per step, summed over ranks: non-finite flag, loss contribution, stop request.
    private var reduction: [Double] = [0, 0, 0]
    var pendingError: Error?
    /// When set, seconds per `Phase` are added here (bench --profile).
    public var phaseSeconds: [Double]?
    /// Fault injection for tests: `DDP_TRAIN_FAULT_NAN=R:A-B` makes rank R's gradients NaN in
    /// the steps A...B (0-based, counting every attempted step).
    let nanFault: (rank: Int, steps: ClosedRange<Int>)?
    /// The epoch's order, counts, class weights and Omega (`beginEpoch`).
    public internal(set) var statistics = EpochStatistics()

    /// The step of `config` (resolved) for `model` on `dataset`'s training split.
    public init(config: TrainConfig, dataset: Dataset, model: Model, comm: Communicator) throws {
        self.config = config
        self.comm = comm
        self.model = model
        let seed = UInt64(config.seed)
        guard config.batchSize >= comm.size else {
            throw CollectiveFailure(rank: 0,
                                    message: "--batch-size \(config.batchSize) is smaller than the \(comm.size) " +
                                             "ranks: every rank needs at least one sample per step")
        }
        // One BLAS thread: backward adds into zeroed gradients (sgemm with beta 1) and the optimiser
        // clears them in its pass. Several: each OpenBLAS thread clears its own part of a weight
        // gradient (beta 0) and the optimiser leaves the gradients alone, so that no part moves
        // between cores twice a step (see BLAS.gemm).
        model.parameters.accumulatesGradients = BLASRuntime.threads == 1
        optimizer = Optimizer(config.optimizerConfig, parameterCount: model.parameters.count)
        phases = TrainingPhases(config)
        loss = TrainingLoss(config.settings, classes: dataset.classes, featureDimension: model.featureDimension,
                            stage2Loss: config.stage2 == .none ? nil : config.stage2Loss)
        draws = try Self.classDraws(config: config, phases: phases, dataset: dataset)
        let epochLength = ClassDraws.epochLength(config.sampler,
                                                 count: dataset.sharded
                                                 ? dataset.globalTrainCount : dataset.train.count,
                                                 batchSize: config.batchSize, m: config.samplerM)
        sampler = DistributedSampler(count: dataset.train.count, globalCount: epochLength, batchSize: config.batchSize,
                                     rank: comm.rank, worldSize: comm.size, seed: seed, sharded: dataset.sharded,
                                     end: config.dropLast
                                         ? .dropLast : (config.padToWorldSize ? .padToWorldSize : .whole))
        let buffers = (0..<2).map { _ in
            BatchPrefetch.Buffer(assembler: BatchAssembler(split: dataset.train, mean: dataset.mean, std: dataset.std,
                                                           channelMajor: model.inputLayout == .channelMajor,
                                                           augmentation: config.augmentation, seed: seed),
                                 slots: BatchSlots(capacity: config.batchSize + 1))
        }
        sync = try Self.gradientSync(config: config, model: model, optimizer: optimizer, comm: comm)
        gather = LabelledRowGather(comm: comm)
        nanFault = Self.parseFault(ProcessInfo.processInfo.environment["DDP_TRAIN_FAULT_NAN"])
        prefetch = BatchPrefetch(buffers: buffers) { [unowned self] epoch, step, buffer in
            self.prepare(epoch: epoch, step: step, into: buffer)
        }
        let sync = sync
        model.gradientsReady = sync.gradientsReady.map { ready in
            { [unowned self] offset in
                do { try ready(offset) } catch { self.pendingError = error }
            }
        }
    }

    /// One copy of the parameters where the ranks of a host outnumber its cores (compressed
    /// gradients keep a copy per rank: the ranks sum their 16-bit roundings), else buckets
    /// all-reduced (through a shared-memory sum where `Communicator.prepareSums` says so).
    static func gradientSync(config: TrainConfig, model: Model, optimizer: Optimizer,
                             comm: Communicator) throws -> GradientSync {
        let shared = config.gradCompression != .none ? nil
            : try comm.shareParameters(count: model.parameters.count, stateCount: optimizer.state.count,
                                       values: model.parameters.values, state: optimizer.state.baseAddress!)
        if let shared {
            model.parameters.adopt(values: shared.values, gradients: shared.gradients)
            optimizer.adopt(state: shared.state)
            return SharedParameterSync(comm: comm, shared: shared)
        }
        var layerOffsets = model.features.compactMap(\.parameterOffset)
        if let top = model.classifier.parameterOffset { layerOffsets.append(top) }
        let reducer = GradientReducer(comm: comm, gradients: model.parameters.gradients, count: model.parameters.count,
                                      layerOffsets: layerOffsets,
                                      firstBucketBytes: Int(config.bucketFirstMib * 1_048_576),
                                      bucketBytes: Int(config.bucketMib * 1_048_576),
                                      nonBlocking: config.bucketMode == .overlap, compression: config.gradCompression)
        let path: SumPath
        if comm.size == 1 {
            path = .single
        } else if !reducer.nonBlocking, reducer.compression == .none,
            try comm.prepareSums(count: reducer.buckets.map(\.count).max() ?? 0) {
            path = .sharedMemory
        } else {
            path = .mpi
        }
        return AllReduceSync(comm: comm, reducer: reducer, gradients: model.parameters.gradients,
                             count: model.parameters.count, path: path)
    }

    /// The classes' members where a phase re-samples; why it cannot, as every rank's error.
    static func classDraws(config: TrainConfig, phases: TrainingPhases, dataset: Dataset) throws -> ClassDraws? {
        guard phases.phases.contains(where: { $0.sampler != .uniform }) else { return nil }
        guard !dataset.sharded else {
            throw CollectiveFailure(rank: 0,
                                    message: "--sampler \(config.sampler.rawValue) and --drs-epoch draw from the " +
                                                      "whole training set, and sharded data is split " +
                                                      "over the ranks; use " +
                                                      "unsharded files")
        }
        let draws = ClassDraws(labels: dataset.train.labels, classes: dataset.classes)
        if let problem = draws.problem(config.sampler, batchSize: config.batchSize, m: config.samplerM) {
            throw CollectiveFailure(rank: 0, message: problem)
        }
        return draws
    }

    static func parseFault(_ text: String?) -> (rank: Int, steps: ClosedRange<Int>)? {
        guard let text else { return nil }
        let parts = text.split(separator: ":")
        guard parts.count == 2, let rank = Int(parts[0]) else { return nil }
        let bounds = parts[1].split(separator: "-").compactMap { Int($0) }
        guard let first = bounds.first, let last = bounds.last, first <= last else { return nil }
        return (rank, first...last)
    }

    deinit { prefetch?.stop() }

    // MARK: - What the trainer reads

    /// How the gradients are summed over the ranks.
    public var sumPath: SumPath { sync.path }
    /// Optimiser steps of an epoch.
    public var stepsPerEpoch: Int { sampler.stepsPerEpoch }
    /// Seconds waited for other ranks since `resetTiming`.
    public var exposedSeconds: Double { sync.exposedSeconds }
    public func resetTiming() { sync.resetTiming() }
    /// Bytes this rank sends into the all-reduces per step (0 with shared parameters).
    public var gradientBytesPerStep: Int { (sync as? AllReduceSync)?.reducer.bytesPerStep ?? 0 }

    /// The outcome of one optimiser step.
    public struct Result {
        /// The global batch's loss (sum of the ranks' contributions).
        public var loss: Double
        public var skipped: Bool
        /// Samples in the global batch.
        public var samples: Int
        /// Whether some rank was asked to stop (SIGTERM, SIGINT).
        public var stopRequested = false
    }

    /// Step `step` of `epoch` (after `beginEpoch(epoch)`); `globalStep` counts every attempted step.
    public func run(epoch: Int, step: Int, lr: Float, globalStep: Int) throws -> Result {
        let phase = phases.phase(at: epoch), term = phase.term, trains = phase.trains
        let terms = loss.terms(term), needs = loss.needs(term)
        var clock = phaseSeconds == nil ? 0 : Self.now()
        let prepared = prefetch.take(epoch: epoch, step: step, next: step + 1 < sampler.stepsPerEpoch ? step + 1 : nil)
        let n = prepared.count, mix = prepared.mix
        mark(.data, &clock)
        // The ranks' shares add up to the global batch, sharded or not; the last batch of an
        // epoch is smaller than --batch-size.
        let globalSamples = sampler.globalRange(step: step).count
        // With accumulatesGradients the gradients are zero here (the last update or skip cleared
        // them) and backward adds into them; otherwise backward overwrites them.
        sync.begin()
        var contribution = 0.0
        let weights = statistics.weights

        // The mean's denominator over the global batch: the batch size, or the sum of the
        // class weights of the labels for a weighted mean (one all-reduce of a number).
        var normalizer = Double(globalSamples), partnerNormalizer = normalizer
        if needs.weightedMean, weights != nil {
            func local(_ targets: UnsafePointer<Int32>) -> Double {
                n > 0 ? loss.localNormalizer(term, targets: targets, batch: n, weights: weights) : 0
            }
            normalizers[0] = local(batches.targets)
            normalizers[1] = mix == nil ? 0 : local(batches.partnerTargets)
            try comm.allReduceSum(&normalizers)
            normalizer = normalizers[0]
            partnerNormalizer = normalizers[1]
        }

        // A rank without samples this step still takes part in the terms' gathers (and their
        // state, such as center loss's centres, moves on every rank after the step); it
        // contributes zero gradients.
        var scores = loss.scoresGradient, features = loss.featureGradient
        if n > 0 {
            (scores, features) = model.forward(batches.input, training: true, trains: trains)
            mark(.forward, &clock)
        } else if !model.parameters.accumulatesGradients {
            model.parameters.zeroGradients()
        }
        loss.clearGradients(batch: n, classes: model.classes, features: model.featureDimension)
        for term in terms {
            var batch = LossBatch(scores: scores, features: features, targets: batches.targets, count: n,
                                  weights: weights,
                                  omega: statistics.omega, counts: statistics.counts, normalizer: normalizer,
                                  share: Double(n) / Double(globalSamples))
            let width = term.needs.gatherWidth
            if width > 0 {
                batch.global = try gatherGlobalBatch(rows: n > 0 ? term.rowsToGather(batch) : nil, width: width,
                                                     count: n, step: step)
            }
            guard let mix else {
                contribution += term.accumulate(batch, scoresGradient: loss.scoresGradient,
                                                featureGradient: loss.featureGradient)
                continue
            }
            // Each part's mean over its own denominator, scaled by its share.
            for part in 0..<2 {
                let share = part == 0 ? mix.lambda : 1 - mix.lambda
                guard share > 0 else { continue }
                batch.targets = UnsafePointer(part == 0 ? batches.targets : batches.partnerTargets)
                batch.normalizer = (part == 0 ? normalizer : partnerNormalizer) / share
                contribution += term.accumulate(batch, scoresGradient: loss.scoresGradient,
                                                featureGradient: loss.featureGradient)
            }
        }
        if n > 0 {
            mark(.loss, &clock)
            if let fault = nanFault, fault.rank == comm.rank, fault.steps.contains(globalStep) {
                loss.scoresGradient.data[0] = .nan  // a test's injected fault: NaN gradients on this rank
            }
            model.backward(logitsGradient: loss.scoresGradient,
                           featureGradient: needs.features ? loss.featureGradient : nil, trains: trains)
            mark(.backward, &clock)
        }
        if let error = pendingError { pendingError = nil; throw error }

        // One sum decides for every rank: a non-finite loss or gradient anywhere skips the step.
        reduction[0] = contribution.isFinite ? 0 : 1
        reduction[1] = contribution.isFinite ? contribution : 0
        reduction[2] = StopSignal.isRequested ? 1 : 0
        // With accumulatesGradients the gradients must be zero at the next backward: the update
        // (or `discard`) clears the summed range, the sync what else it read.
        let clearing = model.parameters.accumulatesGradients
        try reduction.withUnsafeMutableBufferPointer { try sync.sum(scalars: $0, clearing: clearing) }
        mark(.communication, &clock)
        let skipped = reduction[0] > 0
        if skipped {
            sync.discard(clearing: clearing)
        } else {
            let update = sync.range.clamped(to: model.trainableRange(trains))
            optimizer.step(parameters: model.parameters.values, gradients: sync.gradients, lr: lr,
                           zeroingGradients: clearing, range: update)
            if clearing { clearUntrained(updated: update) }
        }
        try sync.end()
        mark(.optimizer, &clock)
        let stop = reduction[2] > 0
        if skipped { return Result(loss: .nan, skipped: true, samples: globalSamples, stopRequested: stop) }
        for term in terms { term.stepTaken() }
        return Result(loss: reduction[1], skipped: false, samples: globalSamples, stopRequested: stop)
    }

    // MARK: - Phase timing (bench --profile)

    /// Parts of a step, for `phaseSeconds`.
    public enum Phase: Int, CaseIterable, Sendable {
        case data, forward, loss, backward, communication, optimizer
        public var name: String {
            ["batch assembly", "forward", "loss", "backward (+ buckets started)", "wait for all-reduce + checks",
             "optimizer"][rawValue]
        }
    }

    static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) * 1e-9 }

    @inline(__always)
    func mark(_ phase: Phase, _ clock: inout Double) {
        guard phaseSeconds != nil else { return }
        let t = Self.now()
        phaseSeconds![phase.rawValue] += t - clock
        clock = t
    }
}
