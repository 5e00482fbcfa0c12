import Files
import Checkpoint
import Foundation

/// The lock a job holds on its run directory (`RUNDIR/lock`, an exclusive `flock`), so that a
/// second job on the same directory is refused instead of overwriting the first's files.
///
/// The kernel releases the lock when the holding process ends in any way (`kill -9`
/// included), so a lock file left behind by a dead job never blocks; the file's text only
/// names the holder for the message.
public final class RunLock {
    public let path: String
    private let descriptor: Int32

    /// Takes the lock or throws, naming the holder. Holds it until this object is released
    /// or the process ends.
    public init(directory: String) throws {
        path = directory + "/lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw FileError(path: path,
                            reason: "cannot open the run directory's lock: \(String(cString: strerror(errno)))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let busy = errno == EWOULDBLOCK
            let holder = (try? String(contentsOfFile: path,
                                      encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            close(fd)
            if busy {
                throw FileError(path: directory, reason: """
                    in use by another job (\(holder.isEmpty ? "holder unknown" : holder)); \
                    choose another --run-dir, or wait for that job to end
                    """)
            }
            throw FileError(path: path, reason: "cannot lock the run directory: \(String(cString: strerror(errno)))")
        }
        descriptor = fd
        let text = "pid \(getpid()) on \(ProcessInfo.processInfo.hostName) since " +
                   "\(ISO8601DateFormatter().string(from: Date()))\n"
        _ = ftruncate(fd, 0)
        _ = text.withCString { write(fd, $0, strlen($0)) }
    }

    deinit {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
