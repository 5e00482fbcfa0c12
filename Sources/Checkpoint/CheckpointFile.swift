import Files
import Foundation

/// The checkpoint file format (docs/checkpoint-format.md).
///
/// ```
/// 0   magic "DDPTCKPT"
/// 8   version (u32 LE) = 1
/// 12  reserved (u32) = 0
/// 16  body size before compression (u64 LE)
/// 24  body size compressed (u64 LE)
/// 32  XXH64 of bytes 0..<32 followed by the compressed body (u64 LE)
/// 40  body, one zstd frame
/// ```
/// The body is: table length (u64 LE), table (JSON: each tensor's name, dtype,
/// shape, offset and byte count), manifest length (u64 LE), manifest (JSON, the
/// trainer's: configuration, position, metrics), then the tensors' bytes, each
/// float32 tensor byte-shuffled. Only JSON and numbers are decoded: no code or
/// object graph is ever deserialised.
public enum CheckpointFile {
    public static let magic: [UInt8] = Array("DDPTCKPT".utf8)
    public static let version: UInt32 = 1
    static let headerSize = 40

    /// One tensor to write.
    public struct Tensor {
        public var name: String
        public var shape: [Int]
        public var values: UnsafeBufferPointer<Float>
        public init(name: String, shape: [Int], values: UnsafeBufferPointer<Float>) {
            self.name = name
            self.shape = shape
            self.values = values
        }
    }

    /// A tensor's entry in the table.
    public struct Entry: Codable, Sendable, Equatable {
        public var name: String
        public var dtype: String
        public var shape: [Int]
        /// Offset of its bytes after the manifest, and their count.
        public var offset: Int
        public var bytes: Int
        public var shuffled: Bool
    }

    /// A checkpoint read back.
    public struct Contents {
        public var manifest: Data
        public var entries: [Entry]
        /// The tensors' bytes, unshuffled: `values(of:)` reads them.
        public var blob: [Float]
        /// Sizes for inspection.
        public var fileBytes: Int
        public var rawBytes: Int

        /// The values of tensor `name`, or nil.
        public func values(of name: String) -> ArraySlice<Float>? {
            guard let e = entries.first(where: { $0.name == name }) else { return nil }
            return blob[(e.offset / 4)..<((e.offset + e.bytes) / 4)]
        }
    }

    /// Writes a checkpoint atomically (temporary file, fsync, rename, fsync of the directory).
    /// Returns the file's size in bytes.
    @discardableResult
    public static func write(path: String, manifest: Data, tensors: [Tensor], level: Int32) throws -> Int {
        var entries: [Entry] = []
        var offset = 0
        for t in tensors {
            entries.append(Entry(name: t.name, dtype: "F32", shape: t.shape, offset: offset, bytes: 4 * t.values.count,
                                 shuffled: true))
            offset += 4 * t.values.count
        }
        let table = try JSONEncoder().encode(entries)
        var body = [UInt8]()
        body.reserveCapacity(16 + table.count + manifest.count + offset)
        appendU64(&body, UInt64(table.count))
        body += table
        appendU64(&body, UInt64(manifest.count))
        body += manifest
        let start = body.count
        body += repeatElement(0, count: offset)
        body.withUnsafeMutableBytes { raw in
            for (t, e) in zip(tensors, entries) where !t.values.isEmpty {
                ByteShuffle.shuffle(UnsafeRawPointer(t.values.baseAddress!), count: t.values.count,
                                    into: raw.baseAddress! + start + e.offset)
            }
        }
        let compressed = try body.withUnsafeBytes { try Zstd.compress($0, level: level) }
        var header = magic
        appendU32(&header, version)
        appendU32(&header, 0)
        appendU64(&header, UInt64(body.count))
        appendU64(&header, UInt64(compressed.count))
        var hash = XXHash64()
        header.withUnsafeBytes { hash.update($0) }
        compressed.withUnsafeBytes { hash.update($0) }
        appendU64(&header, hash.digest())
        try header.withUnsafeBytes { h in
            try compressed.withUnsafeBytes { c in try AtomicFile.write(path, chunks: [h, c]) }
        }
        return header.count + compressed.count
    }

    /// Reads and checks a checkpoint: magic, version, sizes, checksum, then the body.
    public static func read(path: String) throws -> Contents {
        let bytes = try WholeFile.bytes(path)
        func invalid(_ reason: String) -> CheckpointError { .invalid(path: path, reason: reason) }
        guard bytes.count >= headerSize else { throw invalid("truncated: \(bytes.count) bytes, the header " +
                                                             "alone is \(headerSize)") }
        guard Array(bytes[0..<8]) == magic else {
            throw invalid("wrong magic \(bytes[0..<8].map { String(format: "%02x", $0) }.joined()), expected DDPTCKPT")
        }
        let v = readU32(bytes, 8)
        guard v == version else { throw invalid("format version \(v), this program reads version \(version)") }
        // The checksum covers the fixed header fields and everything after the header, so it is
        // checked before any size field is trusted; sizes stay unsigned until checked.
        var hash = XXHash64()
        bytes.withUnsafeBytes { raw in
            hash.update(UnsafeRawBufferPointer(rebasing: raw[0..<32]))
            hash.update(UnsafeRawBufferPointer(rebasing: raw[headerSize...]))
        }
        let announced = readU64(bytes, 24)
        guard announced == UInt64(bytes.count - headerSize) else {
            throw invalid("truncated or padded: \(bytes.count) bytes, the header announces \(announced) " +
                          "after its \(headerSize)")
        }
        guard hash.digest() == readU64(bytes, 32) else { throw invalid("checksum mismatch: the file is damaged") }
        let rawSize64 = readU64(bytes, 16)
        guard rawSize64 < 1 << 40 else { throw invalid("implausible body size \(rawSize64)") }
        let rawSize = Int(rawSize64)
        var body = [UInt8](repeating: 0, count: rawSize)
        do {
            try bytes.withUnsafeBytes { raw in
                try body.withUnsafeMutableBytes { out in
                    try Zstd.decompress(UnsafeRawBufferPointer(rebasing: raw[headerSize...]), into: out)
                }
            }
        } catch {
            throw invalid("body: \(error)")
        }
        guard body.count >= 16 else { throw invalid("body too short: \(body.count) bytes") }
        let tableLength64 = readU64(body, 0)
        guard tableLength64 <= UInt64(body.count - 16) else { throw invalid("table length \(tableLength64) exceeds " +
            "the body of \(body.count) bytes") }
        let tableLength = Int(tableLength64)
        let entries: [Entry]
        do {
            entries = try JSONDecoder().decode([Entry].self, from: Data(body[8..<(8 + tableLength)]))
        } catch {
            throw invalid("unreadable tensor table: \(error)")
        }
        let manifestStart = 16 + tableLength
        let manifestLength64 = readU64(body, 8 + tableLength)
        guard manifestLength64 <= UInt64(body.count - manifestStart) else {
            throw invalid("manifest length \(manifestLength64) exceeds the body of \(body.count) bytes")
        }
        let blobStart = manifestStart + Int(manifestLength64)
        let blobBytes = body.count - blobStart
        var names = Set<String>()
        for e in entries {
            guard names.insert(e.name).inserted else { throw invalid("tensor \(e.name) listed twice in the table") }
            guard e.dtype == "F32", e.offset >= 0, e.bytes >= 0, e.bytes % 4 == 0,
                e.offset <= blobBytes - e.bytes else {
                throw invalid("tensor \(e.name) lies outside the data (\(e.offset) + \(e.bytes) of \(blobBytes) " +
                              "bytes) or has dtype \(e.dtype), expected F32")
            }
            guard let elements = elementCount(of: e.shape), elements == e.bytes / 4 else {
                throw invalid("tensor \(e.name): shape \(e.shape) does not match its \(e.bytes) bytes " +
                              "(\(e.bytes / 4) floats)")
            }
        }
        var blob = [Float](repeating: 0, count: blobBytes / 4)
        body.withUnsafeBytes { raw in
            blob.withUnsafeMutableBytes { out in
                for e in entries {
                    let src = raw.baseAddress! + blobStart + e.offset, dst = out.baseAddress! + e.offset
                    if e.shuffled {
                        ByteShuffle.unshuffle(src, count: e.bytes / 4, into: dst)
                    } else {
                        dst.copyMemory(from: src, byteCount: e.bytes)
                    }
                }
            }
        }
        return Contents(manifest: Data(body[manifestStart..<blobStart]), entries: entries, blob: blob,
                        fileBytes: bytes.count, rawBytes: rawSize)
    }

    /// Elements of a tensor of `shape` as a file states it: nil for a negative dimension or a
    /// product that overflows (a crafted file must give an error, not a trap).
    static func elementCount(of shape: [Int]) -> Int? {
        var count = 1
        for d in shape {
            guard d >= 0 else { return nil }
            let (p, overflow) = count.multipliedReportingOverflow(by: d)
            if overflow { return nil }
            count = p
        }
        return count
    }

    // MARK: - Little-endian integers

    static func appendU32(_ out: inout [UInt8], _ v: UInt32) {
        for i in 0..<4 { out.append(UInt8((v >> (8 * UInt32(i))) & 255)) }
    }

    static func appendU64(_ out: inout [UInt8], _ v: UInt64) {
        for i in 0..<8 { out.append(UInt8((v >> (8 * UInt64(i))) & 255)) }
    }

    static func readU32(_ b: [UInt8], _ at: Int) -> UInt32 {
        (0..<4).reduce(0) { $0 | (UInt32(b[at + $1]) << (8 * UInt32($1))) }
    }

    static func readU64(_ b: [UInt8], _ at: Int) -> UInt64 {
        (0..<8).reduce(0) { $0 | (UInt64(b[at + $1]) << (8 * UInt64($1))) }
    }
}
