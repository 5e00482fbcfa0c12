import Data
import Distributed
import NN

/// What a run writes into its directory besides config.json, checkpoints and final.safetensors:
/// the command gives the `Trainer` one. `MetricsFile` writes metrics.jsonl alone; the tools'
/// `RunFiles` adds metrics.csv, TensorBoard's events, report.html and the final model's
/// explanations, so that training does not depend on them.
public protocol RunOutputs: AnyObject {
    /// Rank 0: the run's metrics so far, rewritten whole (after every epoch, at a stop, at the end).
    func writeMetrics(_ lines: [EpochMetrics], run: RunDirectory, config: TrainConfig) throws
    /// Every rank (collective), once at the end, before the last metrics: what the final model
    /// adds to the run directory. Errors every rank agreed on are warned about, not fatal.
    func finish(_ final: FinalModel, comm: Communicator, log: Log) throws
    /// Rank 0, last: pages over the run (report.html).
    func writeReport(_ lines: [EpochMetrics], config: TrainConfig, classNames: [String]?, run: RunDirectory) throws
}

/// The final model of a run, evaluated.
public struct FinalModel {
    public var model: Model
    public var evaluation: Evaluation
    public var test: Split
    public var statistics: DataStatistics
    public var run: RunDirectory
    public var config: TrainConfig
}

/// metrics.jsonl alone.
public final class MetricsFile: RunOutputs {
    public init() {}
    public func writeMetrics(_ lines: [EpochMetrics], run: RunDirectory,
                             config: TrainConfig) throws { try run.writeMetrics(lines) }
    public func finish(_ final: FinalModel, comm: Communicator, log: Log) throws {}
    public func writeReport(_ lines: [EpochMetrics], config: TrainConfig, classNames: [String]?,
                            run: RunDirectory) throws {}
}
