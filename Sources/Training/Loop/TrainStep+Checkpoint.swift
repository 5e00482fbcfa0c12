import Checkpoint
import Distributed
import NN

/// What a checkpoint holds of a step, handed to the trainer and taken back: the model's
/// parameters by name, the optimiser's state, the loss terms' state and every rank's batch-norm
/// buffers. The trainer writes and reads files; it does not reach into the step's parts.
extension TrainStep {
    /// Optimiser steps taken (AdamW's bias correction).
    public var optimizerSteps: Int {
        get { optimizer.stepCount }
        set { optimizer.stepCount = newValue }
    }

    /// Every rank's batch-norm buffers, rank after rank (collective).
    public func gatheredBuffers() throws -> [Float] {
        let nb = model.buffers.count
        var all = [Float](repeating: 0, count: max(nb * comm.size, 1))
        if nb > 0 {
            try all.withUnsafeMutableBytes { receive in
                try comm.allGather(UnsafeRawPointer(model.buffers.values),
                                   byteCounts: Array(repeating: nb * 4, count: comm.size),
                                   into: receive.baseAddress!)
            }
        }
        return all
    }

    /// The tensors a checkpoint holds; `buffers` is `gatheredBuffers()`, alive while they are written.
    public func checkpointTensors(buffers: UnsafeBufferPointer<Float>) -> [CheckpointFile.Tensor] {
        let params = model.parameters, nb = model.buffers.count
        var tensors: [CheckpointFile.Tensor] = params.entries.map { e in
            .init(name: CheckpointNames.parameter(e.name), shape: e.shape,
                  values: UnsafeBufferPointer(start: params.values + e.offset, count: e.count))
        }
        for (i, name) in optimizer.stateNames.enumerated() {
            tensors.append(.init(name: CheckpointNames.optimizer(name), shape: [params.count],
                                 values: UnsafeBufferPointer(rebasing: optimizer.state[(i * params.count)..<((i + 1)
                                     * params.count)])))
        }
        for (name, t) in loss.state {
            tensors.append(.init(name: CheckpointNames.loss(name), shape: t.shape,
                                 values: UnsafeBufferPointer(start: t.data, count: t.count)))
        }
        for r in 0..<comm.size {
            for e in model.buffers.entries {
                tensors.append(.init(name: CheckpointNames.buffer(e.name, rank: r), shape: e.shape,
                                     values: UnsafeBufferPointer(start: buffers.baseAddress! + r * nb + e.offset,
                                                                 count: e.count)))
            }
        }
        return tensors
    }

    /// Throws unless the checkpoint holds every tensor this model, optimiser and loss need, with their shapes.
    func validate(_ c: CheckpointFile.Contents, saved: TrainingState, path: String) throws {
        try CheckpointModel.validate(c, model: model, worldSize: saved.worldSize, saved: saved.config.model,
                                     wanted: config.model, path: path)
        let shapes = Dictionary(c.entries.map { ($0.name, $0.shape) }, uniquingKeysWith: { a, _ in a })
        for name in optimizer.stateNames where shapes[CheckpointNames.optimizer(name)] != [model.parameters.count] {
            throw CheckpointError.invalid(path: path,
                                          reason: "no \(name) state for \(model.parameters.count) parameters: it was " +
                                                  "written with --optimizer \(saved.config.optimizer.rawValue), this " +
                                                  "run uses \(config.optimizer.rawValue)")
        }
        for (name, t) in loss.state where shapes[CheckpointNames.loss(name)] != t.shape {
            throw CheckpointError.invalid(path: path,
                                          reason: "no \(name) of shape \(t.shape): it was written with --metric-loss " +
                                                  "\(saved.config.embeddingLoss.rawValue), this run uses " +
                                                  "\(config.embeddingLoss.rawValue)")
        }
    }

    /// Takes back what `checkpointTensors` gave, from rank 0's `contents` (collective; nil on the
    /// other ranks): parameters, optimiser and loss state on every rank; each rank's own
    /// batch-norm buffers when `savedWorldSize` is this job's, else their mean.
    func restore(_ contents: CheckpointFile.Contents?, savedWorldSize: Int) throws {
        let params = model.parameters
        if let c = contents {
            CheckpointModel.loadParameters(c, into: model)
            for (i, name) in optimizer.stateNames.enumerated() {
                let v = c.values(of: CheckpointNames.optimizer(name))!
                v.withUnsafeBufferPointer { (optimizer.state.baseAddress! + i
                    * params.count).update(from: $0.baseAddress!, count: params.count) }
            }
            for (name, t) in loss.state {
                c.values(of: CheckpointNames.loss(name))!.withUnsafeBufferPointer { t.data.update(from: $0.baseAddress!,
                                                                                                  count: t.count) }
            }
        }
        try comm.broadcast(params.valueBuffer)
        try comm.broadcast(optimizer.state)
        for (_, t) in loss.state { try comm.broadcast(UnsafeMutableBufferPointer(start: t.data, count: t.count)) }
        try CheckpointModel.restoreBuffers(contents, model: model, savedWorldSize: savedWorldSize,
                                           ownRank: savedWorldSize == comm.size ? comm.rank : nil, comm: comm)
    }
}
