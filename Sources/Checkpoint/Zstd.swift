import CZstd

/// zstd compression of whole buffers.
public enum Zstd {
    /// The linked libzstd's version, e.g. "1.5.4".
    public static var version: String { String(cString: ZSTD_versionString()) }

    /// Compresses `input` at `level` (1...19).
    public static func compress(_ input: UnsafeRawBufferPointer, level: Int32) throws -> [UInt8] {
        let bound = ZSTD_compressBound(input.count)
        var out = [UInt8](repeating: 0, count: bound)
        let written = out.withUnsafeMutableBytes { dst in
            ZSTD_compress(dst.baseAddress, bound, input.baseAddress, input.count, level)
        }
        if ZSTD_isError(written) != 0 {
            throw CheckpointError.compression(String(cString: ZSTD_getErrorName(written)))
        }
        out.removeSubrange(written...)
        return out
    }

    /// Decompresses a zstd frame of known decompressed size `rawCount` into `output`.
    public static func decompress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws {
        let n = ZSTD_decompress(output.baseAddress, output.count, input.baseAddress, input.count)
        if ZSTD_isError(n) != 0 {
            throw CheckpointError.compression(String(cString: ZSTD_getErrorName(n)))
        }
        if n != output.count {
            throw CheckpointError.compression("decompressed \(n) bytes, expected \(output.count)")
        }
    }
}
