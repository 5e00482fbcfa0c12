import Checkpoint
import Data
import Distributed
import Foundation
import Losses

/// What a finished run reports.
public struct RunSummary: Sendable {
    public var runDirectory: String
    /// The "done" line; nil when a signal stopped the run.
    public var final: EpochMetrics?
    /// Set when a signal stopped the run early: the checkpoint it wrote.
    public var interruptedAt: String?
}

extension Trainer {
    /// Trains from the current state to the end (all epochs, or `--max-steps`), writing the run
    /// directory on rank 0: config.json, metrics.jsonl, checkpoints, final.safetensors.
    public func train() throws -> RunSummary {
        try ConvolutionPrecisionSetup.settle(&config, model: model,
                                             batch: (config.batchSize + comm.size - 1) / comm.size, comm: comm,
                                             log: log)
        state.config = config
        try comm.agree {
            guard comm.rank == 0 else { return }
            runLock = try run.create()
            let groups = config.shotThresholds.groups(trainCounts: dataset.counts)
            try run.writeConfig(config, shotGroups: ["many_shot": groups.many, "medium_shot": groups.medium,
                                                     "few_shot": groups.few])
            try run.writeSubset(dataset.trainIndices)
            try outputs.writeMetrics(state.metrics, run: run, config: config)
        }
        if let recorder = comm.flightRecorder {
            // Flight records go to RUNDIR/flight, marked with this job's identifier.
            recorder.setDestination(directory: run.flightDirectory, job: try comm.broadcast(string: UUID().uuidString))
        }
        let timeout = config.stallTimeout ?? TrainConfig.defaultStallTimeout
        if timeout > 0 { watchdog = StallWatchdog(timeout: timeout, comm: comm) }
        defer {
            watchdog?.stop()
            watchdog = nil
        }
        let profile = config.profile ? EpochProfile() : nil
        evaluator.profile = profile
        defer { evaluator.profile = nil }
        var lastEvaluation: (step: Int, result: Evaluation)?
        while state.epoch < config.totalEpochs {
            switch try trainEpoch(profile: profile) {
            case .completed(let epochRun):
                lastEvaluation = (state.globalStep, try endEpoch(epochRun, profile: profile))
            case .stepLimit:
                return try finish(lastEvaluation: lastEvaluation)
            case .stopped(let summary):
                return summary
            }
        }
        return try finish(lastEvaluation: lastEvaluation)
    }

    /// How an epoch's steps ended.
    enum EpochEnd {
        /// Every step ran.
        case completed(EpochRun)
        /// `--max-steps` was reached inside the epoch (or at its start).
        case stepLimit
        /// A signal stopped the job: it checkpointed and says so.
        case stopped(RunSummary)
    }

    /// What an epoch's steps measured, for its metrics line.
    struct EpochRun {
        var epoch: Int
        var lr: Float
        var samples: Int
        var trainSeconds: Double
        var start: Date
    }

    /// The epoch's steps, from where the state stands.
    func trainEpoch(profile: EpochProfile?) throws -> EpochEnd {
        let epoch = state.epoch, steps = step.stepsPerEpoch
        let phase = step.phases.phase(at: epoch)
        if config.stage2 != .none, epoch == config.epochs, state.stepInEpoch == 0 { try beginSecondStage() }
        try beginEpoch(epoch)
        var run = EpochRun(epoch: epoch,
                           lr: config.learningRate(epoch: epoch, step: state.stepInEpoch, stepsPerEpoch: steps,
                                                   phase: phase),
                           samples: 0, trainSeconds: 0, start: Date())
        step.resetTiming()
        var lastShown = Date.distantPast
        while state.stepInEpoch < steps {
            if let limit = config.maxSteps, state.globalStep >= limit { return .stepLimit }
            run.lr = config.learningRate(epoch: epoch, step: state.stepInEpoch, stepsPerEpoch: steps, phase: phase)
            comm.flightRecorder?.at(epoch: epoch, step: state.stepInEpoch + 1)
            let t0 = DispatchTime.now().uptimeNanoseconds
            let result = try step.run(epoch: epoch, step: state.stepInEpoch, lr: run.lr, globalStep: state.globalStep)
            run.trainSeconds += Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9
            run.samples += result.samples
            state.globalStep += 1
            state.stepInEpoch += 1
            watchdog?.beat(epoch: epoch, step: state.stepInEpoch)
            try count(result, epoch: epoch)
            if log.interactive, Date().timeIntervalSince(lastShown) > 0.2 {
                lastShown = Date()
                showProgress(epoch: epoch, step: state.stepInEpoch, steps: steps, samples: run.samples,
                             seconds: run.trainSeconds)
            }
            if result.stopRequested { return .stopped(try stopBySignal(epoch: epoch)) }
            if let every = config.checkpointEverySteps, state.globalStep % every == 0, state.stepInEpoch < steps {
                try timed(.checkpoint, profile) { try saveCheckpoint() }
            }
        }
        profile?.add(.steps, run.trainSeconds)
        return .completed(run)
    }

    /// A step's outcome in the epoch's and the run's counts; ten skipped steps in a row end the job.
    func count(_ result: TrainStep.Result, epoch: Int) throws {
        guard result.skipped else {
            state.consecutiveSkips = 0
            state.epochLossSum += result.loss
            state.epochLossSteps += 1
            return
        }
        state.epochSkipped += 1
        state.totalSkipped += 1
        state.consecutiveSkips += 1
        if comm.rank == 0 {
            log.warn("step \(state.globalStep): non-finite loss or gradient on some rank; every rank skips this step")
        }
        if state.consecutiveSkips >= 10 {
            throw CollectiveFailure(rank: 0,
                                    message: "\(state.consecutiveSkips) consecutive steps had a non-finite loss or " +
                                             "gradient (last at epoch \(epoch), step \(state.globalStep)); " +
                                             "stopping.\nHINT: lower --lr, or check the data for NaN values.")
        }
    }

    /// Every rank saw a stop request in the same step: checkpoint and leave together.
    func stopBySignal(epoch: Int) throws -> RunSummary {
        try saveCheckpoint()
        try writeMetrics()
        let path = run.checkpointPath(step: state.globalStep)
        log.clearProgress()
        let note = "stopped by a signal at step \(state.globalStep) (epoch \(epoch + 1), step \(state.stepInEpoch) " +
                   "of it); checkpoint \(path); continue with --resume auto"
        comm.flightRecorder?.dump(reason: "signal", message: note)
        log.info(note)
        return RunSummary(runDirectory: run.path, final: nil, interruptedAt: path)
    }

    /// The end of an epoch: batch-norm statistics averaged, the evaluation, the metrics line, the
    /// checkpoint. Returns the evaluation.
    func endEpoch(_ epochRun: EpochRun, profile: EpochProfile?) throws -> Evaluation {
        let epoch = epochRun.epoch
        if log.interactive { log.progress("epoch \(epoch + 1)/\(config.totalEpochs): evaluating on " +
                                          "\(dataset.test.count) test samples ...") }
        try Evaluator.averageBatchNormBuffers(model, comm: comm)
        let evaluation = try evaluate(epoch: epoch)
        let line = metrics(event: "epoch", epoch: epoch, lr: epochRun.lr, evaluation: evaluation,
                           samples: epochRun.samples,
                           trainSeconds: epochRun.trainSeconds, epochSeconds: Date().timeIntervalSince(epochRun.start))
        state.metrics.append(line)
        try timed(.logging, profile) {
            log.clearProgress()
            log.info(Self.summaryLine(line, epochs: config.totalEpochs))
        }
        state.epoch += 1
        state.stepInEpoch = 0
        state.epochLossSum = 0
        state.epochLossSteps = 0
        state.epochSkipped = 0
        try timed(.logging, profile) { try writeMetrics() }
        try timed(.checkpoint, profile) { try keepBest() }
        if config.checkpointEvery > 0, state.epoch % config.checkpointEvery == 0, state.epoch < config.totalEpochs {
            if config.maxSteps.map({ state.globalStep < $0 }) ?? true { try timed(.checkpoint,
                                                                                  profile) { try saveCheckpoint() } }
        }
        if let profile {
            // The epoch's line was written (and checkpointed) before its checkpoint was timed:
            // add the profile to it and write the metrics again (that write counts to the next epoch).
            let figures = profile.finishEpoch()
            state.metrics[state.metrics.count - 1].profile = figures
            log.info(EpochProfile.line(figures))
            try writeMetrics()
        }
        return evaluation
    }

    /// The end: the final checkpoint (before batch-norm statistics are averaged, so that a run
    /// resumed from it continues exactly), one more evaluation if steps ran since the last, the
    /// done line, the final weights and the report.
    func finish(lastEvaluation: (step: Int, result: Evaluation)?) throws -> RunSummary {
        if config.profile {
            let p = step.prefetch!
            p.drain()
            log.info(String(format: "data path (rank 0): %d samples gathered, augmented and normalised in %.2f s, " +
                            "%.0f samples/s on one thread; the steps waited %.2f s for them", p.assembledSamples,
                            p.assemblySeconds, Double(p.assembledSamples) / max(p.assemblySeconds, 1e-9),
                            p.waitedSeconds))
        }
        try saveCheckpoint()
        try Evaluator.averageBatchNormBuffers(model, comm: comm)
        let evaluation: Evaluation
        if let last = lastEvaluation, last.step == state.globalStep {
            evaluation = last.result
        } else {
            if step.statistics.counts.isEmpty { try beginEpoch(min(state.epoch, config.totalEpochs - 1)) }
            evaluation = try evaluate(epoch: nil)
        }
        let epoch = max(min(state.epoch, config.totalEpochs) - (state.stepInEpoch == 0 ? 1 : 0), 0)
        let lr = config.learningRate(epoch: epoch, phase: step.phases.phase(at: epoch))
        let done = metrics(event: "done", epoch: epoch, lr: lr, evaluation: evaluation, samples: 0, trainSeconds: 0,
                           epochSeconds: 0)
        state.metrics.append(done)
        let final = FinalModel(model: model, evaluation: evaluation, test: dataset.test,
                               statistics: dataset.statistics(), run: run,
                               config: config)
        try outputs.finish(final, comm: comm, log: log)
        try comm.agree {
            guard comm.rank == 0 else { return }
            try outputs.writeMetrics(state.metrics, run: run, config: config)
            try SafeTensors.write(WeightsExport.tensors(of: model), to: run.finalWeights, metadata: card.metadata)
            try outputs.writeReport(state.metrics, config: config, classNames: dataset.classNames, run: run)
        }
        return RunSummary(runDirectory: run.path, final: done, interruptedAt: nil)
    }

    /// Runs `body`, adding its time to `phase` of `profile` when profiling.
    func timed(_ phase: EpochProfile.Phase, _ profile: EpochProfile?, _ body: () throws -> Void) throws {
        if let profile { try profile.measure(phase, body) } else { try body() }
    }

    /// The epoch's order, its global class counts (summed over ranks) and, from them, the class
    /// weights and CRL's Omega: identical on every rank and equal to one process's.
    func beginEpoch(_ epoch: Int) throws {
        try step.beginEpoch(epoch, labels: dataset.train.labels, classes: dataset.classes)
    }

    /// Rewrites the run's metrics (collective: a failure on rank 0 stops every rank cleanly).
    func writeMetrics() throws {
        try comm.agree { if comm.rank == 0 { try outputs.writeMetrics(state.metrics, run: run, config: config) } }
    }

    func metrics(event: String, epoch: Int, lr: Float, evaluation e: Evaluation, samples: Int,
                 trainSeconds: Double, epochSeconds: Double) -> EpochMetrics {
        let previous = state.metrics.last { $0.event == "epoch" }?.training
        let finalLine = event == "done"
        let meanLoss = state.epochLossSum / Double(max(state.epochLossSteps, 1))
        var training = TrainingFigures(
            trainLoss: finalLine ? (previous?.trainLoss ?? meanLoss) : meanLoss,
                lossPhase: step.phases.phase(at: epoch).lossName,
            classCounts: step.statistics.counts,
                classWeights: step.statistics.weights ?? Array(repeating: 1, count: dataset.classes),
            omega: step.statistics.omega,
            samplesPerS: finalLine
                ? (previous?.samplesPerS ?? 0) : (trainSeconds > 0 ? Double(samples) / trainSeconds : 0),
            epochSeconds: epochSeconds, skippedSteps: finalLine ? state.totalSkipped : state.epochSkipped,
            exposedCommSeconds: step.exposedSeconds, worldSize: comm.size, sampledPerClass: step.statistics.sampled)
        training.stage = step.phases.phase(at: epoch).stage
        training.phase = step.phases.index(at: epoch) + 1
        return EpochMetrics(event: event, epoch: epoch, step: state.globalStep, lr: Double(lr), training: training,
                            figures: e.figures)
    }

    /// One plain line per epoch (cluster logs).
    static func summaryLine(_ m: EpochMetrics, epochs: Int) -> String {
        let t = m.figures.test
        return String(format: "epoch %d/%d  step %d  lr %.4g  loss %.4f (%@)  test acc %.2f%%  balanced %.2f%%  " +
                              "many/medium/few %.1f/%.1f/%.1f%@%@  %.0f samples/s  %.1fs",
                      m.epoch + 1, epochs, m.step, m.lr, m.training.trainLoss, m.training.lossPhase, 100 * t.accuracy,
                      100 * t.balanced,
                      100 * t.many, 100 * t.medium, 100 * t.few,
                      m.figures.retrieval.map { String(format: "  P@1 %.1f%%", 100 * $0.precisionAt1) } ?? "",
                      m.figures.val.map { String(format: "  val balanced %.2f%%", 100 * $0.balanced) } ?? "",
                      m.training.samplesPerS, m.training.epochSeconds)
    }

    func showProgress(epoch: Int, step: Int, steps: Int, samples: Int, seconds: Double) {
        let width = 24
        let filled = width * step / max(steps, 1)
        let rate = seconds > 0 ? Double(samples) / seconds : 0
        let remainingSteps = (config.totalEpochs - epoch - 1) * steps + (steps - step)
        let perStep = step > 0 ? seconds / Double(step) : 0
        let eta = Int(Double(remainingSteps) * perStep)
        let loss = state.epochLossSteps > 0 ? state.epochLossSum / Double(state.epochLossSteps) : .nan
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        log.progress(String(format: "epoch %d/%d [%@] %d/%d  %.0f samples/s  loss %.4f  ETA %dm%02ds",
                            epoch + 1, config.totalEpochs, bar, step, steps, rate, loss, eta / 60, eta % 60))
    }
}
