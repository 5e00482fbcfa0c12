import Data
import Foundation
import NN

/// What is needed to use a trained model without its training set: the architecture, the
/// head and the data statistics (input shape, classes and their names, normalisation,
/// training class sizes). Checkpoints carry it in their manifest (`card`), `final.safetensors`
/// and `export` in their metadata (flat strings, `metadata` / `init(metadata:)`).
public struct ModelCard: Codable, Sendable, Equatable {
    public var model: Architecture
    /// "linear", or "cosine:S" for a cosine head with S sub-centres per class.
    public var head: String
    public var data: DataStatistics
    /// A torchvision ResNet's stem (`imagenet` or `cifar`), nil for the other models.
    public var stem: Stem?

    public init(model: Model, data: DataStatistics) {
        self.model = model.architecture
        stem = model.stem == .auto ? nil : model.stem
        if case .cosine(let s) = model.head { head = "cosine:\(s)" } else { head = "linear" }
        self.data = data
    }

    /// The head, or nil when the text names none.
    public var parsedHead: Head? {
        if head == "linear" { return .linear }
        guard head.hasPrefix("cosine:"), let s = Int(head.dropFirst(7)), s >= 1, s <= 64 else { return nil }
        return .cosine(subCenters: s)
    }

    /// Why the card cannot describe a model, or nil.
    public var problem: String? {
        if parsedHead == nil { return "head \"\(head)\", expected linear or cosine:S" }
        return data.problem
    }

    // MARK: - safetensors metadata

    /// The metadata of a safetensors file (string values: lists comma-separated, names as a JSON array).
    public var metadata: [String: String] {
        func list<T>(_ v: [T]) -> String { v.map { "\($0)" }.joined(separator: ",") }
        var m = ["format": "pt", "producer": "ddp-train", "model": model.rawValue, "head": head,
                 "input_shape": list(data.inputShape), "classes": "\(data.classes)",
                 "mean": list(data.mean), "std": list(data.std), "train_counts": list(data.trainCounts)]
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        if let stem { m["stem"] = stem.rawValue }
        if data.testCrop == true { m["test_crop"] = "resize 8/7, centre crop" }
        if let names = data.classNames, let json = try? encoder.encode(names) {
            m["class_names"] = String(decoding: json, as: UTF8.self)
        }
        return m
    }

    /// The card in a safetensors file's metadata: nil when it has none (files of other programs,
    /// or written before cards carried `train_counts`); an error naming the file and the field
    /// when one is unreadable. `architecture` (`--model`) stands in for a missing "model".
    public static func from(metadata m: [String: String], path: String,
                            architecture: Architecture? = nil) throws -> ModelCard? {
        guard m["train_counts"] != nil else { return nil }
        func fail(_ field: String, _ expected: String) -> DataError {
            .format(path: path, field: "metadata \"\(field)\"", expected: expected,
                    found: m[field].map { "\"\($0)\"" } ?? "none")
        }
        func list<T: LosslessStringConvertible>(_ key: String, _ expected: String) throws -> [T] {
            let parts = (m[key] ?? "").split(separator: ",", omittingEmptySubsequences: false)
                .map { T($0.trimmingCharacters(in: .whitespaces)) }
            guard !parts.isEmpty, !parts.contains(where: { $0 == nil }) else { throw fail(key, expected) }
            return parts.compactMap { $0 }
        }
        guard let model = architecture ?? m["model"].flatMap(Architecture.init(rawValue:)) else {
            throw fail("model",
                       "one of \(Architecture.allCases.map(\.rawValue).joined(separator: ", ")) (or give --model)")
        }
        guard let classes = m["classes"].flatMap({ Int($0) }) else { throw fail("classes", "a whole number") }
        var names: [String]?
        if let text = m["class_names"] {
            guard let decoded = try? JSONDecoder().decode([String].self, from: Data(text.utf8)) else {
                throw fail("class_names", "a JSON array of strings")
            }
            names = decoded
        }
        let data = DataStatistics(inputShape: try list("input_shape", "channels,height,width"), classes: classes,
                                  classNames: names, mean: try list("mean", "numbers separated by commas"),
                                  std: try list("std", "numbers separated by commas"),
                                  trainCounts: try list("train_counts", "whole numbers separated by commas"),
                                  testCrop: try m["test_crop"].map { text in
                                      guard text == "resize 8/7, centre crop" else {
                                          throw fail("test_crop", "\"resize 8/7, centre crop\" or none")
                                      }
                                      return true
                                  })
        var card = ModelCard(model: model, head: m["head"] ?? "linear", data: data)
        if let text = m["stem"] {
            guard let stem = Stem(rawValue: text), stem != .auto else { throw fail("stem", "imagenet or cifar") }
            card.stem = stem
        }
        if let problem = card.problem { throw DataError.mismatch("\(path): metadata: \(problem)") }
        return card
    }

    init(model: Architecture, head: String, data: DataStatistics) {
        self.model = model
        self.head = head
        self.data = data
    }
}
