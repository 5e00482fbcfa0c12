import Foundation
import Training

/// The report's calibration and shot-group figures: summary rows and the reliability diagram.
extension Report {
    /// Shot groups by training count, top-5, NLL and ECE of the final figures, where measured.
    static func calibrationSummary(_ f: EpochMetrics, thresholds: ShotThresholds) -> [(String, String)] {
        let t = f.figures.test
        func group(_ v: Double?) -> String { v.map(pct) ?? "none" }
        var rows = [("shot groups (> \(thresholds.many) / \(thresholds.few)-\(thresholds.many) / < \(thresholds.few) " +
                     "training samples)", "\(group(t.manyShot)) / \(group(t.mediumShot)) / \(group(t.fewShot))")]
        if let top5 = t.top5 { rows.append(("top-5 accuracy", pct(top5))) }
        if let nll = t.nll { rows.append(("test NLL", String(format: "%.4f", nll))) }
        if let ece = t.ece {
            rows.append(("ECE (15 bins) / class-balanced ECE",
                         String(format: "%.4f / %@", ece, t.eceBalanced.map { String(format: "%.4f", $0) } ?? "-")))
        }
        return rows
    }

    /// Accuracy against confidence per bin (bars, their samples in the tooltip) beside the diagonal
    /// of perfect calibration; the gap shaded.
    static func reliabilityDiagram(_ bins: [[Double]]) -> String {
        let (w, h, left, bottom, top) = (420.0, 340.0, 50.0, 40.0, 12.0)
        let side = min(w - left - 20, h - top - bottom)
        func px(_ v: Double) -> Double { left + v * side }
        func py(_ v: Double) -> Double { top + (1 - v) * side }
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(w))\" height=\"\(Int(h))\" viewBox=\"0 0 " +
                "\(Int(w)) \(Int(h))\">\n"
        for i in 0...4 {
            let v = Double(i) / 4
            s += "<line x1=\"\(px(0))\" y1=\"\(py(v))\" x2=\"\(px(1))\" y2=\"\(py(v))\" stroke=\"#ddd\"/>"
            s += "<text x=\"\(px(0) - 6)\" y=\"\(py(v) + 4)\" text-anchor=\"end\">\(Int(100 * v))%</text>"
            s += "<text x=\"\(px(v))\" y=\"\(py(0) + 16)\" text-anchor=\"middle\">\(Int(100 * v))%</text>\n"
        }
        let width = side / Double(max(bins.count, 1))
        for (b, bin) in bins.enumerated() where bin.count == 3 && bin[0] > 0 {
            let x = px(Double(b) / Double(bins.count)), accuracy = bin[2], confidence = bin[1]
            let tip = String(format: "confidence %.3f, accuracy %.3f, %.0f samples", confidence, accuracy, bin[0])
            s += String(format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#1f77b4\" " +
                                "stroke=\"#fff\"><title>%@</title></rect>", x, py(accuracy), width,
                        py(0) - py(accuracy), tip)
            let gapTop = py(max(accuracy, confidence)), gap = abs(py(accuracy) - py(confidence))
            s += String(format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#d62728\" " +
                                "fill-opacity=\"0.3\"/>\n", x, gapTop, width, gap)
        }
        s += "<line x1=\"\(px(0))\" y1=\"\(py(0))\" x2=\"\(px(1))\" y2=\"\(py(1))\" stroke=\"#555\" " +
             "stroke-dasharray=\"4 3\"/>"
        s += "<text x=\"\(px(0.5))\" y=\"\(h - 4)\" text-anchor=\"middle\">confidence (bars: accuracy; red: the " +
             "gap)</text>\n"
        return s + "</svg>\n"
    }
}
