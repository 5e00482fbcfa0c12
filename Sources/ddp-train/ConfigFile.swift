import Foundation
import TOMLKit

/// `--config FILE`: a JSON or TOML file whose keys are the options' names, turned into
/// command-line arguments placed before the real ones (which therefore override them).
enum ConfigFile {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Options that are flags (`true` -> `--name`, `false` -> `--no-name`).
    static let flags: Set<String> = ["augment", "drop-last", "nesterov", "sync-batchnorm", "overlap-buckets"]

    /// The arguments `path` stands for. `validKeys` are the options train accepts.
    static func arguments(from path: String, validKeys: Set<String>) throws -> [String] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Failure(description: "--config \(path): cannot read the file")
        }
        let text = String(decoding: data, as: UTF8.self)
        var entries: [(String, Any)] = []
        if path.lowercased().hasSuffix(".toml") {
            let table: TOMLTable
            do { table = try TOMLTable(string: text) } catch {
                throw Failure(description: "--config \(path): not valid TOML: \(error)")
            }
            for (key, value) in table {
                entries.append((key, try tomlValue(value, key: key, path: path)))
            }
        } else {
            let object: Any
            do { object = try JSONSerialization.jsonObject(with: data) } catch {
                throw Failure(description: "--config \(path): not valid JSON: \(error.localizedDescription)")
            }
            guard let dict = object as? [String: Any] else {
                throw Failure(description: "--config \(path): expected a JSON object of option names and values")
            }
            entries = dict.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        }
        var out: [String] = []
        for (key, value) in entries {
            guard validKeys.contains(key) else {
                throw Failure(description: "--config \(path): unknown key '\(key)'; valid keys: \(validKeys.sorted().joined(separator: ", "))")
            }
            if value is NSNull { continue }
            if flags.contains(key) {
                guard let b = value as? Bool else { throw Failure(description: "--config \(path): '\(key)' must be true or false") }
                out.append(b ? "--\(key)" : "--no-\(key)")
                continue
            }
            if let list = value as? [Any] {
                if list.isEmpty { continue }
                out.append("--\(key)")
                out += list.map { scalar($0) }
                continue
            }
            out += ["--\(key)", scalar(value)]
        }
        return out
    }

    static func scalar(_ value: Any) -> String {
        if let s = value as? String { return s }
        if let n = value as? NSNumber { return n.stringValue }
        return "\(value)"
    }

    static func tomlValue(_ value: TOMLValueConvertible, key: String, path: String) throws -> Any {
        if let v = value.bool { return v }
        if let v = value.int { return NSNumber(value: v) }
        if let v = value.double { return NSNumber(value: v) }
        if let v = value.string { return v }
        if let a = value.array { return try a.map { try tomlValue($0, key: key, path: path) } }
        throw Failure(description: "--config \(path): '\(key)' must be a string, number, boolean or array (tables are not options)")
    }
}
