import Foundation

/// The report's SVG charts (shared with the comparison page): lines over the epochs, per-class
/// bars, the confusion matrix.
extension Report {
    /// A line chart: x values, named series, y axis in percent or plain.
    static func lineChart(x: [Double], series: [(String, String, [Double])], percent: Bool) -> String {
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
