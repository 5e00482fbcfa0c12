import Foundation

/// Rank 0 speaks; other ranks only warn, with their rank as prefix.
public final class Log: @unchecked Sendable {
    public let rank: Int
    public let worldSize: Int
    /// Whether rank 0's standard error is a terminal (progress bars) or a log file (one line per epoch).
    public let interactive: Bool
    public var quiet = false

    public init(rank: Int, worldSize: Int) {
        self.rank = rank
        self.worldSize = worldSize
        interactive = isatty(STDERR_FILENO) != 0 && ProcessInfo.processInfo.environment["TERM"] != "dumb"
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
        FileHandle.standardError.write(Data("\r\u{1B}[2K\(text)".utf8))
        progressShown = true
    }

    /// Removes the progress line before other output.
    public func clearProgress() {
        guard progressShown else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8))
        progressShown = false
    }
}
