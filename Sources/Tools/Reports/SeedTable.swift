import Foundation
import Training

/// Runs that differ only in `--seed` or `--data-seed`, as one entry of a paper's table: the mean
/// and sample standard deviation over them of each figure, for the epoch chosen on the
/// validation split and for the last.
public struct SeedGroup {
    /// The options that set the group apart from the others where not at their defaults, and the
    /// loss (`--stage2 crt --loss ce`), or the first run's name.
    public var label: String
    public var runs: [Comparison.Run]

    /// The options that may differ inside a group.
    public static let seedOptions: Set<String> = ["seed", "data-seed"]
}

extension Comparison {
    /// The runs grouped by every option but the seeds (running options aside), in order of first appearance.
    public var groups: [SeedGroup] {
        let inside = differing.filter { !SeedGroup.seedOptions.contains($0) }
        var out: [(key: [String], group: SeedGroup)] = []
        for run in runs {
            let options = inside.compactMap { TrainConfig.parser.option(named: $0) }
            let key = options.map { $0.text(in: run.config.settings) }
            if let i = out.firstIndex(where: { $0.key == key }) {
                out[i].group.runs.append(run)
            } else {
                let defaults = TrainConfig().settings
                // The loss names the method even at its default.
                let label = zip(options, key).filter { $0.name == "loss" || $0.text(in: defaults) != $1 }
                    .map { "--\($0.name) \($1)" }
                    .joined(separator: " ")
                out.append((key, SeedGroup(label: label.isEmpty ? run.name : label, runs: [run])))
            }
        }
        return out.map(\.group)
    }
}

/// `compare --table md|csv|latex`: one row per group and model (best by validation, last), the
/// figures a long-tail paper reports, mean ± standard deviation over the group's seeds, in percent.
public struct SeedTable {
    public enum Format: String, CaseIterable, Sendable { case md, csv, latex }

    /// The table's figures: metrics keys and headings.
    public static let columns: [(key: String, heading: String)] = [
        ("test_acc", "overall"), ("many", "many"), ("medium", "medium"), ("few", "few"), ("many_shot", "many-shot"),
        ("medium_shot", "medium-shot"), ("few_shot", "few-shot"), ("balanced_acc", "balanced"),
        ("top5_acc", "top-5"), ("ece", "ECE"),
    ]

    public struct Row {
        public var label: String
        /// "best" (the epoch `--select-by` chose on the validation split) or "last".
        public var model: String
        public var seeds: Int
        /// Per column: mean and standard deviation over the seeds that have the figure (nil: none has).
        public var cells: [(mean: Double, sd: Double)?]
    }

    public var rows: [Row]

    public init(_ comparison: Comparison) {
        rows = []
        for group in comparison.groups {
            let best = group.runs.map { Selection.best($0.epochs, by: $0.config.selectBy) }
            if best.allSatisfy({ $0 != nil }) {
                rows.append(Self.row(group, model: "best", lines: best.map { $0! }))
            }
            rows.append(Self.row(group, model: "last", lines: group.runs.map(\.final)))
        }
    }

    static func row(_ group: SeedGroup, model: String, lines: [EpochMetrics]) -> Row {
        Row(label: group.label, model: model, seeds: lines.count, cells: columns.map { column in
            let values = lines.compactMap { $0.value(column.key) }.map { 100 * $0 }
            guard !values.isEmpty else { return nil }
            let mean = values.reduce(0, +) / Double(values.count)
            let sd = values.count > 1
                ? (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count - 1)).squareRoot() : 0
            return (mean, sd)
        })
    }

    /// The columns some row has (empty shot groups and top-5 of few classes left out).
    var present: [Int] { Self.columns.indices.filter { i in rows.contains { $0.cells[i] != nil } } }

    public func render(_ format: Format) -> String {
        let cols = present
        let headings = ["method", "model", "n"] + cols.map { Self.columns[$0].heading }
        switch format {
        case .md:
            var s = "| " + headings.joined(separator: " | ") + " |\n"
            s += "|" + headings.indices.map { $0 < 2 ? "---|" : "---:|" }.joined() + "\n"
            for r in rows {
                s += "| \(r.label.replacingOccurrences(of: "|", with: "\\|")) | \(r.model) | \(r.seeds) | "
                s += cols.map { r.cells[$0].map { String(format: "%.2f ± %.2f", $0.mean, $0.sd) } ?? "-" }
                    .joined(separator: " | ") + " |\n"
            }
            return s
        case .csv:
            func quoted(_ text: String) -> String {
                text.contains(where: { ",\"\n".contains($0) }) ? "\"" + text.replacingOccurrences(of: "\"",
                                                                                                 with: "\"\"") + "\""
                    : text
            }
            var s = (["method", "model", "n"] + cols.flatMap { [Self.columns[$0].key + "_mean",
                                                               Self.columns[$0].key + "_sd"] })
                .joined(separator: ",") + "\n"
            for r in rows {
                s += ([quoted(r.label), r.model, "\(r.seeds)"] + cols.flatMap { i in
                    r.cells[i].map { [String(format: "%.4f", $0.mean), String(format: "%.4f", $0.sd)] } ?? ["", ""]
                }).joined(separator: ",") + "\n"
            }
            return s
        case .latex:
            func escaped(_ text: String) -> String {
                var out = ""
                for ch in text {
                    switch ch {
                    case "\\": out += "\\textbackslash{}"
                    case "&", "%", "$", "#", "_", "{", "}": out += "\\\(ch)"
                    case "~": out += "\\textasciitilde{}"
                    case "^": out += "\\textasciicircum{}"
                    default: out.append(ch)
                    }
                }
                return out
            }
            var s = "\\begin{tabular}{ll r" + String(repeating: "r", count: cols.count) + "}\n\\hline\n"
            s += headings.map(escaped).joined(separator: " & ") + " \\\\\n\\hline\n"
            for r in rows {
                s += (["\\texttt{\(escaped(r.label))}", r.model, "\(r.seeds)"] + cols.map { i in
                    r.cells[i].map { String(format: "$%.2f \\pm %.2f$", $0.mean, $0.sd) } ?? "--"
                }).joined(separator: " & ") + " \\\\\n"
            }
            return s + "\\hline\n\\end{tabular}\n"
        }
    }
}
