import CZlib
import Foundation

/// PNG encoding of 8-bit RGB images (zlib's deflate and CRC-32).
public enum PNG {
    /// - pixels: height x width x 3 bytes, row-major.
    public static func encode(width: Int, height: Int, rgb pixels: [UInt8]) -> Data {
        precondition(pixels.count == width * height * 3,
                     "PNG.encode: \(pixels.count) bytes for \(width) x \(height) RGB")
        // Each row starts with its filter type (0: none).
        var raw = [UInt8](repeating: 0, count: height * (1 + 3 * width))
        for y in 0..<height {
            let row = y * (1 + 3 * width)
            for i in 0..<(3 * width) { raw[row + 1 + i] = pixels[y * 3 * width + i] }
        }
        var compressedSize = compressBound(uLong(raw.count))
        var compressed = [UInt8](repeating: 0, count: Int(compressedSize))
        let status = compress2(&compressed, &compressedSize, raw, uLong(raw.count), 6)
        precondition(status == Z_OK, "zlib compress2 failed (\(status))")  // only out of memory
        var out = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        var header = Data()
        header.appendBigEndian(UInt32(width))
        header.appendBigEndian(UInt32(height))
        header.append(contentsOf: [8, 2, 0, 0, 0])  // 8 bits, RGB, deflate, no filter method, no interlace
        chunk("IHDR", header, into: &out)
        chunk("IDAT", Data(compressed[0..<Int(compressedSize)]), into: &out)
        chunk("IEND", Data(), into: &out)
        return out
    }

    static func chunk(_ type: String, _ body: Data, into out: inout Data) {
        out.appendBigEndian(UInt32(body.count))
        let typed = Data(type.utf8) + body
        out.append(typed)
        let crc = typed.withUnsafeBytes { crc32(0, $0.bindMemory(to: UInt8.self).baseAddress, uInt($0.count)) }
        out.appendBigEndian(UInt32(crc))
    }
}

extension Data {
    mutating func appendBigEndian(_ v: UInt32) {
        append(contentsOf: [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)])
    }
}
