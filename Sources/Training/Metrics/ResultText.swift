import Foundation

/// How results are shown: the lines `train` ends with and `eval` prints, and `eval --json`, from
/// one `TestFigures` (the one rendering of results; metrics.jsonl's keys are the JSON's).
public enum ResultText {
    /// The result lines: `head: test accuracy ...` (with the worst class when given), each class's
    /// recall when `classLabel` is given, the post-hoc adjusted figures, retrieval (with the few
    /// classes' precision@1 by `trainCounts`), the held-out classes' retrieval and the clusters.
    /// The model selection's line: the best epoch by the validation key and its test figures
    /// beside the last epoch's, or why nothing was selected.
    public static func selection(_ lines: [EpochMetrics], selectBy key: String, validated: Bool) -> String {
        guard validated else {
            return "no validation split (--val-split, --val-list or val/): no model selection; the figures above " +
                   "are the last epoch's"
        }
        guard let best = Selection.best(lines, by: key), let last = lines.last(where: { $0.event == "epoch" }) else {
            return "no epoch measured \(key): no model selection"
        }
        func figures(_ m: EpochMetrics) -> String {
            let t = m.figures.test
            return String(format: "test accuracy %.2f%%, balanced %.2f%%, many/medium/few %.2f%%/%.2f%%/%.2f%%",
                          100 * t.accuracy, 100 * t.balanced, 100 * t.many, 100 * t.medium, 100 * t.few)
        }
        return String(format: "best epoch %d by %@ %.4f (best.safetensors): %@; last epoch %d: %@", best.epoch + 1,
                      key, best.value(key) ?? .nan, figures(best), last.epoch + 1, figures(last))
    }

    /// `top-5 ..., NLL ..., ECE ...; shot groups ...`, where the evaluation measured them.
    static func calibration(_ t: AccuracyFigures) -> String? {
        guard let nll = t.nll, let ece = t.ece else { return nil }
        func group(_ v: Double?) -> String { v.map { String(format: "%.2f%%", 100 * $0) } ?? "none" }
        return (t.top5.map { String(format: "top-5 %.2f%%, ", 100 * $0) } ?? "")
            + String(format: "NLL %.4f, ECE %.4f (class-balanced %.4f); shot groups many/medium/few %@/%@/%@",
                     nll, ece, t.eceBalanced ?? .nan, group(t.manyShot), group(t.mediumShot), group(t.fewShot))
    }

    public static func lines(_ f: TestFigures, head: String, worstClass: String? = nil,
                             classLabel: ((Int) -> String)? = nil,
                             posthocTau: Double, tauNorm: Double? = nil, trainCounts: [Int]) -> [String] {
        let t = f.test
        var out = [String(format: "%@: test accuracy %.2f%%, balanced %.2f%%, many/medium/few %.2f%%/%.2f%%/%.2f%%",
                          head, 100 * t.accuracy, 100 * t.balanced, 100 * t.many, 100 * t.medium, 100 * t.few)
                   + (worstClass.map { ", worst class " + $0 } ?? "")]
        if let label = classLabel {
            out.append("per class: " + t.perClass.enumerated().map { label($0.offset) + String(format: ": %.1f%%",
                                                                                               100 * $0.element) }
                .joined(separator: ", "))
        }
        if let c = calibration(t) { out.append(c) }
        if let p = f.posthoc {
            out.append(String(format: "post-hoc adjusted (tau %g): test accuracy %.2f%%, balanced %.2f%%, " +
                                      "many/medium/few %.2f%%/%.2f%%/%.2f%%",
                              posthocTau, 100 * p.accuracy, 100 * p.balanced, 100 * p.many, 100 * p.medium,
                              100 * p.few))
        }
        if let q = f.taunorm {
            out.append(String(format: "tau-normalised (tau %g): test accuracy %.2f%%, balanced %.2f%%, " +
                                      "many/medium/few %.2f%%/%.2f%%/%.2f%%",
                              tauNorm ?? .nan, 100 * q.accuracy, 100 * q.balanced, 100 * q.many, 100 * q.medium,
                              100 * q.few))
        }
        if let r = f.retrieval {
            out.append(String(format: "retrieval (test features): precision@1 %.2f%%, R-precision %.2f%%, MAP@R %.2f%%",
                              100 * r.precisionAt1, 100 * r.rPrecision, 100 * r.mapAtR)
                       + (f.fewPrecisionAt1(trainCounts: trainCounts).map {
                           String(format: ", few-class precision@1 %.2f%%", 100 * $0)
                       } ?? ""))
        }
        if let u = f.unseen {
            out.append(String(format: "unseen classes (held out of training): precision@1 %.2f%%, R-precision " +
                                      "%.2f%%, MAP@R %.2f%%",
                              100 * u.precisionAt1, 100 * u.rPrecision, 100 * u.mapAtR))
        }
        if let c = f.clusters {
            out.append(String(format: "clusters (k-means of the test features): NMI %.3f, AMI %.3f, intra / " +
                                      "inter-class variance %.3f",
                              c.nmi, c.ami, c.varianceRatio))
        }
        return out
    }

    /// "6 (Shirt): 12.30%" where the data names its classes, else "6 (12.30%)".
    public static func worstClass(_ f: TestFigures, names: [String]?) -> String {
        let worst = f.test.worstClass, accuracy = String(format: "%.2f%%", 100 * f.test.perClass[worst])
        if let names, names.indices.contains(worst) { return "\(worst) (\(names[worst])): \(accuracy)" }
        return "\(worst) (\(accuracy))"
    }

    /// The figures as one JSON object with metrics.jsonl's keys, and `extra` beside them.
    public static func json(_ f: TestFigures, extra: [String: String] = [:],
                            numbers: [String: Double] = [:]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity",
                                                                      negativeInfinity: "-Infinity", nan: "NaN")
        return String(decoding: try encoder.encode(FlatObject(figures: f, strings: extra, numbers: numbers)),
                      as: UTF8.self)
    }

    private struct FlatObject: Encodable {
        var figures: TestFigures
        var strings: [String: String]
        var numbers: [String: Double]
        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: FlatKey.self)
            try figures.encode(into: &c)
            for (k, v) in strings { try c.encode(v, forKey: FlatKey(k)) }
            for (k, v) in numbers { try c.encode(v, forKey: FlatKey(k)) }
        }
    }
}
