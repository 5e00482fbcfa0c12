import Foundation
import Testing
@testable import Tools
@testable import Training

/// Every case of the golden file (Tests/golden/losses.json, computed with PyTorch in float64).
@Suite struct GoldenTests {
    static let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../golden/losses.json").standardized.path

    @Test func everyGoldenCasePasses() throws {
        let outcomes = try GoldenVerifier.verify(path: Self.path)
        for o in outcomes where !o.passed { Issue.record("\(o.index) \(o.kind): \(o.error ?? "")") }
        // Count the cases independently of the verifier, so that none can be skipped silently.
        let data = try Data(contentsOf: URL(fileURLWithPath: Self.path))
        let json = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        let expected = ["losses", "class_weights", "long_tail_counts",
                        "metric_losses"].map { (json[$0] as? [Any])?.count ?? 0 }.reduce(0, +)
        #expect(expected > 100)
        #expect(outcomes.count == expected)
        #expect(outcomes.allSatisfy { $0.passed })
    }

    static let decoupling = URL(fileURLWithPath: path).deletingLastPathComponent()
        .appendingPathComponent("decoupling.json").path

    /// Tests/golden/decoupling.json, PyTorch float64: label smoothing of the cross-entropy losses
    /// (F.cross_entropy(weight=, label_smoothing=) on plain and adjusted logits), learnable weight
    /// scaling's logits and gradients, tau-normalised weights and logits.
    @Test func decouplingCasesPass() throws {
        let outcomes = try GoldenVerifier.verify(path: Self.decoupling)
        for o in outcomes where !o.passed { Issue.record("\(o.index) \(o.kind): \(o.error ?? "")") }
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Self.decoupling)))
            as! [String: Any]
        let losses = json["losses"] as! [[String: Any]]
        let lws = json["lws"] as! [Any], tauNorm = json["tau_norm"] as! [Any]
        #expect(losses.count == 54 && lws.count == 3 && tauNorm.count == 15)
        #expect(outcomes.count == losses.count + lws.count + tauNorm.count)
        #expect(losses.allSatisfy { (($0["params"] as? [String: Double])?["label_smoothing"] ?? 0) > 0 })
    }

    /// A wrong scale gradient (LWS) and a wrong tau-normalised logit are caught.
    @Test func aWrongDecouplingExpectationFails() throws {
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Self.decoupling)))
            as! [String: Any]
        var lws = json["lws"] as! [[String: Any]], tauNorm = json["tau_norm"] as! [[String: Any]]
        var e = lws[1]["expected"] as! [String: Any]
        var ds = e["ds"] as! [Double]
        ds[2] += 0.01
        e["ds"] = ds
        lws[1]["expected"] = e
        var t = tauNorm[7]["expected"] as! [String: Any]
        var logits = t["logits"] as! [[Double]]
        logits[0][1] *= 1.01
        t["logits"] = logits
        tauNorm[7]["expected"] = t
        json["lws"] = lws
        json["tau_norm"] = tauNorm
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("golden-decoupling-\(getpid()).json")
        try JSONSerialization.data(withJSONObject: json).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let failed = try GoldenVerifier.verify(path: file.path).filter { !$0.passed }.map(\.index)
        #expect(failed == ["lws[1]", "tau_norm[7]"])
    }

    @Test func aWrongExpectationFails() throws {
        // The verifier must be able to fail: change one expected loss value and one gradient.
        let data = try Data(contentsOf: URL(fileURLWithPath: Self.path))
        var json = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        var losses = json["losses"] as! [[String: Any]]
        var expected = losses[3]["expected"] as! [String: Any]
        expected["loss"] = (expected["loss"] as! Double) + 0.01
        losses[3]["expected"] = expected
        var other = losses[40]["expected"] as! [String: Any]
        var dlogits = other["dlogits"] as! [[Double]]
        dlogits[0][0] += 0.5
        other["dlogits"] = dlogits
        losses[40]["expected"] = other
        json["losses"] = losses
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("golden-broken-\(getpid()).json")
        try JSONSerialization.data(withJSONObject: json).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let failed = try GoldenVerifier.verify(path: file.path).filter { !$0.passed }.map(\.index)
        #expect(failed == ["losses[3]", "losses[40]"])
    }
}
