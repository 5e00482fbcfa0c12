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

    /// Label smoothing of the cross-entropy losses (Tests/golden/decoupling.json: PyTorch's
    /// F.cross_entropy(weight=, label_smoothing=) on plain and adjusted logits, float64).
    @Test func labelSmoothingCasesPass() throws {
        let path = URL(fileURLWithPath: Self.path).deletingLastPathComponent().appendingPathComponent("decoupling.json").path
        let outcomes = try GoldenVerifier.verify(path: path)
        for o in outcomes where !o.passed { Issue.record("\(o.index) \(o.kind): \(o.error ?? "")") }
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
        let losses = json["losses"] as! [[String: Any]]
        #expect(losses.count == 54 && outcomes.count == losses.count)
        #expect(losses.allSatisfy { (($0["params"] as? [String: Double])?["label_smoothing"] ?? 0) > 0 })
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
