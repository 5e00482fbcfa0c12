import Foundation

/// The process's peak resident memory (Linux's `VmHWM`), which `reset` starts over
/// (`/proc/self/clear_refs`, Linux 4.0 and later), so that each of several measurements in one
/// process gets its own peak.
public enum PeakMemory {
    /// Starts the peak over at the memory resident now; false where the kernel does not allow it
    /// (the peak then covers the whole process so far).
    @discardableResult
    public static func reset() -> Bool {
        guard let file = fopen("/proc/self/clear_refs", "w") else { return false }
        defer { fclose(file) }
        return fputs("5", file) >= 0
    }

    /// Bytes of the peak resident memory since the start or the last `reset`; nil where
    /// `/proc/self/status` does not say (not Linux).
    public static var bytes: Int? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 2, let kB = Int(fields[1]) else { return nil }
            return kB * 1024
        }
        return nil
    }
}
