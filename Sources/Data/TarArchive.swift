import Foundation

/// The regular files of a tar archive (POSIX ustar, GNU long names, pax `path` records), read
/// from memory: each member's name and where its bytes are.
public enum TarArchive {
    public struct Member: Sendable, Equatable {
        public var name: String
        public var offset: Int
        public var size: Int
    }

    /// The archive's regular files in order; `path` names the archive in errors.
    public static func members(of bytes: UnsafeRawBufferPointer, path: String) throws -> [Member] {
        var members: [Member] = []
        var offset = 0
        var longName: String?
        while offset + 512 <= bytes.count {
            let header = UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + 512)])
            if header.allSatisfy({ $0 == 0 }) { return members }
            guard checksumMatches(header) else {
                throw DataError.format(path: path, field: "tar header at byte offset \(offset)",
                                       expected: "a tar header with a valid checksum",
                                       found: "other bytes (not a tar file, or a damaged one)")
            }
            guard let size = number(header, 124, 12) else {
                throw DataError.format(path: path, field: "size of the member at byte offset \(offset)",
                                       expected: "an octal number", found: "other bytes")
            }
            let start = offset + 512
            guard size <= bytes.count - start else {
                throw DataError.truncated(path: path, offset: bytes.count, expected: start + size, found: bytes.count)
            }
            let type = header[156]
            let data = UnsafeRawBufferPointer(rebasing: bytes[start..<(start + size)])
            switch type {
            case UInt8(ascii: "L"):  // GNU: the next member's long name
                longName = text(data, 0, size)
            case UInt8(ascii: "x"):  // pax: records "LEN key=value\n"
                longName = paxPath(data) ?? longName
            case 0, UInt8(ascii: "0"), UInt8(ascii: "7"):
                var name = text(header, 0, 100)
                let prefix = text(header, 345, 155)
                if header[257..<262].elementsEqual("ustar".utf8), !prefix.isEmpty { name = prefix + "/" + name }
                members.append(Member(name: longName ?? name, offset: start, size: size))
                longName = nil
            default:  // directories, links and others carry no sample
                longName = nil
            }
            offset = start + (size + 511) / 512 * 512
        }
        if offset != bytes.count {
            throw DataError.truncated(path: path, offset: offset, expected: offset + 512, found: bytes.count)
        }
        return members
    }

    static func checksumMatches(_ header: UnsafeRawBufferPointer) -> Bool {
        guard let stored = number(header, 148, 8) else { return false }
        var sum = 0
        for (i, b) in header.enumerated() { sum += (148..<156).contains(i) ? 32 : Int(b) }
        return sum == stored
    }

    /// An octal field (NUL or space terminated), or GNU's base-256 form.
    static func number(_ header: UnsafeRawBufferPointer, _ at: Int, _ length: Int) -> Int? {
        if header[at] & 0x80 != 0 {
            var value = 0
            for i in (at + 1)..<(at + length) {
                guard value < (Int.max >> 8) else { return nil }
                value = value << 8 | Int(header[i])
            }
            return value
        }
        var value = 0, digits = 0
        for i in at..<(at + length) {
            let c = header[i]
            if c == 0 || c == UInt8(ascii: " ") { if digits > 0 { break } else { continue } }
            guard (UInt8(ascii: "0")...UInt8(ascii: "7")).contains(c), value < (Int.max >> 3) else { return nil }
            value = value << 3 | Int(c - UInt8(ascii: "0"))
            digits += 1
        }
        return value
    }

    static func text(_ bytes: UnsafeRawBufferPointer, _ at: Int, _ length: Int) -> String {
        let field = bytes[at..<(at + length)]
        return String(decoding: field.prefix { $0 != 0 }, as: UTF8.self)
    }

    static func paxPath(_ data: UnsafeRawBufferPointer) -> String? {
        let records = String(decoding: data, as: UTF8.self)
        for line in records.split(separator: "\n") {
            guard let space = line.firstIndex(of: " ") else { continue }
            let record = line[line.index(after: space)...]
            if record.hasPrefix("path=") { return String(record.dropFirst(5)) }
        }
        return nil
    }
}

/// WebDataset's convention for tar shards: consecutive members sharing a key (the path up to
/// the first dot of the file name) form one sample; `KEY.png`, `KEY.jpg` or `KEY.jpeg` is its
/// image and `KEY.cls` its class index as decimal text. Other members are ignored.
public enum WebDataset {
    public struct Sample {
        public var key: String
        public var image: Range<Int>
        public var label: Int32
    }

    public static func samples(of bytes: UnsafeRawBufferPointer, path: String) throws -> [Sample] {
        var samples: [Sample] = []
        var key: String?
        var image: Range<Int>?
        var label: Int32?
        func finish() throws {
            guard let k = key else { return }
            guard let image else {
                throw DataError.format(path: path, field: "sample \"\(k)\"",
                                       expected: "an image (\(k).png, .jpg or .jpeg)", found: "none")
            }
            guard let label else {
                throw DataError.format(path: path, field: "sample \"\(k)\"", expected: "a class index (\(k).cls)",
                                       found: "none")
            }
            samples.append(Sample(key: k, image: image, label: label))
        }
        for member in try TarArchive.members(of: bytes, path: path) {
            let slash = member.name.lastIndex(of: "/").map { member.name.index(after: $0) } ?? member.name.startIndex
            guard let dot = member.name[slash...].firstIndex(of: ".") else { continue }
            let k = String(member.name[..<dot]), ext = member.name[member.name.index(after: dot)...].lowercased()
            if k != key {
                try finish()
                key = k
                image = nil
                label = nil
            }
            switch ext {
            case "png", "jpg", "jpeg":
                guard image == nil else {
                    throw DataError.format(path: path, field: "sample \"\(k)\"", expected: "one image",
                                           found: "more than one (\(member.name))")
                }
                image = member.offset..<(member.offset + member.size)
            case "cls":
                let text = String(decoding: bytes[member.offset..<(member.offset + member.size)], as: UTF8.self)
                    .trimmingCharacters(in: .whitespacesAndNewlines)
                guard let y = Int32(text), y >= 0 else {
                    throw DataError.format(path: path, field: "\(member.name)",
                                           expected: "a class index (0, 1, 2, ...)", found: "\"\(text.prefix(40))\"")
                }
                label = y
            default:
                continue
            }
        }
        try finish()
        return samples
    }
}

/// Shard lists: `train-{00000..00099}.tar` (a numeric range, zero-padded as written) or
/// `{a,b,c}` lists, expanded as the shell does; one pattern may hold several.
public enum ShardPattern {
    public static func expand(_ pattern: String) throws -> [String] {
        guard let open = pattern.firstIndex(of: "{") else { return [pattern] }
        guard let close = pattern[open...].firstIndex(of: "}") else {
            throw DataError.format(path: pattern, field: "--data", expected: "a closing } in the shard pattern",
                                   found: "none")
        }
        let head = String(pattern[..<open]), body = String(pattern[pattern.index(after: open)..<close])
        let tail = try expand(String(pattern[pattern.index(after: close)...]))
        var choices: [String]
        if let range = body.range(of: "..") {
            let a = String(body[..<range.lowerBound]), b = String(body[range.upperBound...])
            guard let lo = Int(a), let hi = Int(b), lo >= 0, lo <= hi, hi - lo < 10_000_000 else {
                throw DataError.format(path: pattern, field: "--data",
                                       expected: "a range {FIRST..LAST} of numbers, FIRST <= LAST", found: "{\(body)}")
            }
            let width = a.count
            choices = (lo...hi).map { n in
                let s = String(n)
                return String(repeating: "0", count: max(0, width - s.count)) + s
            }
        } else {
            choices = body.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        }
        return choices.flatMap { c in tail.map { head + c + $0 } }
    }
}
