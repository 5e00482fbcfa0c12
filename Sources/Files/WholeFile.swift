import Foundation

/// Reads a whole file with POSIX calls: a clear error for a missing file or a directory, and no
/// Foundation buffer (its `contents(atPath:)` leaks one for an empty file, as fuzzing showed).
public enum WholeFile {
    public static func bytes(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FileError(path: path, reason: "cannot open: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd,
                    &info) == 0 else { throw FileError(path: path,
                                                       reason: "cannot stat: \(String(cString: strerror(errno)))") }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw FileError(path: path,
            reason: "not a regular file (a directory?); expected a file") }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else {
                throw FileError(path: path,
                                reason: n == 0
                                ? "the file shrank while being read"
                                : "read failed: \(String(cString: strerror(errno)))")
            }
            done += n
        }
        return bytes
    }
}
