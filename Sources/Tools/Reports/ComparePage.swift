import Training
import Foundation

/// `compare.html`: runs overlaid. A table of final figures with each run's distinguishing
/// options (best value per column marked), balanced and few-class accuracy over the epochs,
/// per-class accuracy of the final models side by side (classes ordered by training count),
/// and each run's difference to the first per class. Self-contained (inline SVG).
public enum ComparePage {
    static let palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                          "#bcbd22", "#17becf"]

    static func color(_ i: Int) -> String { palette[i % palette.count] }

    /// The page, classes named as the first run's card names them.
    public static func html(_ c: Comparison) -> String {
        let classCount = c.runs[0].final.figures.test.perClass.count
        let classNames = Report.classNames(of: RunDirectory(path: c.runs[0].path)).flatMap {
            $0.count == classCount ? $0 : nil
        }
        let e = Report.escape
        var body = "<h1>ddp-train compare: \(c.runs.count) runs</h1>\n"
        let first = c.runs[0].config
        body += "<p class=\"note\">Data \(e(first.data)), imbalance ratio " +
                "\(String(format: "%g", first.imbalanceRatio)) (\(first.imbalanceProfile.rawValue)). "
        body += c.differing.isEmpty ? "The runs' options are the same.</p>\n"
            : "Options that differ: \(c.differing.map { "<code>--\(e($0))</code>" }.joined(separator: ", ")); best " +
              "value per column in bold.</p>\n"
        body += table(c)
        if c.groups.contains(where: { $0.runs.count > 1 }) {
            body += "<h2>Over seeds: mean ± standard deviation (percent; n seeds)</h2>\n" + seedTable(SeedTable(c))
        }
        let longest = c.runs.map(\.epochs.count).max() ?? 0
        if longest > 0 {
            let x = (1...longest).map(Double.init)
            func series(_ value: (EpochMetrics) -> Double) -> [(String, String, [Double])] {
                c.runs.enumerated().map { i, run in
                    (label(run), color(i), (0..<longest).map { $0 < run.epochs.count ? value(run.epochs[$0]) : .nan })
                }
            }
            // Where each run's phases begin (one mark per epoch, the runs' reasons together).
            var byEpoch: [Double: [String]] = [:]
            for run in c.runs { for m in Report.phaseMarks(run.config) { byEpoch[m.x, default: []].append(m.label) } }
            let marks = byEpoch.keys.sorted().map { (x: $0,
                                                     label: Array(Set(byEpoch[$0]!)).sorted().joined(separator: "; ")) }
            body += "<h2>Balanced accuracy</h2>\n"
                + Report.lineChart(x: x, series: series(\.figures.test.balanced), percent: true, marks: marks)
            body += "<h2>Few-class accuracy (the 30% of classes with the fewest training samples)</h2>\n"
                + Report.lineChart(x: x, series: series(\.figures.test.few), percent: true, marks: marks)
        }
        let counts = c.runs[0].final.training.classCounts
        let k = c.runs[0].final.figures.test.perClass.count
        let order = AccuracyFigures.ranked(trainCounts: (0..<k).map { counts.indices.contains($0) ? counts[$0] : 0 })
        func classLabel(_ k: Int) -> String {
            let name = classNames.flatMap { $0.indices.contains(k) ? " " + $0[k] : nil } ?? ""
            return "\(k)\(name)" + (counts.indices.contains(k) ? " (n=\(counts[k]))" : "")
        }
        body += "<h2>Per-class accuracy of the final models (classes by training count, largest first)</h2>\n"
        body += legend(c) + groupedBars(c, order: order, label: classLabel)
        if c.runs.count > 1 {
            body += "<h2>Difference to \(e(label(c.runs[0]))) per class (percentage points)</h2>\n"
            body += legend(c, from: 1) + differenceBars(c, order: order, label: classLabel)
        }
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>ddp-train compare</title>
            <style>
            body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
            h1 { font-size: 1.4em; } h2 { font-size: 1.1em; margin-top: 1.6em; }
            p.note { color: #555; font-size: 14px; }
            table.runs { border-collapse: collapse; font-size: 14px; }
            table.runs th, table.runs td { padding: 4px 10px; border-bottom: 1px solid #e4e4e4; text-align: right; }
            table.runs th { background: #f4f4f4; } table.runs td.run, table.runs th.run { text-align: left; }
            table.seeds td { white-space: nowrap; }
            td.best { font-weight: 700; } code { font-size: 13px; }
            .swatch { display: inline-block; width: 12px; height: 12px; margin-right: 6px; vertical-align: -1px; }
            .legend { font-size: 13px; margin: 4px 0 8px; } .legend span.item { margin-right: 18px; }
            svg { background: #fff; } svg text { font-size: 12px; fill: #333; }
            </style></head><body>
            \(body)</body></html>

            """
    }

    /// The label of a run in charts: its directory name, shortened.
    static func label(_ run: Comparison.Run) -> String { run.name.count > 24 ? String(run.name.prefix(23))
        + "…" : run.name }

    static func table(_ c: Comparison) -> String {
        let e = Report.escape
        let columns = c.presentColumns
        var s = "<table class=\"runs\"><tr><th></th><th class=\"run\">run</th>"
        s += c.differing.map { "<th class=\"run\">--\(e($0))</th>" }.joined()
        s += columns.map { "<th>\(e($0.heading))</th>" }.joined() + "<th>epochs</th></tr>\n"
        let best = columns.map { col in c.runs.compactMap { col.value($0.final) }.max() ?? .nan }
        for (i, run) in c.runs.enumerated() {
            s += "<tr><td><span class=\"swatch\" style=\"background:\(color(i))\"></span></td><td class=\"run\" " +
                 "title=\"\(e(run.path))\">\(e(run.name))</td>"
            s += c.options(of: run).map { option in
                "<td class=\"run\"><code>\(e(option.1.isEmpty ? "-" : option.1))</code></td>"
            }.joined()
            for (j, col) in columns.enumerated() {
                let v = col.value(run.final) ?? .nan
                s += "<td class=\"\(v == best[j] && c.runs.count > 1 ? "best" : "")\">\(Report.pct(v))</td>"
            }
            s += "<td>\(run.epochs.count)</td></tr>\n"
        }
        return s + "</table>\n"
    }

    /// The groups of runs that differ only in their seeds (`compare --table` as HTML).
    static func seedTable(_ t: SeedTable) -> String {
        let e = Report.escape
        let cols = t.present
        var s = "<table class=\"runs seeds\"><tr><th class=\"run\">method</th><th class=\"run\">model</th><th>n</th>"
        s += cols.map { "<th>\(e(SeedTable.columns[$0].heading))</th>" }.joined() + "</tr>\n"
        for r in t.rows {
            s += "<tr><td class=\"run\"><code>\(e(r.label))</code></td><td class=\"run\">\(r.model)</td>" +
                 "<td>\(r.seeds)</td>"
            s += cols.map { i in
                "<td>" + (r.cells[i].map { String(format: "%.2f ± %.2f", $0.mean, $0.sd) } ?? "-") + "</td>"
            }.joined() + "</tr>\n"
        }
        return s + "</table>\n"
    }

    static func legend(_ c: Comparison, from start: Int = 0) -> String {
        "<div class=\"legend\">" + c.runs.enumerated().dropFirst(start).map { i, run in
            "<span class=\"item\"><span class=\"swatch\" " +
            "style=\"background:\(color(i))\"></span>\(Report.escape(run.name))</span>"
        }.joined() + "</div>\n"
    }

    /// Per class, one bar per run (0 to 100%).
    static func groupedBars(_ c: Comparison, order: [Int], label: (Int) -> String) -> String {
        let n = c.runs.count, labelW = 190.0, barH = 9.0, gap = 8.0, w = 900.0
        let group = barH * Double(n) + gap, h = 20 + group * Double(order.count)
        let scale = w - labelW - 70
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(w))\" height=\"\(Int(h))\" viewBox=\"0 0 " +
                "\(Int(w)) \(Int(h))\">\n"
        for t in stride(from: 0.0, through: 1.0, by: 0.25) {
            let x = labelW + scale * t
            s += "<line x1=\"\(x)\" y1=\"4\" x2=\"\(x)\" y2=\"\(h - 14)\" stroke=\"#eee\"/><text x=\"\(x)\" " +
                 "y=\"\(h - 2)\" text-anchor=\"middle\">\(Int(100 * t))%</text>"
        }
        for (row, k) in order.enumerated() {
            let y = 4 + group * Double(row)
            s += "<text x=\"\(labelW - 8)\" y=\"\(y + group / 2)\" " +
                 "text-anchor=\"end\">\(Report.escape(label(k)))</text>"
            for (i, run) in c.runs.enumerated() {
                let v = run.final.figures.test.perClass.indices.contains(k) ? run.final.figures.test.perClass[k] : 0
                s += "<rect x=\"\(labelW)\" y=\"\(y + barH * Double(i))\" " +
                     "width=\"\(String(format: "%.1f", scale * v))\" height=\"\(barH - 1)\" " +
                     "fill=\"\(color(i))\"><title>\(Report.escape(run.name)): \(Report.pct(v))</title></rect>"
            }
            s += "\n"
        }
        return s + "</svg>\n"
    }

    /// Per class, each later run's accuracy minus the first run's, around a zero line.
    static func differenceBars(_ c: Comparison, order: [Int], label: (Int) -> String) -> String {
        let others = Array(c.runs.enumerated().dropFirst())
        let base = c.runs[0].final.figures.test.perClass
        let diffs = others.map { _,
            run in order.map { k in (run.final.figures.test.perClass.indices.contains(k)
            ? run.final.figures.test.perClass[k] : 0) - (base.indices.contains(k) ? base[k] : 0) } }
        // The axis reaches the largest difference rounded up to 10 points (at least 10).
        let largest = max(((diffs.flatMap { $0 }.map(abs).max() ?? 0) * 10).rounded(.up) / 10, 0.1)
        let n = others.count, labelW = 190.0, barH = 9.0, gap = 8.0, w = 900.0
        let group = barH * Double(n) + gap, h = 20 + group * Double(order.count)
        let half = (w - labelW - 60) / 2, zero = labelW + 20 + half
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(w))\" height=\"\(Int(h))\" viewBox=\"0 0 " +
                "\(Int(w)) \(Int(h))\">\n"
        for t in [-1.0, -0.5, 0, 0.5, 1] {
            let x = zero + half * t
            s += "<line x1=\"\(x)\" y1=\"4\" x2=\"\(x)\" y2=\"\(h - 14)\" " +
                 "stroke=\"\(t == 0 ? "#999" : "#eee")\"/><text x=\"\(x)\" y=\"\(h - 2)\" " +
                 "text-anchor=\"middle\">\(String(format: "%+.0f", 100 * largest * t))</text>"
        }
        for (row, k) in order.enumerated() {
            let y = 4 + group * Double(row)
            s += "<text x=\"\(labelW - 8)\" y=\"\(y + group / 2)\" " +
                 "text-anchor=\"end\">\(Report.escape(label(k)))</text>"
            for (j, (i, run)) in others.enumerated() {
                let d = diffs[j][row], width = half * abs(d) / largest
                s += "<rect x=\"\(String(format: "%.1f", d < 0 ? zero - width : zero))\" " +
                     "y=\"\(y + barH * Double(j))\" width=\"\(String(format: "%.1f", width))\" " +
                     "height=\"\(barH - 1)\" fill=\"\(color(i))\"><title>\(Report.escape(run.name)): " +
                     "\(String(format: "%+.2f", 100 * d)) points</title></rect>"
            }
            s += "\n"
        }
        return s + "</svg>\n"
    }
}
