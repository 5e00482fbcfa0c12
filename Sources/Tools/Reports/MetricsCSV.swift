import Training
import Foundation

/// `metrics.csv` beside `metrics.jsonl`, for spreadsheets: one row per epoch, the scalar
/// columns (per-class lists and matrices stay in the JSON). Columns that no epoch has
/// (retrieval of older runs, post-hoc figures when off) are left out.
public enum MetricsCSV {
    /// The columns of a line: its position, its scalars (`EpochMetrics.scalars`) and the rest.
    static func columns(_ m: EpochMetrics) -> [(String, String?)] {
        [("epoch", "\(m.epoch + 1)"), ("step", "\(m.step)")] + m.scalars.map { ($0.0, $0.1.map(number)) }
            + [("skipped_steps", "\(m.training.skippedSteps)"), ("loss_phase", m.training.lossPhase),
               ("world_size", "\(m.training.worldSize)")]
    }

    /// Shortest text that reads back as the same double (JSON's form).
    static func number(_ v: Double) -> String { v.isFinite
        ? "\(v)" : (v.isNaN ? "NaN" : (v > 0 ? "Infinity" : "-Infinity")) }

    public static func text(_ lines: [EpochMetrics]) -> String {
        let rows = lines.filter { $0.event == "epoch" }.map(columns)
        guard let names = rows.first?.map(\.0) else { return "epoch\n" }
        let used = names.indices.filter { i in i == 0 || rows.contains { $0[i].1 != nil } }
        var out = used.map { names[$0] }.joined(separator: ",") + "\n"
        for row in rows {
            // loss_phase is the only text: names without commas or quotes.
            out += used.map { row[$0].1 ?? "" }.joined(separator: ",") + "\n"
        }
        return out
    }
}
