import ArgumentParser
import Foundation
import Tools
import Training

/// `ddp-train verify-losses FILE`: checks every case of a golden-losses file.
struct VerifyLossesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify-losses",
        abstract: "Check the losses, class weights, long-tail counts and metric-learning losses against a golden " +
                  "file (format of Tests/golden/losses.json; docs/losses.md describes it).",
        discussion: "Prints one line per failing case, then 'N passed, M failed'; exits 1 if any failed.")

    @Argument(help: "The golden file.")
    var file: String

    func run() throws {
        let outcomes = try GoldenVerifier.verify(path: file)
        for o in outcomes where !o.passed {
            print("\(o.index) \(o.kind): \(o.error ?? "")")
        }
        let passed = outcomes.filter(\.passed).count
        print("\(passed) passed, \(outcomes.count - passed) failed")
        if passed != outcomes.count { throw ExitCode(1) }
    }
}
