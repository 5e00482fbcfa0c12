import Foundation

/// Writes NumPy `.npy` files (format 1.0, C order, little-endian), whole or not at all.
public enum NPYWriter {
    /// The file's bytes: the header for `descr` (such as `|u1`, `<i4`) and `shape`, then `body`.
    public static func bytes(descr: String, shape: [Int], body: UnsafeRawBufferPointer) -> Data {
        let dims = shape.map(String.init).joined(separator: ", ") + (shape.count == 1 ? "," : "")
        var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': (\(dims)), }"
        // Magic (6) + version (2) + length (2) + header, padded to 64 bytes with a final newline.
        let padding = 63 - (10 + header.utf8.count) % 64
        header += String(repeating: " ", count: padding) + "\n"
        var data = Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0])
        let n = header.utf8.count
        data.append(contentsOf: [UInt8(n & 0xff), UInt8(n >> 8)])
        data.append(contentsOf: Array(header.utf8))
        if let base = body.baseAddress { data.append(base.assumingMemoryBound(to: UInt8.self), count: body.count) }
        return data
    }

    /// Writes `data` to `path` through a temporary file and a rename: a reader sees the old
    /// file or the whole new one.
    public static func write(_ data: Data, to path: String) throws {
        try data.write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}
