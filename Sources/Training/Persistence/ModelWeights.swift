import Checkpoint
import NN

/// Weights from a safetensors file (this program's `final.safetensors`, or PyTorch's with the
/// same names), loaded into a model by name with strict shape checks.
public enum ModelWeights {
    /// Copies every parameter and batch-norm buffer of `model` from `path`. Refused, naming the
    /// file and the tensor: a tensor the model has and the file lacks, one the file has and the
    /// model lacks, or a shape that differs.
    /// - otherClassifier: leave a classifier tensor of another shape (another number of classes:
    ///   fine-tuning) at its initial values instead of refusing it; returns what was left out
    @discardableResult
    public static func load(_ path: String, into model: Model, otherClassifier: Bool = false) throws -> [String] {
        try load(path, tensors: try SafeTensors.read(path), into: model, otherClassifier: otherClassifier)
    }

    /// The tensors already read from `path` (named in messages).
    @discardableResult
    public static func load(_ path: String, tensors: [String: (shape: [Int], values: [Float])],
                            into model: Model, otherClassifier: Bool = false) throws -> [String] {
        var expected: Set<String> = []
        var leftOut: [String] = []
        for (store, optional) in [(model.parameters, false), (model.buffers, true)] {
            for entry in store.entries {
                expected.insert(entry.name)
                guard let t = tensors[entry.name] else {
                    // PyTorch's step counter of batch norm does not change what a model computes.
                    if optional && entry.name.hasSuffix("num_batches_tracked") { continue }
                    throw WeightsError("\(path): no tensor \(entry.name) (shape \(entry.shape)), which " +
                                       "\(model.architecture.rawValue) needs")
                }
                if otherClassifier, !optional, model.classifierRange.contains(entry.offset), t.shape != entry.shape {
                    leftOut.append("\(entry.name) \(t.shape) (the model's is \(entry.shape))")
                    continue
                }
                guard t.shape == entry.shape else {
                    throw WeightsError("\(path): tensor \(entry.name) has shape \(t.shape), expected \(entry.shape) " +
                                       "for \(model.architecture.rawValue) with \(model.classes) classes")
                }
                t.values.withUnsafeBufferPointer { (store.values + entry.offset).update(from: $0.baseAddress!,
                                                                                        count: entry.count) }
            }
        }
        let unknown = tensors.keys.filter { !expected.contains($0) }.sorted()
        guard unknown.isEmpty else {
            throw WeightsError("\(path): tensor\(unknown.count == 1 ? "" : "s") " +
                               "\(unknown.prefix(5).joined(separator: ", "))\(unknown.count > 5 ? ", ..." : "") not " +
                               "in \(model.architecture.rawValue) (another model or head?)")
        }
        return leftOut
    }
}

/// Weights that do not fit a model: the message names the file and the tensor.
public struct WeightsError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
