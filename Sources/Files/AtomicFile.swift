import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Crash-safe file replacement: write a temporary file in the same directory,
/// fsync it, rename it over the target, fsync the directory. A reader sees the
/// old file or the new one, never a part.
public enum AtomicFile {
    /// Prefix of temporary files (ignored by readers, removed by `removeStaleTemporaries`).
    public static let temporaryPrefix = ".tmp-"

    /// Writes `chunks` in order to `path` atomically.
    public static func write(_ path: String, chunks: [UnsafeRawBufferPointer]) throws {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        let temporary = directory + "/" + temporaryPrefix + url.lastPathComponent + ".\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw FileError(path: temporary,
                                             reason: "cannot create: \(String(cString: strerror(errno)))") }
        var ok = false
        defer {
            if !ok {
                close(fd)
                unlink(temporary)
            }
        }
        for chunk in chunks {
            var offset = 0
            while offset < chunk.count {
                let n = Glibc.write(fd, chunk.baseAddress! + offset, chunk.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw FileError(path: temporary, reason: "write failed: \(String(cString: strerror(errno)))")
                }
                offset += n
            }
        }
        guard fsync(fd) == 0 else { throw FileError(path: temporary,
                                                    reason: "fsync failed: \(String(cString: strerror(errno)))") }
        guard close(fd) == 0 else { throw FileError(path: temporary,
                                                    reason: "close failed: \(String(cString: strerror(errno)))") }
        ok = true
        guard rename(temporary, path) == 0 else {
            unlink(temporary)
            throw FileError(path: path, reason: "rename failed: \(String(cString: strerror(errno)))")
        }
        let dfd = open(directory, O_RDONLY | O_DIRECTORY)
        if dfd >= 0 {
            fsync(dfd)
            close(dfd)
        }
    }

    /// Writes `data` to `path` atomically.
    public static func write(_ path: String, data: Data) throws {
        try data.withUnsafeBytes { try write(path, chunks: [$0]) }
    }

    /// Removes temporary files a killed writer left in `directory`.
    public static func removeStaleTemporaries(in directory: String) {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for f in files where f.hasPrefix(temporaryPrefix) {
            try? FileManager.default.removeItem(atPath: directory + "/" + f)
        }
    }
}
