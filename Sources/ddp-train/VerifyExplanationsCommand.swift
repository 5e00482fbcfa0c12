import ArgumentParser
import Explain
import Tools
import Foundation

/// `ddp-train verify-explanations FILE`: checks every map of a golden-explanations file.
struct VerifyExplanationsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify-explanations",
        abstract: "Check the explanation methods' maps (saliency, the CAM family, guided and integrated " +
                  "gradients, occlusion, LIME, ...) against a golden file (format of " +
                  "Tests/golden/explain/explain.json, weights beside it; docs/explain.md).",
        discussion: "Prints one line per failing item, then 'N passed, M failed'; exits 1 if any failed.")

    @Argument(help: "The golden file.")
    var file: String

    func run() throws {
        let outcomes = try ExplanationVerifier.verify(path: file)
        for o in outcomes where !o.passed { print("\(o.name): \(o.error ?? "")") }
        let passed = outcomes.filter(\.passed).count
        print("\(passed) passed, \(outcomes.count - passed) failed")
        if passed != outcomes.count { throw ExitCode(1) }
    }
}
