import Checkpoint
import Distributed
import Foundation
import NN

extension Trainer {
    /// The start of the second stage (collective): rank 0 keeps the first stage's model as
    /// `stage1.safetensors` (batch-norm statistics averaged at the epoch's end), then the step
    /// starts the stage afresh (`TrainStep.beginSecondStage`).
    func beginSecondStage() throws {
        try comm.agree {
            guard comm.rank == 0 else { return }
            try SafeTensors.write(WeightsExport.tensors(of: model), to: run.stage1Weights, metadata: card.metadata)
        }
        try step.beginSecondStage()
        log.info("stage 2: \(config.stage2.summary), class-balanced sampling; the first stage's model is in " +
                 run.stage1Weights)
    }

    /// With a validation split: when the epoch just ended is the best yet by `--select-by`, its
    /// weights (`best.safetensors`, batch-norm statistics averaged) and a checkpoint (`best.ckpt`,
    /// outside the rotation) (collective).
    func keepBest() throws {
        guard validator != nil, let best = Selection.best(state.metrics, by: config.selectBy),
            best.epoch == state.metrics.last?.epoch, state.metrics.last?.event == "epoch" else { return }
        try comm.agree {
            guard comm.rank == 0 else { return }
            try SafeTensors.write(WeightsExport.tensors(of: model), to: run.bestWeights, metadata: card.metadata)
        }
        try saveCheckpoint(to: run.bestCheckpoint)
    }

    /// Writes `checkpoints/step-<step>.ckpt`, kept among the last `--keep-checkpoints`, or `path`
    /// (collective: every rank contributes its batch-norm statistics; rank 0 writes atomically).
    /// A failure to write stops every rank cleanly.
    func saveCheckpoint(to path: String? = nil) throws {
        defer { watchdog?.beat(epoch: state.epoch, step: state.stepInEpoch) }  // a long write is progress too
        let buffers = try step.gatheredBuffers()
        try comm.agree {
            guard comm.rank == 0 else { return }
            state.optimizerSteps = step.optimizerSteps
            state.card = card
            let manifest = try RunDirectory.json(state)
            try buffers.withUnsafeBufferPointer { all in
                let path = path ?? run.checkpointPath(step: state.globalStep)
                let start = Date()
                let bytes = try CheckpointFile.write(path: path, manifest: manifest,
                                                     tensors: step.checkpointTensors(buffers: all),
                                                     level: Int32(config.checkpointLevel))
                lastCheckpoint = (path, bytes, Date().timeIntervalSince(start))
            }
            if path == nil { run.pruneCheckpoints(keep: config.keepCheckpoints) }
        }
    }

    /// Resumes from `setting`: `auto` takes the newest valid checkpoint of the run directory
    /// (none: a fresh start), anything else is a checkpoint path that must be valid.
    /// Returns the path resumed from, or nil.
    public func resume(_ setting: String) throws -> String? {
        // A sound checkpoint of another model or optimiser is the user's mistake: refuse rather
        // than start fresh over that run's checkpoints.
        guard let found = try CheckpointReading.read(setting == "auto" ? run.checkpoints() : [setting],
                                                     skipDamaged: setting == "auto",
                                                     comm: comm, log: log, validate: { c, saved, path in
                                                         try step.validate(c, saved: saved, path: path)
                                                     }) else { return nil }
        let saved = found.state
        try step.restore(found.contents, savedWorldSize: saved.worldSize)
        // The kernels the checkpoint's run measured, unless this run chose its own.
        if config.convPrecision == nil, config.precision == saved.config.precision,
           let plan = saved.config.convPrecision {
            config.convPrecision = plan
        }

        let differing = Self.differingSettings(saved.config, config)
        if !differing.isEmpty {
            log.info("note: resuming with settings that differ from the checkpoint's: " +
                     "\(differing.joined(separator: ", "))")
        }
        if saved.worldSize != comm.size {
            if dataset.sharded {
                log.info("note: resuming a \(saved.worldSize)-rank checkpoint on \(comm.size) ranks: the data is " +
                         "re-sharded, so the run is not bit-identical to an uninterrupted one")
            } else {
                log.info("note: resuming a \(saved.worldSize)-rank checkpoint on \(comm.size) ranks: the global " +
                         "batches stay the same, so the run continues its trajectory (to float rounding; batch-norm " +
                         "statistics are the mean of the \(saved.worldSize) ranks')")
            }
        }
        var restored = saved
        restored.config = config
        // A finished run's "done" line is written again when the resumed run ends.
        restored.metrics.removeAll { $0.event == "done" }
        restored.worldSize = comm.size
        state = restored
        step.optimizerSteps = saved.optimizerSteps
        return found.path
    }

    /// Settings that change what a resumed run computes (every option but the Running
    /// group's), where they differ.
    static func differingSettings(_ a: TrainConfig, _ b: TrainConfig) -> [String] {
        let running = Set(TrainOptions.running.options.map(\.name))
        return TrainConfig.parser.options.compactMap { option in
            let (x, y) = (option.text(in: a.settings), option.text(in: b.settings))
            return running.contains(option.name) || x == y ? nil : "--\(option.name) \(x.isEmpty ? "(default)" : x) " +
                                                                   "-> \(y.isEmpty ? "(default)" : y)"
        }
    }
}
