import NN

/// Names of a model's intermediate outputs, for `--layer`: a layer with parameters by its
/// parameters' prefix (`conv3`, `bn1`, `layer3.4`), an activation or pooling by what it applies
/// to (`relu(conv3)`, `maxpool(relu(conv1))`), and each ResNet stage by its last block
/// (`layer3` = `layer3.4`, as PyTorch's `model.layer3`).
public struct FeatureMaps {
    /// Name of each entry of `model.features`' outputs, in order.
    public let names: [String]
    /// Other names of some outputs (ResNet stages).
    public let aliases: [String: Int]

    public init(_ model: Model) {
        var names: [String] = [], aliases: [String: Int] = [:]
        for (i, layer) in model.features.enumerated() {
            let previous = names.last ?? "input"
            let name: String
            switch layer {
            case is BasicBlock:
                name = Self.prefix(model, layer, dropping: 2)  // layer3.4.conv1.weight -> layer3.4
                if let dot = name.lastIndex(of: ".") { aliases[String(name[..<dot])] = i }
            case is ReLU: name = "relu(\(previous))"
            case is MaxPool2d: name = "maxpool(\(previous))"
            case is GlobalAvgPool: name = "avgpool(\(previous))"
            default: name = layer.parameterOffset == nil ? "\(type(of: layer))(\(previous))" : Self.prefix(model, layer, dropping: 1)
            }
            names.append(name)
        }
        self.names = names
        self.aliases = aliases
    }

    static func prefix(_ model: Model, _ layer: Layer, dropping: Int) -> String {
        guard let offset = layer.parameterOffset, let entry = model.parameters.entries.first(where: { $0.offset == offset }) else {
            return "\(type(of: layer))"
        }
        return entry.name.split(separator: ".").dropLast(dropping).joined(separator: ".")
    }

    /// The index in `model.features` of the output named `name`.
    public func index(of name: String) -> Int? { aliases[name] ?? names.firstIndex(of: name) }

    /// The default target of CAM and Grad-CAM: the last output with a spatial extent, the input
    /// of the global average pool; nil when the model has none (mlp).
    public func defaultTarget(_ model: Model) -> Int? {
        guard let pool = model.features.lastIndex(where: { $0 is GlobalAvgPool }), pool > 0 else { return nil }
        return pool - 1
    }

    /// The names a user may give, with the default's; for messages.
    public var choices: String { (names + aliases.keys.sorted()).joined(separator: ", ") }
}
