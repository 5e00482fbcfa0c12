import Foundation
import TOMLKit
import Training

/// `--config FILE`: a JSON or TOML file whose keys are the options' names, turned into
/// command-line arguments placed before the real ones (which therefore override them).
enum ConfigFile {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Options that are flags (`true` -> `--name`, `false` -> `--no-name`): the Bool settings of
    /// `TrainConfig`, found by reflection so that a new flag needs no entry here.
    static let flags: Set<String> = {
        // Property names in kebab case are the keys: dropLast -> drop-last.
        let kebab = { (name: String) in name.reduce(into: "") { out, c in out += c.isUppercase ? "-" + c.lowercased() : String(c) } }
        let booleans = Set(Mirror(reflecting: TrainConfig()).children.compactMap { $0.value is Bool ? $0.label.map(kebab) : nil })
        return Set(TrainConfig.CodingKeys.allCases.map(\.stringValue).filter(booleans.contains))
    }()

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
