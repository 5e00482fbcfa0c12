import Files
import Training
import Checkpoint
import Data
import Explain
import Foundation

/// What `ddp-train explain` writes in `--out` (rank 0): `NNNNN-METHOD.png` per image (the
/// input beside the input with the map), `index.html` (a self-contained gallery grouped by
/// true class, with true and predicted labels and their probabilities) and, with `--json`,
/// `maps.json` (the raw maps). Each file is written whole or not at all.
enum ExplainOutput {
    /// The PNG of an explained image: the test image beside it with the map.
    static func png(_ item: ExplainJob.Item, loaded: ExplainJob.Loaded) -> [UInt8] {
        let test = loaded.test
        let image = (0..<test.sampleSize).map { test.value(item.index, $0) }
        let rgb = Overlay.png(image: image, channels: test.channels, map: item.map)
        let size = Overlay.size(height: item.map.height, width: item.map.width)
        return [UInt8](PNG.encode(width: size.width, height: size.height, rgb: rgb))
    }

    static func write(_ items: [ExplainJob.Item], pngs: [Data], request r: ExplainJob.Request, model: String,
                      classes: DataStatistics, faithfulness: FaithfulnessSummary) throws -> [String] {
        try FileManager.default.createDirectory(atPath: r.out, withIntermediateDirectories: true)
        var cards: [Int: [String]] = [:]
        var written: [String] = []
        for (item, png) in zip(items, pngs) {
            let size = Overlay.size(height: item.map.height, width: item.map.width)
            let name = String(format: "%05d-%@.png", item.index, r.method.rawValue)
            try AtomicFile.write(r.out + "/" + name, data: png)
            written.append(name)
            cards[item.label, default: []].append(card(item, png: png, file: name, size: size, classes: classes))
        }
        let html = page(cards: cards, request: r, model: model, classes: classes, faithfulness: faithfulness)
        try AtomicFile.write(r.out + "/index.html", data: Data(html.utf8))
        written.append("index.html")
        if r.json {
            let maps: [[String: Any]] = zip(items, written).map { item, file in
                ["index": item.index, "label": item.label, "predicted": item.predicted, "target": item.target,
                 "file": file,
                 "probabilities": item.probabilities, "height": item.map.height, "width": item.map.width,
                 "map": item.map.values,
                 "deletion": item.faithfulness.deletion, "insertion": item.faithfulness.insertion,
                 "deletion_auc": item.faithfulness.deletionArea, "insertion_auc": item.faithfulness.insertionArea]
            }
            var object: [String: Any] = ["source": r.source, "method": r.method.rawValue, "items": maps,
                                         "faithfulness": faithfulness.json]
            if let names = classes.classNames { object["class_names"] = names }
            try AtomicFile.write(r.out + "/maps.json",
                                 data: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
            written.append("maps.json")
        }
        return written
    }

    static func card(_ item: ExplainJob.Item, png: Data, file: String, size: (height: Int, width: Int),
                     classes: DataStatistics) -> String {
        let right = item.predicted == item.label
        let p = { (k: Int) in Report.escape(classes.label(k)) + String(format: " (%.1f%%)",
                                                                       100 * item.probabilities[k]) }
        var lines = ["<b>#\(item.index)</b>", "true \(p(item.label))",
                     "<span class=\"\(right ? "right" : "wrong")\">predicted \(p(item.predicted))</span>"]
        if item.target != item.predicted { lines.append("map of class \(p(item.target))") }
        lines.append(String(format: "deletion AUC %.3f, insertion AUC %.3f", item.faithfulness.deletionArea,
                            item.faithfulness.insertionArea))
        return """
            <figure><img src="data:image/png;base64,\(png.base64EncodedString())" \
            width="\(size.width)" height="\(size.height)" alt="\(file)" title="\(file)">
            <figcaption>\(lines.joined(separator: " &middot; "))</figcaption></figure>
            """
    }

    static func page(cards: [Int: [String]], request r: ExplainJob.Request, model: String, classes: DataStatistics,
                     faithfulness: FaithfulnessSummary) -> String {
        let title = "ddp-train explain: \(r.method.rawValue) of \(model)"
        var body = "<h1>\(Report.escape(title))</h1>\n<p class=\"note\">\(Report.escape(r.source)). Each image: the " +
                   "input, then the map of the explained class over it (viridis: dark = low, yellow = high; " +
                   "scaled per image).</p>\n"
        body += faithfulnessTable(faithfulness, classes: classes)
        for label in cards.keys.sorted() {
            body += "<h2>true class \(Report.escape(classes.label(label)))</h2>\n<div " +
                    "class=\"row\">\n\(cards[label]!.joined(separator: "\n"))\n</div>\n"
        }
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>\(Report.escape(title))</title>
            <style>
            body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1480px; color: #222; }
            h1 { font-size: 1.4em; } h2 { font-size: 1.1em; margin-top: 1.4em; } p.note { color: #555; }
            .row { display: flex; flex-wrap: wrap; gap: 18px; }
            figure { margin: 0; } figcaption { font-size: 13px; margin-top: 4px; max-width: 460px; }
            img { image-rendering: pixelated; border: 1px solid #ddd; }
            .right { color: #1a7f37; } .wrong { color: #c62828; font-weight: 600; }
            table { border-collapse: collapse; font-size: 14px; }
            td, th { border: 1px solid #ccc; padding: 3px 9px; text-align: right; }
            th:first-child, td:first-child { text-align: left; }
            </style></head><body>
            \(body)</body></html>

            """
    }

    /// Deletion and insertion areas by group and by class (lower deletion and higher insertion: more faithful).
    static func faithfulnessTable(_ f: FaithfulnessSummary, classes: DataStatistics) -> String {
        func row(_ name: String, _ m: FaithfulnessSummary.Mean) -> String {
            String(format: "<tr><td>%@</td><td>%d</td><td>%.3f</td><td>%.3f</td></tr>", Report.escape(name), m.images,
                   m.deletionArea, m.insertionArea)
        }
        var rows = f.groups.map { row($0.name == "all" ? "all images" : "\($0.name) classes", $0.mean) }
        rows += f.perClass.keys.sorted().map { row("class " + classes.label($0), f.perClass[$0]!) }
        return """
            <h2>Faithfulness</h2>
            <p class="note">The model's probability of the explained class as the map's pixels are deleted (set to the \
            mean) or inserted into a blank image, most important first; the areas under the curves (deletion: lower \
            is more faithful; insertion: higher).</p>
            <table><tr><th></th><th>images</th><th>deletion AUC</th><th>insertion AUC</th></tr>
            \(rows.joined(separator: "\n"))
            </table>

            """
    }
}
