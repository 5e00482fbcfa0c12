import Checkpoint
import Distributed
import Foundation
import NN

/// Names of tensors inside a checkpoint.
enum CheckpointNames {
    static func parameter(_ name: String) -> String { "parameters/" + name }
    static func optimizer(_ name: String) -> String { "optimizer/" + name }
    static func buffer(_ name: String, rank: Int) -> String { "buffers/rank\(rank)/" + name }
    /// A loss term's state (center loss's centres), the same on every rank.
    static func loss(_ name: String) -> String { "loss/" + name }
}

/// A model's tensors in a checkpoint: every parameter, and each rank's batch-norm buffers.
/// Resuming and `ModelLoader` read them through here.
public enum CheckpointModel {
    /// Throws unless `c` holds every parameter of `model` and every rank's buffers, with their shapes.
    /// - saved: the checkpoint's architecture; wanted: what this program builds (for the message)
    static func validate(_ c: CheckpointFile.Contents, model: Model, worldSize: Int, saved: Architecture,
                         wanted: Architecture,
                         path: String) throws {
        let shapes = Dictionary(c.entries.map { ($0.name, $0.shape) }, uniquingKeysWith: { a, _ in a })
        for e in model.parameters.entries {
            guard let shape = shapes[CheckpointNames.parameter(e.name)] else {
                throw CheckpointError.invalid(path: path,
                                              reason: "it holds a \(saved.rawValue) model without \(e.name); this " +
                                                      "run builds a \(wanted.rawValue) model (use a matching --model " +
                                                      "or another --run-dir)")
            }
            guard shape == e.shape else {
                throw CheckpointError.invalid(path: path,
                                              reason: "\(e.name) has shape \(shape) but this run's model needs " +
                                                      "\(e.shape) (different --model, data or classes)")
            }
        }
        for r in 0..<worldSize {
            for e in model.buffers.entries where shapes[CheckpointNames.buffer(e.name, rank: r)] != e.shape {
                throw CheckpointError.invalid(path: path,
                                              reason: "batch-norm buffer \(e.name) of rank \(r) is missing " +
                                                      "or has another shape")
            }
        }
    }

    /// Copies the parameters of a validated checkpoint into `model`.
    static func loadParameters(_ c: CheckpointFile.Contents, into model: Model) {
        let params = model.parameters
        for e in params.entries {
            let v = c.values(of: CheckpointNames.parameter(e.name))!
            v.withUnsafeBufferPointer { (params.values + e.offset).update(from: $0.baseAddress!, count: e.count) }
        }
    }

    /// Every rank's buffers of a validated checkpoint, rank after rank (worldSize x buffers).
    static func buffers(_ c: CheckpointFile.Contents, model: Model, worldSize: Int) -> [Float] {
        let nb = model.buffers.count
        var all = [Float](repeating: 0, count: nb * worldSize)
        for r in 0..<worldSize {
            for e in model.buffers.entries {
                let v = Array(c.values(of: CheckpointNames.buffer(e.name, rank: r))!)
                for j in 0..<e.count { all[r * nb + e.offset + j] = v[j] }
            }
        }
        return all
    }

    /// Sets `model`'s batch-norm buffers from rank 0's validated `contents` (collective): the
    /// buffers of `ownRank` when given, else the mean of the checkpoint's ranks', summed in MPI's
    /// order and scaled as training's end-of-epoch averaging does, so that a loaded model
    /// evaluates as the run that wrote it did.
    static func restoreBuffers(_ contents: CheckpointFile.Contents?, model: Model, savedWorldSize w: Int, ownRank: Int?,
                               comm: Communicator) throws {
        let nb = model.buffers.count
        guard nb > 0 else { return }
        var all = contents.map { buffers($0, model: model, worldSize: w) } ?? [Float](repeating: 0, count: nb * w)
        try comm.broadcast(&all)
        if let rank = ownRank {
            for j in 0..<nb { model.buffers.values[j] = all[rank * nb + j] }
            return
        }
        let mean = Self.mean(all, worldSize: w)
        for j in 0..<nb { model.buffers.values[j] = mean[j] }
    }

    /// The mean of `worldSize` ranks' values (rank after rank), summed in the ranks' order and
    /// scaled as training's end-of-epoch averaging does: the one batch-norm averaging of
    /// checkpoints, for resume, `eval`, `inspect` and `export`.
    public static func mean(_ all: [Float], worldSize w: Int) -> [Float] {
        let n = all.count / max(w, 1), scale = 1 / Float(w)
        return (0..<n).map { j in
            let s = RankOrderSum.sum(count: w) { all[$0 * n + j] }
            return w == 1 ? s : s * scale
        }
    }
}
