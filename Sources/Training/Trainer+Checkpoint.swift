import Checkpoint
import Distributed
import Foundation
import NN

extension Trainer {
    /// Writes `checkpoints/step-<step>.ckpt` (collective: every rank contributes its batch-norm
    /// statistics; rank 0 writes atomically). A failure to write stops every rank cleanly.
    func saveCheckpoint() throws {
        defer { watchdog?.beat(epoch: state.epoch, step: state.stepInEpoch) }  // a long write is progress too
        let nb = model.buffers.count
        var all = [Float](repeating: 0, count: max(nb * comm.size, 1))
        if nb > 0 {
            try all.withUnsafeMutableBytes { receive in
                try comm.allGather(UnsafeRawPointer(model.buffers.values), byteCounts: Array(repeating: nb * 4, count: comm.size),
                                   into: receive.baseAddress!)
            }
        }
        try comm.agree {
            guard comm.rank == 0 else { return }
            let optimizer = step.optimizer
            state.optimizerSteps = optimizer.stepCount
            state.card = card
            let manifest = try RunDirectory.json(state)
            let params = model.parameters
            try all.withUnsafeBufferPointer { buffers in
                var tensors: [CheckpointFile.Tensor] = []
                for e in params.entries {
                    tensors.append(.init(name: CheckpointNames.parameter(e.name), shape: e.shape,
                                         values: UnsafeBufferPointer(start: params.values + e.offset, count: e.count)))
                }
                for (i, name) in optimizer.stateNames.enumerated() {
                    tensors.append(.init(name: CheckpointNames.optimizer(name), shape: [params.count],
                                         values: UnsafeBufferPointer(rebasing: optimizer.state[(i * params.count)..<((i + 1) * params.count)])))
                }
                for (name, t) in step.loss.state {
                    tensors.append(.init(name: CheckpointNames.loss(name), shape: t.shape,
                                         values: UnsafeBufferPointer(start: t.data, count: t.count)))
                }
                for r in 0..<comm.size {
                    for e in model.buffers.entries {
                        tensors.append(.init(name: CheckpointNames.buffer(e.name, rank: r), shape: e.shape,
                                             values: UnsafeBufferPointer(start: buffers.baseAddress! + r * nb + e.offset, count: e.count)))
                    }
                }
                let path = run.checkpointPath(step: state.globalStep)
                let start = Date()
                let bytes = try CheckpointFile.write(path: path, manifest: manifest, tensors: tensors, level: Int32(config.checkpointLevel))
                lastCheckpoint = (path, bytes, Date().timeIntervalSince(start))
            }
            run.pruneCheckpoints(keep: config.keepCheckpoints)
        }
    }

    /// Resumes from `setting`: `auto` takes the newest valid checkpoint of the run directory
    /// (none: a fresh start), anything else is a checkpoint path that must be valid.
    /// Returns the path resumed from, or nil.
    public func resume(_ setting: String) throws -> String? {
        // Rank 0 reads and checks; the others receive what it found.
        var contents: CheckpointFile.Contents?
        let found: String = try comm.agree {
            guard comm.rank == 0 else { return "" }
            let candidates = setting == "auto" ? run.checkpoints() : [setting]
            for path in candidates {
                let c: CheckpointFile.Contents
                do {
                    c = try CheckpointFile.read(path: path)
                } catch {
                    // A damaged file (truncated, checksum): auto falls back to the previous one.
                    if setting != "auto" { throw error }
                    log.warn("skipping \(path): \(error)")
                    continue
                }
                // A sound checkpoint of another model or optimiser is the user's mistake: refuse
                // rather than start fresh over that run's checkpoints.
                try validate(c, path: path)
                contents = c
                return path
            }
            return ""
        }
        let path = try comm.broadcast(string: found)
        if path.isEmpty { return nil }

        let manifest = try comm.broadcast(string: contents.map { String(decoding: $0.manifest, as: UTF8.self) } ?? "")
        let saved = try TrainingState.decode(manifest: Data(manifest.utf8), path: path)
        let params = model.parameters, optimizer = step.optimizer, loss = step.loss
        if let c = contents {
            CheckpointModel.loadParameters(c, into: model)
            for (i, name) in optimizer.stateNames.enumerated() {
                let v = c.values(of: CheckpointNames.optimizer(name))!
                v.withUnsafeBufferPointer { (optimizer.state.baseAddress! + i * params.count).update(from: $0.baseAddress!, count: params.count) }
            }
        }
        for (name, t) in loss.state {
            if let v = contents?.values(of: CheckpointNames.loss(name)) {
                v.withUnsafeBufferPointer { t.data.update(from: $0.baseAddress!, count: t.count) }
            }
        }
        try comm.broadcast(params.valueBuffer)
        try comm.broadcast(optimizer.state)
        for (_, t) in loss.state { try comm.broadcast(UnsafeMutableBufferPointer(start: t.data, count: t.count)) }

        // Batch-norm statistics: each rank its own when the world size is unchanged, else their mean.
        let nb = model.buffers.count
        if nb > 0 {
            var all = contents.map { CheckpointModel.buffers($0, model: model, worldSize: saved.worldSize) }
                ?? [Float](repeating: 0, count: nb * saved.worldSize)
            try comm.broadcast(&all)
            for j in 0..<nb {
                if saved.worldSize == comm.size {
                    model.buffers.values[j] = all[comm.rank * nb + j]
                } else {
                    var s: Float = 0
                    for r in 0..<saved.worldSize { s += all[r * nb + j] }
                    model.buffers.values[j] = s / Float(saved.worldSize)
                }
            }
        }

        let differing = Self.differingSettings(saved.config, config)
        if !differing.isEmpty {
            log.info("note: resuming with settings that differ from the checkpoint's: \(differing.joined(separator: ", "))")
        }
        if saved.worldSize != comm.size {
            if dataset.sharded {
                log.info("note: resuming a \(saved.worldSize)-rank checkpoint on \(comm.size) ranks: the data is re-sharded, so the run is not bit-identical to an uninterrupted one")
            } else {
                log.info("note: resuming a \(saved.worldSize)-rank checkpoint on \(comm.size) ranks: the global batches stay the same, so the run continues its trajectory (to float rounding; batch-norm statistics are the mean of the \(saved.worldSize) ranks')")
            }
        }
        var restored = saved
        restored.config = config
        // A finished run's "done" line is written again when the resumed run ends.
        restored.metrics.removeAll { $0.event == "done" }
        restored.worldSize = comm.size
        state = restored
        optimizer.stepCount = saved.optimizerSteps
        return path
    }

    /// Throws unless the checkpoint holds every tensor this model, optimiser and loss need, with their shapes.
    func validate(_ c: CheckpointFile.Contents, path: String) throws {
        let state = try TrainingState.decode(manifest: c.manifest, path: path)
        try CheckpointModel.validate(c, model: model, worldSize: state.worldSize, saved: state.config.model, wanted: config.model, path: path)
        let shapes = Dictionary(c.entries.map { ($0.name, $0.shape) }, uniquingKeysWith: { a, _ in a })
        for name in step.optimizer.stateNames where shapes[CheckpointNames.optimizer(name)] != [model.parameters.count] {
            throw CheckpointError.invalid(path: path, reason: "no \(name) state for \(model.parameters.count) parameters: it was written with --optimizer \(state.config.optimizer.rawValue), this run uses \(config.optimizer.rawValue)")
        }
        for (name, t) in step.loss.state where shapes[CheckpointNames.loss(name)] != t.shape {
            throw CheckpointError.invalid(path: path, reason: "no \(name) of shape \(t.shape): it was written with --metric-loss \(state.config.metricLoss.rawValue), this run uses \(config.metricLoss.rawValue)")
        }
    }

    /// Settings that change what a resumed run computes (every option but the Running
    /// group's), where they differ.
    static func differingSettings(_ a: TrainConfig, _ b: TrainConfig) -> [String] {
        let running = Set(TrainOptions.running.options.map(\.name))
        return TrainConfig.parser.options.compactMap { option in
            let (x, y) = (option.text(in: a.settings), option.text(in: b.settings))
            return running.contains(option.name) || x == y ? nil : "--\(option.name) \(x.isEmpty ? "(default)" : x) -> \(y.isEmpty ? "(default)" : y)"
        }
    }
}
