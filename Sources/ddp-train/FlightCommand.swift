import ArgumentParser
import Distributed
import Foundation

/// `ddp-train flight RUNDIR`: lines up the ranks' flight records after a stall or a fault.
struct FlightCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flight",
        abstract: "Read a run's flight records (RUNDIR/flight/rank-R.json) and say which rank is behind, in which " +
                  "collective, at which step.",
        discussion: """
            Every rank of an MPI job keeps its last 512 collectives and writes them when the job stalls \
            (--stall-timeout), fails, is stopped by a signal or aborts. A rank without a record was stopped, \
            killed, or its host could not write to the run directory. Exits 1 when there is nothing to read.
            """)

    @Argument(help: "The run directory (or its flight/ directory).")
    var runDirectory: String

    @Flag(help: "Print one JSON object: behind, missing, lagging, suspended, waiting, collective, summary.")
    var json = false

    struct Report: Encodable {
        var directory: String
        var job: String?
        var size: Int
        var behind: [Int]
        var missing: [Int]
        var lagging: [Int]
        var suspended: [Int]
        var waiting: [Int]
        var collective: FlightEntry?
        var summary: String
    }

    func run() throws {
        var directory = runDirectory
        if !directory.hasSuffix("/flight"), FileManager.default.fileExists(atPath: directory + "/flight") {
            directory += "/flight"
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw FlightError(message: "\(runDirectory): no flight records here (expected a run directory with " +
                                       "flight/rank-R.json; ranks write them on a stall, an error, a " +
                                       "signal or an abort)")
        }
        let analysis = try FlightAnalysis.read(directory: directory)
        if json {
            let report = Report(directory: directory, job: analysis.files.first?.job, size: analysis.size,
                                behind: analysis.behind,
                                missing: analysis.missing, lagging: analysis.lagging, suspended: analysis.suspended,
                                waiting: analysis.waiting,
                                collective: analysis.collective, summary: analysis.summary)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
            return
        }
        let reasons = Set(analysis.files.map(\.reason)).sorted().joined(separator: ", ")
        print("flight records in \(directory): \(analysis.files.count) of \(analysis.size) ranks " +
              "(written on: \(reasons))")
        for line in analysis.table { print(line) }
        print(analysis.summary)
    }
}
