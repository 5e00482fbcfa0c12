/// The config files' language: one flat table of option names and values, written as TOML
/// (`name = value` lines) or as a JSON object. Values are strings, numbers, booleans, JSON's
/// null, or arrays of those. Anything else (tables, nested arrays, dates, a key given twice)
/// is refused with its line; no input can make it trap, and it needs no library: the TOML
/// library used before aborted the process on `[[[`.
public enum ConfigParser {
    /// A value as written: numbers keep their text, which the option's own parser then reads.
    public enum Value: Equatable, Sendable {
        case string(String), number(String), bool(Bool), null
        case array([Value])
    }

    public struct Failure: Error, CustomStringConvertible {
        public var line: Int
        public var message: String
        public var description: String { "line \(line): \(message)" }

        public init(line: Int, message: String) {
            self.line = line
            self.message = message
        }
    }

    /// Longest value: a path or an option is far shorter; longer text is refused, not echoed.
    public static let maxValueLength = 4096

    /// Parses a whole file; `json` chooses the syntax. Returns the entries in file order.
    public static func parse(_ text: String, json: Bool) throws -> [(key: String, value: Value)] {
        var scanner = Scanner(Array(text.utf8))
        let entries = try json ? scanner.jsonObject() : scanner.tomlTable()
        var seen: [String: Int] = [:]
        for (i, entry) in entries.enumerated() {
            if let first = seen[entry.key] {
                throw Failure(line: entry.line,
                              message: "key '\(clip(entry.key))' given twice (first on line \(entries[first].line))")
            }
            seen[entry.key] = i
        }
        return entries.map { ($0.key, $0.value) }
    }

    /// Text for a message: at most 60 characters of it.
    public static func clip(_ s: String) -> String {
        s.count <= 60 ? s : String(s.prefix(60)) + "... (\(s.utf8.count) bytes)"
    }

    /// A cursor over the file's bytes.
    struct Scanner {
        let bytes: [UInt8]
        var i = 0
        var line = 1

        init(_ bytes: [UInt8]) { self.bytes = bytes }

        var atEnd: Bool { i >= bytes.count }
        var current: UInt8? { i < bytes.count ? bytes[i] : nil }

        func fail(_ message: String) -> Failure { Failure(line: line, message: message) }

        mutating func advance() {
            if bytes[i] == UInt8(ascii: "\n") { line += 1 }
            i += 1
        }

        /// Skips spaces and tabs; with `newlines`, also line breaks and (TOML) comments.
        mutating func skipSpace(newlines: Bool, comments: Bool) {
            while let c = current {
                if c == 0x20 || c == 0x09 || c == 0x0D || (newlines && c == 0x0A) {
                    advance()
                } else if comments, c == UInt8(ascii: "#") {
                    while let d = current, d != 0x0A { advance() }
                } else {
                    return
                }
            }
        }

        mutating func expect(_ c: Character) throws {
            guard current == c.asciiValue else { throw fail("expected '\(c)', found \(describe(current))") }
            advance()
        }

        func describe(_ c: UInt8?) -> String {
            guard let c else { return "the end of the file" }
            if c >= 0x21 && c < 0x7F { return "'\(Character(UnicodeScalar(c)))'" }
            return "byte 0x\(String(c, radix: 16))"
        }

        // MARK: - TOML

        mutating func tomlTable() throws -> [(key: String, value: Value, line: Int)] {
            var out: [(key: String, value: Value, line: Int)] = []
            while true {
                skipSpace(newlines: true, comments: true)
                guard let c = current else { return out }
                if c == UInt8(ascii: "[") { throw fail("tables ([...]) are not options: write every option as name = " +
                                                       "value at the top level") }
                let start = line
                let key = try tomlKey()
                skipSpace(newlines: false, comments: false)
                try expect("=")
                skipSpace(newlines: false, comments: false)
                let value = try tomlValue(depth: 0)
                skipSpace(newlines: false, comments: true)
                if let d = current,
                    d != 0x0A { throw fail("unexpected \(describe(d)) after the value of '\(clip(key))'") }
                out.append((key, value, start))
            }
        }

        mutating func tomlKey() throws -> String {
            if current == UInt8(ascii: "\"") { return try quoted(escapes: true) }
            if current == UInt8(ascii: "'") { return try quoted(escapes: false) }
            let start = i
            while let c = current, isBare(c) { advance() }
            guard i > start else { throw fail("expected an option name, found \(describe(current))") }
            return String(decoding: bytes[start..<i], as: UTF8.self)
        }

        func isBare(_ c: UInt8) -> Bool {
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == UInt8(ascii: "-")
                || c == UInt8(ascii: "_")
        }

        mutating func tomlValue(depth: Int) throws -> Value {
            switch current {
            case UInt8(ascii: "\""): return .string(try quoted(escapes: true))
            case UInt8(ascii: "'"): return .string(try quoted(escapes: false))
            case UInt8(ascii: "["):
                guard depth == 0 else { throw fail("arrays inside arrays are not option values") }
                return .array(try list(close: "]") { try $0.tomlValue(depth: 1) })
            case UInt8(ascii: "{"): throw fail("inline tables are not option values")
            default:
                let word = bareWord()
                switch word {
                case "true": return .bool(true)
                case "false": return .bool(false)
                case "": throw fail("expected a value, found \(describe(current))")
                default:
                    let number = String(word.filter { $0 != "_" })
                    guard Double(number) != nil || ["inf", "+inf", "-inf", "nan", "+nan",
                                                    "-nan"].contains(number) else {
                        throw fail("expected a string, number, boolean or array, found '\(clip(word))'")
                    }
                    return .number(number)
                }
            }
        }

        /// Letters, digits and the characters of numbers, up to the next delimiter.
        mutating func bareWord() -> String {
            let start = i
            while let c = current,
                isBare(c) || c == UInt8(ascii: "+") || c == UInt8(ascii: ".") || c == UInt8(ascii: ":") { advance() }
            return String(decoding: bytes[start..<i], as: UTF8.self)
        }

        // MARK: - JSON

        mutating func jsonObject() throws -> [(key: String, value: Value, line: Int)] {
            skipSpace(newlines: true, comments: false)
            guard current == UInt8(ascii: "{") else {
                throw fail("expected a JSON object of option names and values, found \(describe(current))")
            }
            advance()
            var out: [(key: String, value: Value, line: Int)] = []
            skipSpace(newlines: true, comments: false)
            if current == UInt8(ascii: "}") {
                advance()
            } else {
                while true {
                    skipSpace(newlines: true, comments: false)
                    let start = line
                    guard current == UInt8(ascii: "\"") else { throw fail("expected an option name in quotes, found " +
                        "\(describe(current))") }
                    let key = try quoted(escapes: true)
                    skipSpace(newlines: true, comments: false)
                    try expect(":")
                    skipSpace(newlines: true, comments: false)
                    out.append((key, try jsonValue(depth: 0), start))
                    skipSpace(newlines: true, comments: false)
                    if current == UInt8(ascii: ",") { advance(); continue }
                    try expect("}")
                    break
                }
            }
            skipSpace(newlines: true, comments: false)
            guard atEnd else { throw fail("unexpected \(describe(current)) after the object") }
            return out
        }

        mutating func jsonValue(depth: Int) throws -> Value {
            switch current {
            case UInt8(ascii: "\""): return .string(try quoted(escapes: true))
            case UInt8(ascii: "["):
                guard depth == 0 else { throw fail("arrays inside arrays are not option values") }
                return .array(try list(close: "]") { try $0.jsonValue(depth: 1) })
            case UInt8(ascii: "{"): throw fail("objects inside the object are not option values")
            default:
                let word = bareWord()
                switch word {
                case "true": return .bool(true)
                case "false": return .bool(false)
                case "null": return .null
                default:
                    guard !word.isEmpty, Double(word) != nil, !word.lowercased().contains("n"),
                        !word.lowercased().contains("i") else {
                        throw fail(word.isEmpty
                            ? "expected a value, found \(describe(current))" : "expected a JSON value, " +
                                "found '\(clip(word))'")
                    }
                    return .number(word)
                }
            }
        }

        // MARK: - Shared

        /// `[a, b, ...]` with a trailing comma allowed, over several lines.
        mutating func list(close: Character, _ element: (inout Scanner) throws -> Value) throws -> [Value] {
            advance()
            var out: [Value] = []
            while true {
                skipSpace(newlines: true, comments: true)
                if current == close.asciiValue { advance(); return out }
                out.append(try element(&self))
                skipSpace(newlines: true, comments: true)
                if current == UInt8(ascii: ",") { advance(); continue }
                try expect(close)
                return out
            }
        }

        /// A string in double quotes (with escapes) or single quotes (literal), on one line.
        mutating func quoted(escapes: Bool) throws -> String {
            let quote = bytes[i]
            advance()
            var out: [UInt8] = []
            while true {
                guard let c = current, c != 0x0A else { throw fail("unterminated string") }
                advance()
                if c == quote { break }
                if escapes, c == UInt8(ascii: "\\") {
                    guard let e = current else { throw fail("unterminated string") }
                    advance()
                    switch e {
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                    case UInt8(ascii: "u"):
                        guard i + 4 <= bytes.count,
                            let code = UInt32(String(decoding: bytes[i..<(i + 4)], as: UTF8.self), radix: 16),
                              let scalar = UnicodeScalar(code) else { throw fail("bad \\u escape") }
                        for _ in 0..<4 { advance() }
                        out += Array(String(Character(scalar)).utf8)
                    default: throw fail("unknown escape \\\(describe(e))")
                    }
                } else {
                    out.append(c)
                }
                if out.count > ConfigParser.maxValueLength {
                    throw fail("a string longer than \(ConfigParser.maxValueLength) bytes; expected an option value")
                }
            }
            guard let text = String(validating: out, as: UTF8.self) else { throw fail("a string that is not UTF-8") }
            return text
        }
    }
}
