import Foundation

/// NumPy `.npy` arrays (format versions 1-3, C order, little-endian).
public enum NPYReader {
    /// A parsed array: element type, shape and the raw data bytes.
    public struct Array: Sendable {
        public var descr: String
        public var shape: [Int]
        public var data: [UInt8]
        public var count: Int { shape.reduce(1, *) }
    }

    /// Reads and checks the header of `path`.
    public static func read(_ path: String) throws -> Array {
        let b = try FileBytes.read(path)
        let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]
        guard b.count >= 10, Swift.Array(b[0..<6]) == magic else {
            throw DataError.format(path: path, field: "magic string", expected: "\\x93NUMPY (a .npy file)",
                                   found: "\(b.prefix(6).map { String($0) })")
        }
        let major = Int(b[6])
        let headerLength: Int, start: Int
        switch major {
        case 1: headerLength = Int(b[8]) | (Int(b[9]) << 8); start = 10
        case 2, 3:
            guard b.count >= 12 else { throw DataError.truncated(path: path, offset: 8, expected: 12, found: b.count) }
            headerLength = Int(b[8]) | (Int(b[9]) << 8) | (Int(b[10]) << 16) | (Int(b[11]) << 24); start = 12
        default:
            throw DataError.format(path: path, field: "format version", expected: "1, 2 or 3", found: "\(major)")
        }
        guard b.count >= start + headerLength else {
            throw DataError.truncated(path: path, offset: b.count, expected: start + headerLength, found: b.count)
        }
        let header = String(decoding: b[start..<(start + headerLength)], as: UTF8.self)
        for key in ["descr", "fortran_order", "shape"] where header.components(separatedBy: "'\(key)':").count > 2 {
            throw DataError.format(path: path, field: "header \(key)", expected: "given once",
                                   found: "given more than once")
        }
        guard let descr = field("descr", in: header) else {
            throw DataError.format(path: path, field: "header descr", expected: "a dtype such as '|u1' or '<f4'",
                                   found: header)
        }
        if let fortran = field("fortran_order", in: header), fortran.hasPrefix("True") {
            throw DataError.format(path: path, field: "fortran_order", expected: "False (C order)", found: "True")
        }
        guard let shapeText = field("shape", in: header) else {
            throw DataError.format(path: path, field: "header shape", expected: "a shape tuple", found: header)
        }
        let tokens = shapeText.split(whereSeparator: { ",() ".contains($0) })
        let shape = tokens.compactMap { Int($0) }
        guard shape.count == tokens.count, shape.allSatisfy({ $0 >= 0 }) else {
            throw DataError.format(path: path, field: "header shape", expected: "non-negative integer dimensions",
                                   found: shapeText)
        }
        let dtype = descr.trimmingCharacters(in: CharacterSet(charactersIn: "'\""))
        guard let size = elementSize(dtype) else {
            throw DataError.format(path: path, field: "dtype",
                                   expected: "uint8, int8/16/32/64, uint16/32/64 or float32 (little-endian)",
                                   found: dtype)
        }
        let dataStart = start + headerLength
        guard let bytes = checkedProduct(shape + [size]), bytes <= Int.max - dataStart else {
            throw DataError.format(path: path, field: "header shape", expected: "a shape whose data fits in memory",
                                   found: "\(shapeText) of \(dtype)")
        }
        let need = dataStart + bytes
        guard b.count >= need else { throw DataError.truncated(path: path, offset: b.count, expected: need,
                                                               found: b.count) }
        return Array(descr: dtype, shape: shape, data: Swift.Array(b[dataStart..<need]))
    }

    static func elementSize(_ dtype: String) -> Int? {
        switch dtype {
        case "|u1", "<u1", "|i1", "<i1", "u1", "i1", "|b1": return 1
        case "<i2", "<u2": return 2
        case "<i4", "<u4", "<f4": return 4
        case "<i8", "<u8": return 8
        default: return nil
        }
    }

    /// The text of `key`'s value in a NumPy header dictionary.
    static func field(_ key: String, in header: String) -> String? {
        guard let r = header.range(of: "'\(key)':") else { return nil }
        var rest = header[r.upperBound...].drop(while: { $0 == " " })
        if rest.first == "(" {
            guard let close = rest.firstIndex(of: ")") else { return nil }
            return String(rest[...close])
        }
        rest = rest.prefix(while: { $0 != "," && $0 != "}" })
        return String(rest).trimmingCharacters(in: .whitespaces)
    }

    /// Integer labels from a 1-D integer array.
    public static func labels(_ path: String) throws -> [Int32] {
        // Wider integers must fit a class index: clamping would hide what the file says.
        try integers(path, field: "labels").enumerated().map { i, v in
            guard let x = Int32(exactly: v) else {
                throw DataError.format(path: path, field: "label of sample \(i)",
                                       expected: "a class index (0 to \(Dataset.maxClasses - 1))", found: "\(v)")
            }
            return x
        }
    }

    /// The values of a 1-D integer array (`field` names it in errors: "labels", "indices").
    public static func integers(_ path: String, field: String) throws -> [Int64] {
        let a = try read(path)
        guard a.shape.count == 1 else {
            throw DataError.format(path: path, field: "shape", expected: "(N,) \(field)", found: "\(a.shape)")
        }
        let n = a.count
        return try a.data.withUnsafeBytes { raw -> [Int64] in
            func at<T: FixedWidthInteger>(_ type: T.Type) -> [Int64] {
                (0..<n).map { Int64(truncatingIfNeeded: raw.loadUnaligned(fromByteOffset: $0 * T.bitWidth / 8,
                                                                          as: T.self)) }
            }
            switch a.descr {
            case "|u1", "<u1", "u1": return at(UInt8.self)
            case "|i1", "<i1", "i1": return at(Int8.self)
            case "<i2": return at(Int16.self)
            case "<u2": return at(UInt16.self)
            case "<i4": return at(Int32.self)
            case "<u4": return at(UInt32.self)
            case "<i8": return at(Int64.self)
            case "<u8":
                return try (0..<n).map { i in
                    let v = raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)
                    guard let x = Int64(exactly: v) else {
                        throw DataError.format(path: path, field: "\(field) entry \(i)",
                                               expected: "at most \(Int64.max)", found: "\(v)")
                    }
                    return x
                }
            default:
                throw DataError.format(path: path, field: "dtype", expected: "an integer type for \(field)",
                                       found: a.descr)
            }
        }
    }

    /// Images from an (N, H, W) or (N, C, H, W) array of uint8 or float32.
    public static func images(_ path: String) throws -> Split {
        let a = try read(path)
        let (n, c, h, w): (Int, Int, Int, Int)
        switch a.shape.count {
        case 3: (n, c, h, w) = (a.shape[0], 1, a.shape[1], a.shape[2])
        case 4: (n, c, h, w) = (a.shape[0], a.shape[1], a.shape[2], a.shape[3])
        default:
            throw DataError.format(path: path, field: "shape", expected: "(N, H, W) or (N, C, H, W) images",
                                   found: "\(a.shape)")
        }
        switch a.descr {
        case "|u1", "<u1", "u1":
            return Split(pixels: .bytes(a.data), labels: Swift.Array(repeating: 0, count: n), channels: c, height: h,
                         width: w)
        case "<f4":
            let floats = a.data.withUnsafeBytes { raw in (0..<a.count).map { raw.loadUnaligned(fromByteOffset: 4 * $0,
                                                                                               as: Float.self) } }
            return Split(pixels: .floats(floats), labels: Swift.Array(repeating: 0, count: n), channels: c, height: h,
                         width: w)
        default:
            throw DataError.format(path: path, field: "dtype", expected: "uint8 or float32 images", found: a.descr)
        }
    }

    /// An images file and its labels file as a split.
    public static func split(images: String, labels: String) throws -> Split {
        var s = try Self.images(images)
        let y = try Self.labels(labels)
        guard y.count == s.count else {
            throw DataError.mismatch("\(images) holds \(s.count) images but \(labels) holds \(y.count) labels; " +
                                     "expected the same count")
        }
        s.labels = y
        return s
    }
}
