import Training
import Checkpoint
import Foundation

/// Several runs side by side (`ddp-train compare`): their final figures, the options that set
/// them apart, their curves. Runs on different data or class sets are refused with the reason.
public struct Comparison {
    public struct Run {
        /// The run directory as given, and its last path component (the label).
        public var path: String
        public var name: String
        public var config: TrainConfig
        /// The epoch lines of metrics.jsonl, and the final line ("done", else the last epoch).
        public var epochs: [EpochMetrics]
        public var final: EpochMetrics
    }

    public var runs: [Run]
    /// The options whose values differ between the runs (running options left out), in
    /// `--help` order; each run's values of them.
    public var differing: [String]

    /// One figure of the table: its JSON key, its heading, and its value in a run.
    public struct Column: Sendable {
        public var key: String
        public var heading: String
        public var value: @Sendable (EpochMetrics) -> Double?
    }

    public static let columns: [Column] = [
        Column(key: "test_acc", heading: "test acc", value: { $0.figures.test.accuracy }),
        Column(key: "balanced_acc", heading: "balanced", value: { $0.figures.test.balanced }),
        Column(key: "many", heading: "many", value: { $0.figures.test.many }),
        Column(key: "medium", heading: "medium", value: { $0.figures.test.medium }),
        Column(key: "few", heading: "few", value: { $0.figures.test.few }),
        Column(key: "precision_at_1", heading: "P@1", value: { $0.figures.retrieval?.precisionAt1 }),
        Column(key: "test_acc_posthoc", heading: "post-hoc acc", value: { $0.figures.posthoc?.accuracy }),
        Column(key: "few_posthoc", heading: "post-hoc few", value: { $0.figures.posthoc?.few }),
        Column(key: "test_acc_taunorm", heading: "tau-norm acc", value: { $0.figures.taunorm?.accuracy }),
        Column(key: "few_taunorm", heading: "tau-norm few", value: { $0.figures.taunorm?.few }),
    ]

    /// The columns every run has.
    public var presentColumns: [Column] { Self.columns.filter { c in runs.allSatisfy { c.value($0.final) != nil } } }

    /// Reads each run directory's `config.json` and `metrics.jsonl`; refuses runs that cannot
    /// be compared (no finished epoch, other data, other classes), naming them and the reason.
    public static func load(_ paths: [String]) throws -> Comparison {
        guard !paths.isEmpty else { throw ComparisonError("give at least one run directory") }
        let runs = try paths.map(read)
        let first = runs[0]
        for run in runs.dropFirst() {
            let a = first.config.dataConfig, b = run.config.dataConfig
            let settings: [(String, String, String)] = [
                ("--data", a.directory, b.directory),
                    ("--imbalance-ratio", "\(a.imbalanceRatio)", "\(b.imbalanceRatio)"),
                ("--imbalance-profile", a.imbalanceProfile.rawValue, b.imbalanceProfile.rawValue),
            ]
            for (name, x, y) in settings where x != y {
                throw ComparisonError("\(first.path) and \(run.path) trained on different data (\(name) \(x) vs " +
                                      "\(y)): their figures do not compare")
            }
            guard first.final.figures.test.perClass.count == run.final.figures.test.perClass.count else {
                throw ComparisonError("\(first.path) has \(first.final.figures.test.perClass.count) classes, " +
                                      "\(run.path) \(run.final.figures.test.perClass.count): different class " +
                                      "sets do not compare")
            }
        }
        let running = Set(TrainOptions.running.options.map(\.name))
        let options = TrainConfig.parser.options.filter { !running.contains($0.name) }
        let differing = options.filter { o in Set(runs.map { o.text(in: $0.config.settings) }).count > 1 }.map(\.name)
        return Comparison(runs: runs, differing: differing)
    }

    static func read(_ path: String) throws -> Run {
        let run = RunDirectory(path: path)
        guard let data = FileManager.default.contents(atPath: run.configFile) else {
            throw ComparisonError("\(run.configFile): cannot read: is \(path) a run directory?")
        }
        let config: TrainConfig
        do {
            config = try JSONDecoder().decode(TrainConfig.self, from: data)
        } catch {
            throw ComparisonError("\(run.configFile): not a run configuration: \(error)")
        }
        let lines = try Report.readMetrics(run.metricsFile)
        let epochs = lines.filter { $0.event == "epoch" }
        guard let final = lines.last(where: { $0.event == "done" }) ?? epochs.last else {
            throw ComparisonError("\(run.metricsFile): no finished epoch to compare")
        }
        let name = (path as NSString).standardizingPath.split(separator: "/").last.map(String.init) ?? path
        return Run(path: path, name: name, config: config, epochs: epochs, final: final)
    }

    /// A run's values of the differing options, as the command line writes them.
    public func options(of run: Run) -> [(String, String)] {
        differing.compactMap { name in TrainConfig.parser.option(named: name).map { (name,
            $0.text(in: run.config.settings)) } }
    }

    /// The table as JSON: one object per run with its options and final figures.
    public var json: [[String: Any]] {
        runs.map { run in
            var object: [String: Any] = ["run": run.name, "path": run.path, "epochs": run.epochs.count,
                                         "options": Dictionary(options(of: run), uniquingKeysWith: { a, _ in a })]
            for c in presentColumns { object[c.key] = c.value(run.final) }
            object["per_class_acc"] = run.final.figures.test.perClass
            return object
        }
    }
}

public struct ComparisonError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
