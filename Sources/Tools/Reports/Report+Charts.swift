import Foundation
import Training

/// The report's SVG charts (shared with the comparison page): lines over the epochs, per-class
/// bars, the confusion matrix.
extension Report {
    /// A line chart: x values, named series, y axis in percent or plain.
    /// - marks: where training phases begin (`phaseMarks`): a dotted line and its reason
    static func lineChart(x: [Double], series: [(String, String, [Double])], percent: Bool,
                          marks: [(x: Double, label: String)] = []) -> String {
        let (w, h, left, right, top, bottom) = (760.0, 280.0, 60.0, 180.0, 16.0, 36.0)
        let values = series.flatMap(\.2).filter(\.isFinite)
        var lo = percent ? 0 : (values.min() ?? 0), hi = percent ? 1 : (values.max() ?? 1)
        if hi - lo < 1e-9 { hi = lo + 1 }
        if !percent { lo = min(lo, 0) }
        let x0 = x.first ?? 0, x1 = max(x.last ?? 1, x0 + 1)
        func px(_ v: Double) -> Double { left + (v - x0) / (x1 - x0) * (w - left - right) }
        func py(_ v: Double) -> Double { top + (1 - (v - lo) / (hi - lo)) * (h - top - bottom) }
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(w))\" height=\"\(Int(h))\" viewBox=\"0 0 " +
                "\(Int(w)) \(Int(h))\">\n"
        for i in 0...4 {
            let v = lo + (hi - lo) * Double(i) / 4
            let y = py(v)
            s += "<line x1=\"\(left)\" y1=\"\(y)\" x2=\"\(w - right)\" y2=\"\(y)\" stroke=\"#ddd\"/>"
            let tick = percent ? String(format: "%.0f%%", 100 * v) : String(format: "%.3g", v)
            s += "<text x=\"\(left - 6)\" y=\"\(y + 4)\" text-anchor=\"end\">\(tick)</text>\n"
        }
        let ticks = Array(Set(stride(from: 0, to: x.count,
                                     by: max(1, x.count / 10)).map { x[$0] } + [x.last ?? 0])).sorted()
        for t in ticks {
            s += "<text x=\"\(px(t))\" y=\"\(h - bottom + 16)\" text-anchor=\"middle\">\(Int(t))</text>"
        }
        s += "<text x=\"\((left + w - right) / 2)\" y=\"\(h - 4)\" text-anchor=\"middle\">epoch</text>\n"
        for (k, mark) in marks.enumerated() where mark.x >= x0 && mark.x <= x1 {
            let mx = String(format: "%.1f", px(mark.x))
            s += "<line x1=\"\(mx)\" y1=\"\(top)\" x2=\"\(mx)\" y2=\"\(h - bottom)\" stroke=\"#888\" " +
                 "stroke-dasharray=\"2 3\"><title>\(escape(mark.label))</title></line>"
            // Labels right of their line, or left of it in the chart's last third (clear of the legend).
            let end = px(mark.x) > left + 0.66 * (w - left - right)
            s += "<text x=\"\(mx)\" y=\"\(top + 10 + 12 * Double(k % 3))\" font-size=\"11\" fill=\"#666\" " +
                 "text-anchor=\"\(end ? "end" : "start")\" dx=\"\(end ? -3 : 3)\">\(escape(mark.label))</text>\n"
        }
        for (i, (name, color, ys)) in series.enumerated() {
            let points = zip(x, ys).filter { $0.1.isFinite }.map { String(format: "%.1f,%.1f", px($0.0), py($0.1)) }
            if points.count > 1 {
                let dash = i % 2 == 1 ? " stroke-dasharray=\"6 3\"" : ""
                s += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\"\(dash) " +
                     "points=\"\(points.joined(separator: " "))\"/>\n"
            }
            for p in points {
                let xy = p.split(separator: ",")
                s += "<circle cx=\"\(xy[0])\" cy=\"\(xy[1])\" r=\"2.5\" fill=\"\(color)\"/>"
            }
            let ly = top + 14 + Double(i) * 18
            s += "<rect x=\"\(w - right + 12)\" y=\"\(ly - 9)\" width=\"12\" height=\"3\" fill=\"\(color)\"/>"
            s += "<text x=\"\(w - right + 30)\" y=\"\(ly - 4)\">\(escape(name))</text>\n"
        }
        return s + "</svg>\n"
    }

    /// Per class: training count bar (log scale), test accuracy bar and, when given, the
    /// retrieval precision@1 bar below it.
    static func classBars(accuracy: [Double], counts: [Int], precisionAt1: [Double]? = nil,
                          names: [String]? = nil) -> String {
        let k = accuracy.count
        let bars = precisionAt1 == nil ? 1.0 : 2.0
        let labelW = names == nil ? 60.0 : 150.0, w = 700 + labelW
        let row = 8 + 14 * bars, half = (w - labelW - 40) / 2 - 60  // room for the numbers
        let h = 30 + row * Double(k)
        let maxCount = Double(counts.max() ?? 1)
        let ax = labelW + half + 100
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(w))\" height=\"\(Int(h))\" viewBox=\"0 0 " +
                "\(Int(w)) \(Int(h))\">\n"
        s += "<text x=\"\(labelW)\" y=\"14\">training samples (log scale)</text>"
        s += "<rect x=\"\(ax)\" y=\"5\" width=\"10\" height=\"10\" fill=\"#fdae6b\"/><text x=\"\(ax + 14)\" " +
             "y=\"14\">test accuracy</text>"
        if precisionAt1 != nil {
            s += "<rect x=\"\(ax + 110)\" y=\"5\" width=\"10\" height=\"10\" fill=\"#74c476\"/><text " +
                 "x=\"\(ax + 124)\" y=\"14\">retrieval precision@1</text>"
        }
        s += "\n"
        for c in 0..<k {
            let y = 24 + row * Double(c)
            let count = c < counts.count ? Double(counts[c]) : 0
            let cw = count > 0 ? half * log(1 + count) / log(1 + maxCount) : 0
            s += "<text x=\"\(labelW - 8)\" y=\"\(y + row / 2 + 4)\" " +
                 "text-anchor=\"end\">\(names.map { "\(c) " + escape($0[c]) } ?? "class \(c)")</text>"
            s += "<rect x=\"\(labelW)\" y=\"\(y + 4)\" width=\"\(String(format: "%.1f", cw))\" " +
                 "height=\"\(row - 8)\" fill=\"#9ecae1\"/>"
            s += "<text x=\"\(labelW + cw + 4)\" y=\"\(y + row / 2 + 4)\">\(Int(count))</text>"
            var values = [(accuracy[c], "#fdae6b")]
            if let p = precisionAt1 { values.append((p[c], "#74c476")) }
            for (b, (value, color)) in values.enumerated() {
                let by = y + 4 + 14 * Double(b), bw = half * value
                s += "<rect x=\"\(ax)\" y=\"\(by)\" width=\"\(String(format: "%.1f", bw))\" height=\"12\" " +
                     "fill=\"\(color)\"/>"
                s += "<text x=\"\(ax + bw + 4)\" y=\"\(by + 10)\" font-size=\"11\">\(pct(value))</text>"
            }
            s += "\n"
        }
        return s + "</svg>\n"
    }

    /// The confusion matrix as a heat map, each row normalised by its class size.
    static func confusionMatrix(_ m: [[Int]], names: [String]? = nil) -> String {
        let k = m.count
        let cell = max(18.0, min(48.0, 560.0 / Double(k)))
        let left = names == nil ? 60.0 : 150.0, top = 30.0
        let size = left + cell * Double(k) + 10
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(size))\" height=\"\(Int(size))\" " +
                "viewBox=\"0 0 \(Int(size)) \(Int(size))\">\n"
        for c in 0..<k {
            s += "<text x=\"\(left + cell * (Double(c) + 0.5))\" y=\"\(top - 8)\" text-anchor=\"middle\">\(c)</text>"
            s += "<text x=\"\(left - 8)\" y=\"\(top + cell * (Double(c) + 0.5) + 4)\" " +
                 "text-anchor=\"end\">\(names.map { "\(c) " + escape($0[c]) } ?? "\(c)")</text>\n"
        }
        for r in 0..<k {
            let total = max(m[r].reduce(0, +), 1)
            for c in 0..<k {
                let v = Double(m[r][c]) / Double(total)
                let shade = Int(255 - 200 * v)
                let fill = r == c ? "rgb(\(shade),\(255 - Int(90 * v)),\(shade))" : "rgb(255,\(shade),\(shade))"
                s += "<rect x=\"\(left + cell * Double(c))\" y=\"\(top + cell * Double(r))\" width=\"\(cell)\" " +
                     "height=\"\(cell)\" fill=\"\(fill)\" stroke=\"#fff\"><title>true \(r), predicted \(c): " +
                     "\(m[r][c])</title></rect>"
                if cell >= 28 {
                    s += "<text x=\"\(left + cell * (Double(c) + 0.5))\" y=\"\(top + cell * (Double(r) + 0.5) + 4)\" " +
                         "text-anchor=\"middle\" style=\"font-size:10px\">\(m[r][c])</text>"
                }
            }
            s += "\n"
        }
        return s + "</svg>\n"
    }
}

extension Report {
    /// Where a run's training phases begin, as chart marks between the epochs (epochs counted from 1).
    static func phaseMarks(_ config: TrainConfig) -> [(x: Double, label: String)] {
        TrainingPhases(config).phases.dropFirst().map { (Double($0.epochs.lowerBound) + 0.5,
                                                         $0.begins.joined(separator: "; ")) }
    }

    /// Each class's draws per epoch, where some epoch re-sampled (the sampler's draws are not the
    /// training set's counts); the many / medium / few groups' shares beyond 12 classes.
    static func drawsChart(_ epochs: [EpochMetrics], x: [Double], marks: [(x: Double, label: String)],
                           label: (Int) -> String) -> String? {
        guard epochs.contains(where: { !$0.training.sampledPerClass.isEmpty
            && $0.training.sampledPerClass != $0.training.classCounts }),
              let counts = epochs.last?.training.classCounts else { return nil }
        let k = counts.count
        let palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                       "#bcbd22",
                       "#17becf", "#393b79", "#637939"]
        let drawn = epochs.map { $0.training.sampledPerClass.count == k
            ? $0.training.sampledPerClass.map(Double.init) : [] }
        var series: [(String, String, [Double])]
        if k <= palette.count {
            let order = AccuracyFigures.ranked(trainCounts: counts)
            series = order.enumerated().map { i, c in
                ("\(label(c)) (n=\(counts[c]))", palette[i], drawn.map { $0.isEmpty ? .nan : $0[c] })
            }
        } else {
            let (many, medium, few) = AccuracyFigures.groups(trainCounts: counts)
            func share(_ classes: [Int]) -> [Double] {
                drawn.map { d in d.isEmpty ? .nan : classes.reduce(0) { $0 + d[$1] } / max(d.reduce(0, +), 1) }
            }
            series = [("many (top 30%)", "#2ca02c", share(many)), ("medium (middle 40%)", "#9467bd", share(medium)),
                      ("few (bottom 30%)", "#d62728", share(few))]
        }
        return "<h2>Draws per class and epoch (the sampler's; training counts in brackets)</h2>\n"
            + lineChart(x: x, series: series, percent: k > palette.count, marks: marks)
    }
}
