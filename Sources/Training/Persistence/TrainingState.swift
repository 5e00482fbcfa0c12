import Checkpoint
import Foundation

/// Where a run stands: what a checkpoint's manifest holds besides the tensors.
///
/// Every random choice is a pure function of (seed, epoch, step, position), so
/// the position in the run is the whole random state; accumulators are global
/// (identical on every rank), so rank 0's copy is the job's.
public struct TrainingState: Codable, Sendable, Equatable {
    public var format = "ddp-train checkpoint"
    public var formatVersion = 1
    public var config: TrainConfig
    /// The epoch in progress (0-based) and the next step of it.
    public var epoch = 0
    public var stepInEpoch = 0
    /// Optimiser steps attempted so far (skipped ones included).
    public var globalStep = 0
    /// Optimiser steps taken (AdamW's bias correction).
    public var optimizerSteps = 0
    public var worldSize = 1
    /// Sum of the global batch losses of this epoch's steps, and their number.
    public var epochLossSum = 0.0
    public var epochLossSteps = 0
    public var epochSkipped = 0
    public var consecutiveSkips = 0
    public var totalSkipped = 0
    /// Lines of metrics.jsonl written so far.
    public var metrics: [EpochMetrics] = []
    /// What using the model needs without the training set (absent in older checkpoints).
    public var card: ModelCard?

    public init(config: TrainConfig) {
        self.config = config
    }

    enum CodingKeys: String, CodingKey {
        case format
        case formatVersion = "format_version"
        case config, epoch
        case stepInEpoch = "step_in_epoch"
        case globalStep = "global_step"
        case optimizerSteps = "optimizer_steps"
        case worldSize = "world_size"
        case epochLossSum = "epoch_loss_sum"
        case epochLossSteps = "epoch_loss_steps"
        case epochSkipped = "epoch_skipped"
        case consecutiveSkips = "consecutive_skips"
        case totalSkipped = "total_skipped"
        case metrics, card
    }
}

extension TrainingState {
    /// Decodes a checkpoint's manifest and checks it as `train` checks its options (the
    /// configuration's `problems()`), plus the position's own ranges: a file with a sound
    /// checksum but unsound contents is refused by `eval`, `inspect` and `--resume` alike.
    public static func decode(manifest: Data, path: String) throws -> TrainingState {
        let state: TrainingState
        do {
            state = try JSONDecoder().decode(TrainingState.self, from: manifest)
        } catch {
            throw CheckpointError.invalid(path: path, reason: "unreadable manifest: \(error)")
        }
        var problems = state.config.problems()
        func check(_ ok: Bool, _ message: String) { if !ok { problems.append(message) } }
        check(state.epoch >= 0 && state.epoch <= state.config.totalEpochs,
              "epoch \(state.epoch), expected 0...\(state.config.totalEpochs)")
        check(state.stepInEpoch >= 0, "step in epoch \(state.stepInEpoch), expected at least 0")
        check(state.globalStep >= 0, "global step \(state.globalStep), expected at least 0")
        check(state.optimizerSteps >= 0 && state.optimizerSteps <= state.globalStep,
              "optimizer steps \(state.optimizerSteps), expected 0...\(state.globalStep) (the global step)")
        check(state.worldSize >= 1 && state.worldSize <= 1 << 20,
              "world size \(state.worldSize), expected 1...\(1 << 20)")
        check(state.epochLossSteps >= 0 && state.epochSkipped >= 0 && state.consecutiveSkips >= 0
            && state.totalSkipped >= 0,
              "negative step counters")
        if let problem = state.card?.problem { problems.append("card: \(problem)") }
        guard problems.isEmpty else {
            throw CheckpointError.invalid(path: path, reason: "manifest: " + problems.joined(separator: "; "))
        }
        return state
    }
}
