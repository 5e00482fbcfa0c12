import Files
import Training
import Checkpoint
import Foundation

/// `report.html`: a self-contained page with inline SVG charts of a run: loss and
/// accuracy curves, many/medium/few per epoch, per-class accuracy beside the class
/// counts, and the confusion matrix. `ddp-train report RUNDIR` regenerates it.
public enum Report {
    /// Writes the report of `metrics` to `path`.
    /// The run's explanations (`explanations/maps.json` beside `path`) are shown when present;
    /// classes are named when `classNames` are known.
    public static func write(metrics: [EpochMetrics], config: TrainConfig, classNames: [String]?,
                             to path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent + "/explanations"
        let page = html(metrics: metrics, config: config, classNames: classNames,
                        explanations: explanations(in: directory))
        try AtomicFile.write(path, data: Data(page.utf8))
    }

    /// One explained image of the report: its PNG and what it shows.
    struct Explained {
        var index: Int, label: Int, predicted: Int
        var probabilities: [Double]
        var png: Data
    }

    /// The images of `directory/maps.json` (written at the end of a run), none if it is absent
    /// or unreadable (the report is still written).
    static func explanations(in directory: String) -> Explanations? {
        guard let data = FileManager.default.contents(atPath: directory + "/maps.json"),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let method = object["method"] as? String,
                  let items = object["items"] as? [[String: Any]] else { return nil }
        let images: [Explained] = items.compactMap { item in
            guard let index = item["index"] as? Int, let label = item["label"] as? Int,
                let predicted = item["predicted"] as? Int,
                  let p = item["probabilities"] as? [Double], let file = item["file"] as? String, !file.contains("/"),
                  p.indices.contains(label), p.indices.contains(predicted),
                  let png = FileManager.default.contents(atPath: directory + "/" + file) else { return nil }
            return Explained(index: index, label: label, predicted: predicted, probabilities: p, png: png)
        }
        let names = (object["class_names"] as? [String]).map { $0.map(escape) }
        return images.isEmpty ? nil : Explanations(method: method, classNames: names, images: images)
    }

    struct Explanations {
        var method: String
        var classNames: [String]?
        var images: [Explained]

        /// "7 Sneaker (93.1%)", or "7 (93.1%)" without names.
        func label(_ c: Int, _ image: Explained) -> String {
            let name = classNames.flatMap { $0.indices.contains(c) ? " " + $0[c] : nil } ?? ""
            return "\(c)\(name) (\(pct(image.probabilities[c])))"
        }
    }

    /// The section beside the confusion matrix: why the worst classes' images were misclassified.
    static func explanationSection(_ e: Explanations) -> String {
        let name = e.method == "gradcam" ? "Grad-CAM" : e.method
        var s = "<h2>Misclassified test images of the worst classes (\(escape(name)) of the predicted class)</h2>\n"
        s += "<p class=\"note\">Each: the image, then the map over it (viridis: yellow = what drove the predicted " +
             "class). <code>ddp-train explain</code> shows more (docs/explain.md).</p>\n<div class=\"gallery\">\n"
        for i in e.images {
            s += "<figure><img src=\"data:image/png;base64,\(i.png.base64EncodedString())\" width=\"336\" alt=\"test " +
                 "image \(i.index)\">"
            s += "<figcaption><b>#\(i.index)</b> true \(e.label(i.label, i)) &middot; <span " +
                 "class=\"wrong\">predicted \(e.label(i.predicted, i))</span></figcaption></figure>\n"
        }
        return s + "</div>\n"
    }

    /// Regenerates `RUNDIR/report.html` from its `metrics.jsonl` and `config.json`.
    public static func regenerate(runDirectory: String) throws -> String {
        let run = RunDirectory(path: runDirectory)
        let lines = try readMetrics(run.metricsFile)
        var config = TrainConfig()
        if let data = FileManager.default.contents(atPath: run.configFile) {
            config = (try? JSONDecoder().decode(TrainConfig.self, from: data)) ?? config
        }
        try write(metrics: lines, config: config, classNames: classNames(of: run), to: run.reportFile)
        return run.reportFile
    }

    /// The class names of a run's card, when its final weights carry one.
    static func classNames(of run: RunDirectory) -> [String]? {
        (try? SafeTensors.readWithMetadata(run.finalWeights))
            .flatMap { try? ModelCard.from(metadata: $0.metadata, path: run.finalWeights) }?.data.classNames
    }

    /// The lines of a `metrics.jsonl`, each checked; an error names the file and the line.
    static func readMetrics(_ path: String) throws -> [EpochMetrics] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw FileError(path: path,
                            reason: "cannot read: is \((path as NSString).deletingLastPathComponent) a run directory?")
        }
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "Infinity",
                                                                        negativeInfinity: "-Infinity", nan: "NaN")
        var lines: [EpochMetrics] = []
        for (i, line) in text.split(separator: "\n").enumerated() where !line.isEmpty {
            do {
                lines.append(try decoder.decode(EpochMetrics.self, from: Data(line.utf8)))
            } catch {
                throw FileError(path: path, reason: "line \(i + 1) is not a metrics record: \(error)")
            }
        }
        return lines
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<",
            with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }

    static func html(metrics: [EpochMetrics], config: TrainConfig, classNames: [String]? = nil,
                     explanations: Explanations? = nil) -> String {
        let names = classNames.flatMap { n in metrics.allSatisfy({ $0.figures.test.perClass.count == n.count })
            ? n : nil }
        func label(_ c: Int) -> String { names.map { "\(c) \($0[c])" } ?? "\(c)" }
        let epochs = metrics.filter { $0.event == "epoch" }
        let final = metrics.last { $0.event == "done" } ?? epochs.last
        var body = ""
        let lossName = config.loss.rawValue
            + (config.embeddingLoss == .none ? "" : " + \(config.embeddingLoss.rawValue)")
        let title = "ddp-train: \(config.model.rawValue), \(lossName) loss, imbalance ratio " +
                    "\(String(format: "%g", config.imbalanceRatio))"
        body += "<h1>\(escape(title))</h1>\n"
        if let f = final {
            let t = f.figures.test, worst = t.worstClass
            body += "<table class=\"summary\">"
            for (name, value) in [
                ("test accuracy", pct(t.accuracy)), ("balanced accuracy", pct(t.balanced)),
                ("many / medium / few", "\(pct(t.many)) / \(pct(t.medium)) / \(pct(t.few))"),
                ("worst class", "\(label(worst)) (\(pct(t.perClass.isEmpty ? 0 : t.perClass[worst])))"),
                ("steps", "\(f.step) (\(f.training.skippedSteps) skipped)"), ("ranks", "\(f.training.worldSize)"),
                ("samples/s (training)", String(format: "%.0f", f.training.samplesPerS)),
                ("phases", TrainingPhases(config).text),
                ("model selection", ResultText.selection(metrics, selectBy: config.selectBy,
                                                         validated: metrics.contains { $0.figures.val != nil })),
            ] + calibrationSummary(f, thresholds: config.shotThresholds) + posthocSummary(f, tau: config.posthocTau)
                + tauNormSummary(f, tau: f.figures.tauChosen ?? config.tauNorm?.tau) + retrievalSummary(f) {
                body += "<tr><th>\(name)</th><td>\(escape(value))</td></tr>"
            }
            body += "</table>\n"
        }
        if !epochs.isEmpty {
            let x = epochs.map { Double($0.epoch + 1) }
            let tests = epochs.map(\.figures.test)
            let marks = phaseMarks(config)
            body += "<h2>Training loss</h2>\n" + lineChart(x: x,
                                                           series: [("train loss", "#1f77b4",
                                                                     epochs.map(\.training.trainLoss))],
                                                           percent: false, marks: marks)
            body += "<h2>Test accuracy</h2>\n" + lineChart(x: x, series: [
                ("accuracy", "#1f77b4", tests.map(\.accuracy)), ("balanced accuracy", "#ff7f0e", tests.map(\.balanced)),
            ] + (epochs.contains { $0.figures.val != nil }
                ? [("validation balanced", "#2ca02c", epochs.map { $0.figures.val?.balanced ?? .nan })] : []),
                percent: true, marks: marks)
            body += "<h2>Many / medium / few classes</h2>\n" + lineChart(x: x, series: [
                ("many (top 30%)", "#2ca02c", tests.map(\.many)),
                    ("medium (middle 40%)", "#9467bd", tests.map(\.medium)),
                ("few (bottom 30%)", "#d62728", tests.map(\.few)),
            ], percent: true, marks: marks)
            if epochs.contains(where: { $0.figures.retrieval != nil }) {
                let r = epochs.map(\.figures.retrieval)
                body += "<h2>Retrieval on the test features (each test sample a query against the others)</h2>\n"
                    + lineChart(x: x, series: [
                        ("precision@1", "#1f77b4", r.map { $0?.precisionAt1 ?? .nan }),
                        ("few-class precision@1", "#d62728", epochs.map { $0.fewPrecisionAt1 ?? .nan }),
                        ("R-precision", "#2ca02c", r.map { $0?.rPrecision ?? .nan }),
                        ("MAP@R", "#9467bd", r.map { $0?.mapAtR ?? .nan }),
                    ], percent: true, marks: marks)
            }
            if let draws = drawsChart(epochs, x: x, marks: marks, label: label) { body += draws }
        }
        if let f = final {
            let t = f.figures.test
            let retrieval = f.figures.retrieval.flatMap { $0.precisionAt1PerClass.count == t.perClass.count
                ? $0.precisionAt1PerClass : nil }
            body += "<h2>Per-class accuracy\(retrieval == nil ? "" : ", retrieval precision@1") and " +
                    "training counts</h2>\n"
                + classBars(accuracy: t.perClass, counts: f.training.classCounts, precisionAt1: retrieval, names: names)
            if !t.confusion.isEmpty {
                body += "<h2>Confusion matrix (rows: true class, columns: predicted)</h2>\n"
                    + confusionMatrix(t.confusion, names: names)
            }
            if let bins = t.reliability {
                body += "<h2>Reliability (15 confidence bins, Guo et al. 2017)</h2>\n" + reliabilityDiagram(bins)
            }
            if let explanations { body += explanationSection(explanations) }
        }
        let configuration = String(decoding: (try? RunDirectory.json(config, pretty: true)) ?? Data(), as: UTF8.self)
        body += "<h2>Configuration</h2>\n<pre>\(escape(configuration))</pre>\n"
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>\(escape(title))</title>
            <style>
            body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 980px; color: #222; }
            h1 { font-size: 1.4em; } h2 { font-size: 1.1em; margin-top: 1.6em; }
            table.summary th { text-align: left; padding-right: 1.5em; font-weight: normal; color: #555; }
            svg { background: #fff; } svg text { font-size: 12px; fill: #333; }
            pre { background: #f6f6f6; padding: 1em; font-size: 12px; overflow-x: auto; }
            .gallery { display: flex; flex-wrap: wrap; gap: 14px; } figure { margin: 0; }
            figcaption { font-size: 12px; margin-top: 3px; } .wrong { color: #c62828; }
            p.note { color: #555; font-size: 13px; }
            img { image-rendering: auto; border: 1px solid #ddd; }
            </style></head><body>
            \(body)</body></html>

            """
    }

    static func pct(_ v: Double) -> String { String(format: "%.2f%%", 100 * v) }

    /// The summary's retrieval rows, when the run measured retrieval.
    static func posthocSummary(_ f: EpochMetrics, tau: Double) -> [(String, String)] {
        guard let p = f.figures.posthoc else { return [] }
        return [("post-hoc adjusted (tau \(String(format: "%g", tau))): accuracy / balanced",
                 "\(pct(p.accuracy)) / \(pct(p.balanced))"),
                ("post-hoc adjusted: many / medium / few", "\(pct(p.many)) / \(pct(p.medium)) / \(pct(p.few))")]
    }

    /// The summary's tau-normalised rows, when the run measured them.
    static func tauNormSummary(_ f: EpochMetrics, tau: Double?) -> [(String, String)] {
        guard let q = f.figures.taunorm else { return [] }
        return [("tau-normalised (tau \(String(format: "%g", tau ?? .nan))): accuracy / balanced",
                 "\(pct(q.accuracy)) / \(pct(q.balanced))"),
                ("tau-normalised: many / medium / few", "\(pct(q.many)) / \(pct(q.medium)) / \(pct(q.few))")]
    }

    static func retrievalSummary(_ f: EpochMetrics) -> [(String, String)] {
        guard let r = f.figures.retrieval else { return [] }
        var rows = [("retrieval: precision@1 / R-precision / MAP@R",
                     "\(pct(r.precisionAt1)) / \(pct(r.rPrecision)) / \(pct(r.mapAtR))")]
        if let few = f.fewPrecisionAt1 { rows.append(("retrieval: few-class precision@1", pct(few))) }
        if let u = f.figures.unseen {
            rows.append(("unseen classes (held out of training): precision@1 / R-precision / MAP@R",
                         "\(pct(u.precisionAt1)) / \(pct(u.rPrecision)) / \(pct(u.mapAtR))"))
        }
        if let c = f.figures.clusters {
            rows.append(("clusters (k-means of the test features): NMI / AMI; intra / inter-class variance",
                         String(format: "%.3f / %.3f; %.3f", c.nmi, c.ami, c.varianceRatio)))
        }
        return rows
    }
}
