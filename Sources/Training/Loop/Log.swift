import Foundation

/// Rank 0 speaks; other ranks only warn, with their rank as prefix.
public final class Log: @unchecked Sendable {
    public let rank: Int
    public let worldSize: Int
    /// Whether rank 0 writes to a terminal (a progress line within each epoch) or to log files
    /// (one line per epoch). Under mpirun only standard output is a terminal (Open MPI forwards
    /// it through a pty, standard error through a pipe), so either one counts.
    public let interactive: Bool
    /// Where the progress line goes: standard output when it is a terminal, else standard error.
    private let progressOutput: FileHandle
    public var quiet = false

    public init(rank: Int, worldSize: Int) {
        self.rank = rank
        self.worldSize = worldSize
        let out = isatty(STDOUT_FILENO) != 0, err = isatty(STDERR_FILENO) != 0
        interactive = (out || err) && ProcessInfo.processInfo.environment["TERM"] != "dumb"
        progressOutput = out ? FileHandle.standardOutput : FileHandle.standardError
    }

    /// A line on standard output from rank 0.
    public func info(_ text: String) {
        guard rank == 0, !quiet else { return }
        clearProgress()
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    /// A warning on standard error from any rank.
    public func warn(_ text: String) {
        clearProgress()
        let prefix = worldSize > 1 ? "rank \(rank): " : ""
        FileHandle.standardError.write(Data("\(prefix)warning: \(text)\n".utf8))
    }

    private var progressShown = false

    /// Rewrites the progress line on a terminal (rank 0 only).
    public func progress(_ text: String) {
        guard rank == 0, interactive, !quiet else { return }
        progressOutput.write(Data("\r\u{1B}[2K\(text)".utf8))
        progressShown = true
    }

    /// Removes the progress line before other output.
    public func clearProgress() {
        guard progressShown else { return }
        progressOutput.write(Data("\r\u{1B}[2K".utf8))
        progressShown = false
    }
}
