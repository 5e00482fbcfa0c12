import CZlib
import Foundation

/// Reads a whole file, inflating it when it is gzip-compressed (by its magic bytes).
public enum FileBytes {
    /// The file's bytes; `.gz` content is decompressed. Throws `DataError` naming the file.
    public static func read(_ path: String) throws -> [UInt8] {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw DataError.format(path: path, field: "file type", expected: "a data file", found: "a directory")
        }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw DataError.missing(path: path, hint: "check the --data directory")
        }
        defer { try? handle.close() }
        let data: Data
        do {
            data = try handle.readToEnd() ?? Data()
        } catch {
            throw DataError.mismatch("\(path): cannot read: \(error.localizedDescription)")
        }
        if data.count >= 2, data[data.startIndex] == 0x1f, data[data.startIndex + 1] == 0x8b {
            return try inflate(data, path: path)
        }
        return [UInt8](data)
    }

    /// Decompresses every gzip member of `data`.
    static func inflate(_ data: Data, path: String) throws -> [UInt8] {
        // The gzip trailer holds the size modulo 2^32 of the last member: a good first guess.
        var capacity = max(data.count * 2, 1 << 16)
        if data.count >= 4 {
            let tail = data.suffix(4).enumerated().reduce(0) { $0 | (Int($1.element) << (8 * $1.offset)) }
            // deflate expands at most about 1032:1, so a larger claim is a damaged trailer.
            if tail > data.count, tail <= data.count * 1032 { capacity = tail + 1 }
        }
        var out = [UInt8](repeating: 0, count: capacity)
        var produced = 0
        try data.withUnsafeBytes { (input: UnsafeRawBufferPointer) in
            var stream = z_stream()
            guard czlib_inflate_init2(&stream, 15 + 32) == Z_OK else {
                throw DataError.gzip(path: path, reason: "zlib could not start")
            }
            defer { inflateEnd(&stream) }
            stream.next_in = UnsafeMutablePointer(mutating: input.bindMemory(to: UInt8.self).baseAddress)
            stream.avail_in = uInt(input.count)
            while true {
                if produced == out.count { out.append(contentsOf: repeatElement(0, count: out.count)) }
                let status = out.withUnsafeMutableBufferPointer { buffer -> Int32 in
                    stream.next_out = buffer.baseAddress! + produced
                    stream.avail_out = uInt(buffer.count - produced)
                    let status = CZlib.inflate(&stream, Z_NO_FLUSH)
                    produced = buffer.count - Int(stream.avail_out)
                    return status
                }
                switch status {
                case Z_OK:
                    continue
                case Z_BUF_ERROR where stream.avail_in == 0:
                    throw DataError.gzip(path: path,
                                         reason: "the stream ends early (truncated .gz file) at compressed byte " +
                                                 "offset \(input.count)")
                case Z_BUF_ERROR:
                    continue
                case Z_STREAM_END:
                    if stream.avail_in == 0 { return }
                    // Another gzip member follows.
                    guard inflateReset(&stream) == Z_OK else { throw DataError.gzip(path: path,
                        reason: "cannot read the next member") }
                default:
                    let reason = stream.msg.map { String(cString: $0) } ?? "zlib error \(status)"
                    let offset = input.count - Int(stream.avail_in)
                    throw DataError.gzip(path: path, reason: "\(reason) near compressed byte offset \(offset)")
                }
            }
        }
        out.removeSubrange(produced...)
        return out
    }
}
