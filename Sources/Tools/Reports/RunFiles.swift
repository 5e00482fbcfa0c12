import Files
import Checkpoint
import Distributed
import Foundation
import Training

/// Everything a training run writes besides config.json, checkpoints and final.safetensors:
/// metrics.jsonl, metrics.csv and TensorBoard's event file after every epoch (each rewritten
/// whole and atomically, so a resumed run drops what came after its checkpoint), the final
/// model's explanations and report.html at the end.
public final class RunFiles: RunOutputs {
    public init() {}

    public func writeMetrics(_ lines: [EpochMetrics], run: RunDirectory, config: TrainConfig) throws {
        try run.writeMetrics(lines)
        try AtomicFile.write(run.metricsCSV, data: Data(MetricsCSV.text(lines).utf8))
        if config.tensorboard {
            try FileManager.default.createDirectory(atPath: run.tensorboardDirectory, withIntermediateDirectories: true)
            let (file, start) = TensorBoardEvents.path(in: run.tensorboardDirectory)
            try AtomicFile.write(file, data: TensorBoardEvents.file(lines, start: start))
        }
    }

    /// The final model's maps of the worst classes' misclassified test images (`--report-explanations`).
    public func finish(_ final: FinalModel, comm: Communicator, log: Log) throws {
        guard final.config.reportExplanations else { return }
        // Every rank fails alike (agreed errors), so the run goes on without the section.
        do {
            _ = try ExplainJob.worstClasses(final, directory: final.run.path + "/explanations", comm: comm)
        } catch let failure as CollectiveFailure {
            log.warn("report.html without explanations: \(failure.message)")
        }
    }

    public func writeReport(_ lines: [EpochMetrics], config: TrainConfig, classNames: [String]?,
                            run: RunDirectory) throws {
        try Report.write(metrics: lines, config: config, classNames: classNames, to: run.reportFile)
    }
}
