import Foundation

/// Lines up the ranks' flight files (`FlightFile`) of one job and says who is behind: the
/// ranks that did not enter the collective the others wait in (or left no record at all),
/// which collective, and at which step. Used by the stall watchdog on rank 0 and by
/// `ddp-train flight RUNDIR`.
public struct FlightAnalysis: Sendable {
    /// The files of the job analysed, by rank.
    public let files: [FlightFile]
    /// The job's size (from the files).
    public let size: Int
    /// Ranks without a file: stopped, killed, or on a host whose disk the others cannot see.
    public let missing: [Int]
    /// Ranks that wrote a file, were not inside a collective, and had not entered the furthest
    /// collective any rank entered (stuck outside communication).
    public let lagging: [Int]
    /// Ranks waiting inside a collective that had not completed when they wrote. A waiting rank is
    /// held up by another, so it is never counted as behind.
    public let waiting: [Int]
    /// The collective a lagging rank did not enter (the one after its last), or else the earliest
    /// one the waiting ranks are inside.
    public let collective: FlightEntry?

    /// Ranks that noticed they had not run for a while before writing (`kill -STOP`, a paused
    /// host): their records came late, after the others had waited for them.
    public let suspended: [Int]

    /// The ranks behind: suspended and lagging ones, and ranks without a record.
    public var behind: [Int] { Array(Set(lagging + missing + suspended)).sorted() }

    /// Analyses `files` (one job: the newest job's files are kept when several are given).
    public init(files all: [FlightFile]) {
        let newest = all.max { $0.writtenAt < $1.writtenAt }?.job
        let files = all.filter { $0.job == newest }.sorted { $0.rank < $1.rank }
        self.files = files
        size = files.map(\.size).max() ?? 0
        let present = Set(files.map(\.rank))
        missing = (0..<size).filter { !present.contains($0) }
        let lastEntered = Dictionary(uniqueKeysWithValues: files.map { ($0.rank,
                                                                        $0.collectives.map(\.seq).max() ?? 0) })
        let frontier = lastEntered.values.max() ?? 0
        let stopped = files.filter { ($0.suspended ?? 0) >= 1 }.map(\.rank)
        let waiters = files.filter { Self.inFlight($0) != nil && !stopped.contains($0.rank) }
        let late = files.filter { f in !stopped.contains(f.rank) && Self.inFlight(f) == nil
            && lastEntered[f.rank]! < frontier }.map(\.rank)
        suspended = stopped
        waiting = waiters.map(\.rank)
        lagging = late
        let target: Int?
        if let least = late.compactMap({ lastEntered[$0] }).min() {
            target = least + 1
        } else {
            target = waiters.compactMap { Self.inFlight($0)?.seq }.min()
        }
        collective = target.flatMap { seq in
            files.lazy.compactMap { f in f.collectives.first { $0.seq == seq } }.first
        }
    }

    /// The earliest collective `file`'s rank had not completed.
    static func inFlight(_ file: FlightFile) -> FlightEntry? { file.collectives.first { $0.end == nil } }

    /// Reads every `rank-R.json` under `directory` (the run directory's `flight/`).
    public static func read(directory: String) throws -> FlightAnalysis {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory)
            .filter { $0.hasPrefix("rank-") && $0.hasSuffix(".json") }
        var files: [FlightFile] = []
        for name in names.sorted() {
            let path = "\(directory)/\(name)"
            do {
                files.append(try JSONDecoder().decode(FlightFile.self,
                                                      from: Data(contentsOf: URL(fileURLWithPath: path))))
            } catch {
                throw FlightError(message: "\(path): not a flight record (\(error))")
            }
        }
        guard !files.isEmpty else { throw FlightError(message: "\(directory): no flight records (rank-R.json)") }
        return FlightAnalysis(files: files)
    }

    /// One or two sentences: who is behind, in which collective, at which step.
    public var summary: String {
        var text: [String] = []
        if !behind.isEmpty {
            text.append("\(Self.capitalised(Self.ranks(behind))) \(behind.count == 1 ? "is" : "are") behind.")
            if !missing.isEmpty {
                text.append("\(Self.capitalised(Self.ranks(missing))) left no flight record (stopped, killed, or " +
                            "its host unreachable).")
            }
            for f in files where suspended.contains(f.rank) {
                text.append("Rank \(f.rank) did not run for \(Self.seconds(f.suspended ?? 0)) before it wrote its " +
                            "record (stopped, as by kill -STOP, or paused).")
            }
            for r in lagging {
                guard let f = files.first(where: { $0.rank == r }) else { continue }
                var line = "Rank \(r) was outside every collective"
                if let c = collective, c.seq > (f.collectives.last?.seq ?? 0) {
                    line += " and did not enter collective #\(c.seq) (\(Self.describe(c)))"
                }
                if let last = f.collectives.last { line += "; its last was #\(last.seq) (\(Self.describe(last)))" }
                text.append(line + ".")
            }
        } else if !waiting.isEmpty, waiting.count == files.count {
            let hosts = Dictionary(grouping: files, by: \.host).sorted { $0.key < $1.key }
                .map { "\($0.key): \(Self.ranks($0.value.map(\.rank)))" }.joined(separator: ", ")
            let same = Set(files.compactMap { Self.inFlight($0)?.seq }).count == 1
            let state = same ? "entered collective #\(collective?.seq ?? 0) and none completed it"
                : "waits inside a collective"
            text.append("Every rank \(state): "
                        + "the ranks could not reach one another (a link down, a host gone, or a stalled " +
                          "network). Hosts: \(hosts).")
        } else if waiting.isEmpty {
            return "No rank is behind: no collective was in flight when the records were written."
        }
        let waits = files.filter { waiting.contains($0.rank) }.compactMap { f in Self.inFlight(f).map { (f, $0) } }
            .map { f, e in "rank \(f.rank) in #\(e.seq) (\(Self.describe(e))) for " +
                           "\(Self.seconds(f.writtenAt - e.start))" }
        if !waits.isEmpty { text.append("Waiting: " + waits.joined(separator: "; ") + ".") }
        return text.joined(separator: " ")
    }

    /// A line per rank: host, why it wrote, its last completed collective and the one in flight.
    public var table: [String] {
        var lines = ["rank  host              reason  last completed                        in flight"]
        for r in 0..<size {
            guard let f = files.first(where: { $0.rank == r }) else {
                lines.append(Self.pad("\(r)", 6) + "(no record)")
                continue
            }
            let done = f.collectives.last { $0.end != nil }
            let open = f.collectives.first { $0.end == nil }
            lines.append(Self.pad("\(r)", 6) + Self.pad(f.host, 18) + Self.pad(f.reason, 8)
                         + Self.pad(done.map { "#\($0.seq) \($0.kind), epoch \($0.epoch) step \($0.step)" } ?? "-", 38)
                         + (open.map { "#\($0.seq) \($0.kind), epoch \($0.epoch) step \($0.step), " +
                                       "\(Self.seconds(f.writtenAt - $0.start))" } ?? "-"))
        }
        return lines
    }

    static func describe(_ e: FlightEntry) -> String {
        var parts = ["\(e.kind) of \(bytes(e.bytes))"]
        if let b = e.bucket { parts.append("gradient bucket \(b)") }
        parts.append("epoch \(e.epoch), step \(e.step)")
        return parts.joined(separator: ", ")
    }

    static func ranks(_ r: [Int]) -> String {
        r.count == 1 ? "rank \(r[0])" : "ranks " + r.map(String.init).joined(separator: ", ")
    }

    static func bytes(_ n: Int) -> String {
        if n >= 1 << 20 { return String(format: "%.1f MiB", Double(n) / Double(1 << 20)) }
        if n >= 1 << 10 { return String(format: "%.1f KiB", Double(n) / Double(1 << 10)) }
        return "\(n) B"
    }

    static func capitalised(_ s: String) -> String { s.prefix(1).uppercased() + s.dropFirst() }

    static func seconds(_ s: Double) -> String { String(format: "%.1f s", max(0, s)) }

    static func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s + " " : s + String(repeating: " ", count: width - s.count)
    }
}

/// A flight directory that cannot be read.
public struct FlightError: Error, CustomStringConvertible {
    public var message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}
