import Data
import Distributed
import Foundation
import Losses
import NN

/// Data-parallel training over epochs: every rank holds a replica of the model and runs its
/// `TrainStep` on its share of each global batch; after each epoch the `Evaluator` tests the
/// model, the metrics are written and a checkpoint taken. The job trains as one process would
/// on the global batch.
public final class Trainer {
    /// Its configuration (`--conv-precision` settled by `train`).
    public internal(set) var config: TrainConfig
    public let comm: Communicator
    public let log: Log
    public let dataset: Dataset
    public let step: TrainStep
    let evaluator: Evaluator
    /// The validation split's evaluator (`--val-split`), nil without one.
    let validator: Evaluator?
    public let run: RunDirectory
    let outputs: RunOutputs
    var state: TrainingState
    /// Rank 0's lock on the run directory, held while `train` runs.
    var runLock: RunLock?
    /// Ends the job when no step completes for `--stall-timeout` seconds (while `train` runs).
    var watchdog: StallWatchdog?
    /// The last checkpoint written (rank 0): path, bytes, seconds.
    var lastCheckpoint: (path: String, bytes: Int, seconds: Double)?

    /// Loads the data (collective; errors on any rank end every rank cleanly), builds the
    /// model (every rank with rank 0's initial parameters), its step and its evaluator.
    /// - outputs: what the run writes besides checkpoints (metrics.jsonl alone by default)
    public init(config: TrainConfig, comm: Communicator, log: Log, outputs: RunOutputs = MetricsFile()) throws {
        var config = config.resolved(comm: comm, log: log)
        let precision = config.precision
        try comm.agree { if let problem = precision.machineProblem { throw CollectiveFailure(rank: comm.rank,
                                                                                             message: problem) } }
        self.comm = comm
        self.log = log
        self.outputs = outputs
        // One run directory for the job, chosen by rank 0 (image sets are cached beside it).
        config.runDir = try comm.broadcast(string: config.runDir.isEmpty ? RunDirectory.defaultPath() : config.runDir)
        dataset = try Dataset.load(config.dataConfig, seed: config.dataSelectionSeed, comm: comm)
        for note in dataset.notes { log.info(note) }
        if let problem = config.augmentation.problem(for: dataset.train) {
            throw CollectiveFailure(rank: 0, message: problem)
        }
        if let subset = config.subset {
            let source = subset == .ldam ? "LDAM-DRW's subset, data seed \(config.dataSelectionSeed)" : subset.text
            log.info("training subset (--subset): \(source), \(dataset.globalTrainCount) samples, per class " +
                     "\(dataset.counts)")
        }
        if let val = dataset.val {
            let counts = (0..<dataset.classes).map { c in val.labels.lazy.filter { $0 == c }.count }
            let source = config.valSplit.map { "--val-split \($0.text)" } ?? config.valList ?? "the data's val/"
            log.info("validation split (\(source), never trained on): \(val.count) samples, per " +
                     "class \(counts); best.safetensors by --select-by \(config.selectBy)")
        } else if config.tauNorm == .search {
            throw CollectiveFailure(rank: 0, message: "--tau-norm search chooses tau on the validation split: add " +
                                                      "--val-split (such as 20), or give tau")
        }
        let model = try ModelLoader.fresh(config, dataset: dataset, comm: comm, log: log)
        if config.syncBatchnorm, comm.size > 1 {
            let c = comm
            model.setBatchNormReducer { buffer in
                do { try c.allReduceSum(buffer) } catch { c.abort("sync batch norm: \(error)", code: 1) }
            }
        }
        step = try TrainStep(config: config, dataset: dataset, model: model, comm: comm)
        evaluator = Evaluator(model: model, test: dataset.test, unseen: dataset.unseenTest, mean: dataset.mean,
                              std: dataset.std,
                              batchSize: config.evalBatchSize,
                              trainingBatch: config.batchSize, comm: comm)

        self.config = config
        run = RunDirectory(path: config.runDir)
        state = TrainingState(config: config)
        state.worldSize = comm.size
        evaluator.thresholds = config.shotThresholds
        let data = dataset
        validator = data.val.map { val in
            Evaluator(model: model, test: val, mean: data.mean, std: data.std, batchSize: config.evalBatchSize,
                      trainingBatch: config.batchSize, comm: comm)
        }
        validator?.thresholds = config.shotThresholds
        evaluator.heartbeat = { [unowned self] in watchdog?.beat(epoch: state.epoch, step: state.stepInEpoch) }
    }

    public var model: Model { step.model }

    /// The epoch in progress (0-based) and optimiser steps so far.
    public var epoch: Int { state.epoch }
    public var globalStep: Int { state.globalStep }
    /// The metrics lines so far.
    public var metricsLines: [EpochMetrics] { state.metrics }

    /// What using this model needs without the training set: it trained with the epoch's
    /// class counts (the long-tail profile's before the first epoch).
    public var card: ModelCard {
        let counts = step.statistics.counts
        return ModelCard(model: model, data: dataset.statistics(trainCounts: counts.isEmpty ? nil : counts))
    }

    /// The test figures of the model as it stands, with the epoch's class counts; retrieval and
    /// clusters every `--retrieval-every` epochs (counted from 1), after the last and at the end
    /// (`epoch` nil); the validation split's figures when there is one.
    func evaluate(epoch: Int?) throws -> Evaluation {
        let every = config.retrievalEvery
        let retrieval = every > 0 && epoch.map { ($0 + 1) % every == 0 || $0 + 1 >= config.totalEpochs } ?? true
        let counts = step.statistics.counts
        var tau = config.tauNorm?.tau
        if config.tauNorm == .search, let validator {
            // Kang et al.'s search, on the validation split: the tau of the best balanced accuracy
            // (the first of equals; the same on every rank, the figures being sums).
            var best: (tau: Double, value: Double)?
            for t in TauNormSetting.searched {
                let v = try validator.evaluate(trainCounts: counts, posthocTau: 0, tauNorm: t, retrieval: false)
                if let b = v.figures.taunorm?.balanced, best == nil || b > best!.value { best = (t, b) }
            }
            tau = best?.tau
        }
        var evaluation = try evaluator.evaluate(trainCounts: counts, posthocTau: config.posthocTau, tauNorm: tau,
                                                retrieval: retrieval)
        if config.tauNorm == .search { evaluation.figures.tauChosen = tau }
        evaluation.figures.val = try validator?.evaluate(trainCounts: counts, posthocTau: 0,
                                                         retrieval: false).figures.test
        return evaluation
    }
}
