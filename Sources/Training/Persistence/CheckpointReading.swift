import Checkpoint
import Distributed
import Foundation

/// Rank 0 reads a checkpoint and every rank learns what it found: the one way `--resume` and
/// the commands that load a trained model (`eval`, `explain`, ...) read checkpoints.
enum CheckpointReading {
    struct Found {
        var path: String
        /// The manifest, decoded and checked, on every rank.
        var state: TrainingState
        /// The tensors, on rank 0 only.
        var contents: CheckpointFile.Contents?
    }

    /// The first of `candidates` that reads soundly and passes `validate` (on rank 0), or nil when
    /// there is none (collective). With `skipDamaged` a damaged file (truncated, a bad checksum)
    /// is skipped with a warning (`--resume auto` falls back to the one before); otherwise its
    /// error, or `validate`'s, ends every rank with one message.
    static func read(_ candidates: [String], skipDamaged: Bool, comm: Communicator, log: Log,
                     validate: (CheckpointFile.Contents, TrainingState, String) throws -> Void = { _, _,
                         _ in }) throws -> Found? {
        var contents: CheckpointFile.Contents?
        let found: String = try comm.agree {
            guard comm.rank == 0 else { return "" }
            for path in candidates {
                let c: CheckpointFile.Contents
                do {
                    c = try CheckpointFile.read(path: path)
                } catch {
                    if !skipDamaged { throw error }
                    log.warn("skipping \(path): \(error)")
                    continue
                }
                try validate(c, try TrainingState.decode(manifest: c.manifest, path: path), path)
                contents = c
                return path
            }
            return ""
        }
        let path = try comm.broadcast(string: found)
        if path.isEmpty { return nil }
        let manifest = try comm.broadcast(string: contents.map { String(decoding: $0.manifest, as: UTF8.self) } ?? "")
        let state = try comm.agree { try TrainingState.decode(manifest: Data(manifest.utf8), path: path) }
        return Found(path: path, state: state, contents: contents)
    }
}
