import Foundation

/// `metrics.csv` beside `metrics.jsonl`, for spreadsheets: one row per epoch, the scalar
/// columns (per-class lists and matrices stay in the JSON). Columns that no epoch has
/// (retrieval of older runs, post-hoc figures when off) are left out.
public enum MetricsCSV {
    static let columns: [(String, @Sendable (EpochMetrics) -> String?)] = [
        ("epoch", { "\($0.epoch + 1)" }), ("step", { "\($0.step)" }), ("lr", { number($0.lr) }),
        ("train_loss", { number($0.trainLoss) }), ("test_acc", { number($0.testAcc) }), ("balanced_acc", { number($0.balancedAcc) }),
        ("many", { number($0.many) }), ("medium", { number($0.medium) }), ("few", { number($0.few) }), ("omega", { number($0.omega) }),
        ("samples_per_s", { number($0.samplesPerS) }), ("epoch_seconds", { number($0.epochSeconds) }),
        ("skipped_steps", { "\($0.skippedSteps)" }), ("loss_phase", { $0.lossPhase }),
        ("exposed_comm_seconds", { number($0.exposedCommSeconds) }), ("world_size", { "\($0.worldSize)" }),
        ("precision_at_1", { $0.precisionAt1.map(number) }), ("r_precision", { $0.rPrecision.map(number) }),
        ("map_at_r", { $0.mapAtR.map(number) }), ("few_precision_at_1", { $0.fewPrecisionAt1.map(number) }),
        ("test_acc_posthoc", { $0.testAccPosthoc.map(number) }), ("balanced_acc_posthoc", { $0.balancedAccPosthoc.map(number) }),
        ("many_posthoc", { $0.manyPosthoc.map(number) }), ("medium_posthoc", { $0.mediumPosthoc.map(number) }),
        ("few_posthoc", { $0.fewPosthoc.map(number) }),
    ]

    /// Shortest text that reads back as the same double (JSON's form).
    static func number(_ v: Double) -> String { v.isFinite ? "\(v)" : (v.isNaN ? "NaN" : (v > 0 ? "Infinity" : "-Infinity")) }

    public static func text(_ lines: [EpochMetrics]) -> String {
        let epochs = lines.filter { $0.event == "epoch" }
        let used = columns.filter { column in column.0 == "epoch" || epochs.contains { column.1($0) != nil } }
        var out = used.map(\.0).joined(separator: ",") + "\n"
        for m in epochs {
            // loss_phase is the only text: names without commas or quotes.
            out += used.map { $0.1(m) ?? "" }.joined(separator: ",") + "\n"
        }
        return out
    }
}
