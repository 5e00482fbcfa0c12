/// MNIST-style IDX files (images: magic 0x00000803, labels: 0x00000801; big-endian; unsigned bytes).
public enum IDXReader {
    static func bigEndian32(_ b: [UInt8], _ at: Int) -> Int {
        (Int(b[at]) << 24) | (Int(b[at + 1]) << 16) | (Int(b[at + 2]) << 8) | Int(b[at + 3])
    }

    static func hex(_ v: Int) -> String {
        let s = String(v, radix: 16)
        return "0x" + String(repeating: "0", count: max(0, 8 - s.count)) + s
    }

    /// Reads an image file (N, H, W) as one-channel images.
    public static func images(_ path: String) throws -> (pixels: [UInt8], count: Int, height: Int, width: Int) {
        var b = try FileBytes.read(path)
        guard b.count >= 16 else { throw DataError.truncated(path: path, offset: 0, expected: 16, found: b.count) }
        let magic = bigEndian32(b, 0)
        guard magic == 0x0000_0803 else {
            throw DataError.format(path: path, field: "magic number",
                                   expected: "0x00000803 (IDX images: unsigned bytes, 3 dimensions)", found: hex(magic))
        }
        let (n, h, w) = (bigEndian32(b, 4), bigEndian32(b, 8), bigEndian32(b, 12))
        guard h > 0,
            w > 0 else { throw DataError.format(path: path, field: "image size", expected: "positive rows and columns",
                                                found: "\(h)x\(w)") }
        // The header's sizes in checked arithmetic, then against the file's length.
        guard let pixels = checkedProduct([n, h, w]), pixels <= Int.max - 16 else {
            throw DataError.format(path: path, field: "image count and size",
                                   expected: "count x rows x cols that fits in memory",
                                   found: "\(n) x \(h) x \(w)")
        }
        let need = 16 + pixels
        guard b.count >= need else { throw DataError.truncated(path: path, offset: b.count, expected: need,
                                                               found: b.count) }
        // Drop the header and any trailing bytes in place: no second copy of the images.
        b.removeSubrange(need...)
        b.removeSubrange(..<16)
        return (b, n, h, w)
    }

    /// Reads a label file (N).
    public static func labels(_ path: String) throws -> [Int32] {
        let b = try FileBytes.read(path)
        guard b.count >= 8 else { throw DataError.truncated(path: path, offset: 0, expected: 8, found: b.count) }
        let magic = bigEndian32(b, 0)
        guard magic == 0x0000_0801 else {
            throw DataError.format(path: path, field: "magic number",
                                   expected: "0x00000801 (IDX labels: unsigned bytes, 1 dimension)", found: hex(magic))
        }
        let n = bigEndian32(b, 4)
        guard b.count >= 8 + n else { throw DataError.truncated(path: path, offset: b.count, expected: 8 + n,
                                                                found: b.count) }
        return b[8..<(8 + n)].map { Int32($0) }
    }

    /// An image file and its label file as a split.
    public static func split(images: String, labels: String) throws -> Split {
        let (pixels, n, h, w) = try Self.images(images)
        let y = try Self.labels(labels)
        guard y.count == n else {
            throw DataError.mismatch("\(images) holds \(n) images but \(labels) holds \(y.count) labels; " +
                                     "expected the same count")
        }
        return Split(pixels: .bytes(pixels), labels: y, channels: 1, height: h, width: w)
    }
}

/// CIFAR binary batches: records of label byte(s) then 3072 pixel bytes (3 x 32 x 32).
public enum CIFARReader {
    /// Reads one batch file; `labelBytes` is 1 (CIFAR-10) or 2 (CIFAR-100: coarse, fine; the fine one is used).
    public static func split(_ path: String, labelBytes: Int) throws -> Split {
        let b = try FileBytes.read(path)
        let record = labelBytes + 3072
        guard b.count % record == 0, !b.isEmpty else {
            let whole = b.count / record * record
            throw DataError.truncated(path: path, offset: whole, expected: whole + record, found: b.count)
        }
        let n = b.count / record
        var pixels = [UInt8](repeating: 0, count: n * 3072)
        var labels = [Int32](repeating: 0, count: n)
        b.withUnsafeBufferPointer { src in
            pixels.withUnsafeMutableBufferPointer { dst in
                for i in 0..<n {
                    labels[i] = Int32(src[i * record + labelBytes - 1])
                    (dst.baseAddress! + i * 3072).update(from: src.baseAddress! + i * record + labelBytes, count: 3072)
                }
            }
        }
        return Split(pixels: .bytes(pixels), labels: labels, channels: 3, height: 32, width: 32)
    }
}
