import Foundation
import Settings
import Tools
import Training

/// `--config FILE`: a JSON or TOML file whose keys are the options' names, turned into
/// command-line arguments placed before the real ones (which therefore override them).
enum ConfigFile {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Options that are flags (`true` -> `--name`, `false` -> `--no-name`).
    static let flags = Set(TrainConfig.parser.options.filter { $0.arity == .flag }.map(\.name))

    /// Largest config file: a list of options is a few kilobytes.
    static let maxFileBytes = 1 << 20

    /// The arguments `path` stands for. `validKeys` are the options train accepts.
    static func arguments(from path: String, validKeys: Set<String>) throws -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw Failure(description: "--config \(path): no such file")
        }
        guard !isDirectory.boolValue else { throw Failure(description: "--config \(path): is a directory; expected " +
            "a JSON or TOML file") }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Failure(description: "--config \(path): cannot read the file")
        }
        guard data.count <= maxFileBytes else {
            throw Failure(description: "--config \(path): \(data.count) bytes; expected a file of options (at most " +
                                       "\(maxFileBytes) bytes)")
        }
        let toml = path.lowercased().hasSuffix(".toml")
        let entries: [(key: String, value: ConfigParser.Value)]
        do {
            guard let text = String(validating: [UInt8](data), as: UTF8.self) else {
                throw ConfigParser.Failure(line: 1, message: "the file is not UTF-8 text")
            }
            entries = try ConfigParser.parse(text, json: !toml)
        } catch {
            throw Failure(description: "--config \(path): not valid \(toml ? "TOML" : "JSON") for options: \(error)")
        }
        var out: [String] = []
        for (key, value) in entries {
            guard validKeys.contains(key) else {
                throw Failure(description: "--config \(path): unknown key '\(ConfigParser.clip(key))'; valid keys: " +
                                           "\(validKeys.sorted().joined(separator: ", "))")
            }
            switch value {
            case .null:
                continue
            case .bool(let b):
                guard flags.contains(key) else { throw Failure(description: "--config \(path): '\(key)' takes a " +
                    "value, not true or false") }
                out.append(b ? "--\(key)" : "--no-\(key)")
            case _ where flags.contains(key):
                throw Failure(description: "--config \(path): '\(key)' must be true or false")
            case .array(let list):
                if list.isEmpty { continue }
                let texts = try list.map { element in
                    guard let text = scalar(element) else { throw Failure(description: "--config \(path): '\(key)' " +
                        "holds a null or true/false where a value was expected") }
                    return text
                }
                try check(key: key, values: texts, path: path)
                out += ["--\(key)"] + texts
            case .string, .number:
                let text = scalar(value) ?? ""
                try check(key: key, values: [text], path: path)
                out += ["--\(key)", text]
            }
        }
        return out
    }

    /// Parses and checks one key's value as the option would, so that a bad value is reported
    /// with the file it came from (the command line's own parse would name only the option).
    static func check(key: String, values: [String], path: String) throws {
        guard let option = TrainConfig.parser.options.first(where: { $0.name == key }),
            option.arity != .flag else { return }
        var scratch = Settings()
        do {
            try option.parse(values, into: &scratch)
        } catch {
            throw Failure(description: "--config \(path): \(error)")
        }
        if let problem = option.problem(in: scratch) {
            throw Failure(description: "--config \(path): \(problem)")
        }
    }

    /// The command-line text of a string or number.
    static func scalar(_ value: ConfigParser.Value) -> String? {
        switch value {
        case .string(let s), .number(let s): return s
        default: return nil
        }
    }
}
