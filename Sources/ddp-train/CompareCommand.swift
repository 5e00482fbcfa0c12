import Files
import ArgumentParser
import Checkpoint
import Foundation
import Tools
import Training

/// `ddp-train compare RUNDIR...`: the runs side by side in one page.
struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Runs side by side: one self-contained HTML page (final figures with each run's distinguishing " +
                  "options, balanced and few-class accuracy over epochs, per-class accuracy and its " +
                  "difference to the first run).")

    @Argument(help: ArgumentHelp("Run directories (the first is the baseline of the differences).",
                                 valueName: "rundir"))
    var runs: [String]

    @Option(help: ArgumentHelp("The page to write.", valueName: "file"))
    var out = "compare.html"

    @Flag(help: "Print the table as JSON (one object per run) instead of writing the page.")
    var json = false

    @Option(help: ArgumentHelp("Print the paper-style table instead of writing the page: runs that differ only in " +
                               "--seed or --data-seed as one row, mean ± standard deviation (and n) of overall, " +
                               "many/medium/few, shot groups, balanced, top-5 and ECE (percent), for the model " +
                               "best by validation and the last.", valueName: "md|csv|latex"))
    var table: SeedTable.Format?

    func validate() throws {
        if runs.isEmpty { throw ValidationError("give at least one run directory") }
        if json, table != nil { throw ValidationError("--json and --table print one table each; give one") }
    }

    func run() throws {
        let comparison: Comparison
        do {
            comparison = try Comparison.load(runs)
        } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(1)
        }
        if let table {
            print(SeedTable(comparison).render(table), terminator: "")
            return
        }
        if json {
            let data = try JSONSerialization.data(withJSONObject: comparison.json,
                                                  options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        try AtomicFile.write(out, data: Data(ComparePage.html(comparison).utf8))
        print("wrote \(out): \(comparison.runs.count) runs"
            + (comparison.differing.isEmpty ? "" : ", differing in "
            + comparison.differing.map { "--" + $0 }.joined(separator: ", ")))
    }
}
