import ArgumentParser
import Tools
import Training

/// `ddp-train report RUNDIR`: regenerates `report.html` from the run's metrics.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Regenerate RUNDIR/report.html (self-contained, inline SVG) from metrics.jsonl and config.json.")

    @Argument(help: "The run directory.")
    var runDirectory: String

    func run() throws {
        print("wrote \(try Report.regenerate(runDirectory: runDirectory))")
    }
}
