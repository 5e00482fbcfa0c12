import Foundation
import Testing
@testable import Tools
@testable import Training

/// Every case of Tests/golden/metric_losses.json (PyTorch and pytorch-metric-learning, float64):
/// the heads (ArcFace, CosFace, SphereFace, sub-center ArcFace), contrastive, triplet, N-pairs,
/// quadruplet and center loss, with their gradients (and W's, and the centres' update).
@Suite struct MetricGoldenTests {
    static let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../golden/metric_losses.json").standardized.path

    static func cases() throws -> [[String: Any]] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let json = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        return json["metric_losses"] as! [[String: Any]]
    }

    @Test func everyMetricCasePasses() throws {
        let outcomes = try GoldenVerifier.verify(path: Self.path)
        for o in outcomes where !o.passed { Issue.record("\(o.index) \(o.kind): \(o.error ?? "")") }
        // Counted apart from the verifier, so that no case is skipped silently; every kind present.
        let cases = try Self.cases()
        #expect(cases.count == 48 && outcomes.count == cases.count)
        #expect(Set(cases.map { $0["loss"] as! String }) == ["arcface", "cosface", "sphereface", "subcenter_arcface",
                                                             "contrastive",
                                                             "triplet", "npairs", "quadruplet", "center"])
        #expect(outcomes.allSatisfy { $0.passed })
    }

    /// A corrupted copy fails with the cases named: a loss value, a gradient row, W's gradient
    /// and the centres' update, each in a different loss.
    @Test func corruptedCasesAreNamed() throws {
        var cases = try Self.cases()
        func damage(_ index: Int, _ key: String, _ change: (inout Any) -> Void) {
            var expected = cases[index]["expected"] as! [String: Any]
            var value = expected[key]!
            change(&value)
            expected[key] = value
            cases[index]["expected"] = expected
        }
        let kinds = cases.map { $0["loss"] as! String }
        let sphere = kinds.firstIndex(of: "sphereface")!, npairs = kinds.firstIndex(of: "npairs")!
        let sub = kinds.firstIndex(of: "subcenter_arcface")!, center = kinds.firstIndex(of: "center")!
        damage(sphere, "loss") { $0 = ($0 as! Double) + 0.01 }
        damage(npairs, "dembeddings") { var g = $0 as! [[Double]]; g[2][1] += 0.1; $0 = g }
        damage(sub, "dW") { var g = $0 as! [[Double]]; g[0][7] -= 0.1; $0 = g }
        damage(center, "centers_after") { var g = $0 as! [[Double]]; g[1][0] += 0.01; $0 = g }
        let file = FileManager.default.temporaryDirectory
            .appendingPathComponent("metric-golden-broken-\(getpid()).json")
        try JSONSerialization.data(withJSONObject: ["metric_losses": cases]).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let failed = try GoldenVerifier.verify(path: file.path).filter { !$0.passed }.map(\.index)
        #expect(failed == [sphere, npairs, sub, center].sorted().map { "metric_losses[\($0)]" })
    }
}
