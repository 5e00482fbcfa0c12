import Checkpoint
import Data
import Foundation
import NN
import ONNX
import SwiftProtobuf
import Training

/// A trained model as an ONNX graph (opset 13, IR version 7): the same layers as ddp-train's
/// forward pass in evaluation (batch norm as BatchNormalization nodes with the running
/// statistics), input `input` (N, C, H, W) already normalised, outputs `logits` (N, K) and
/// `features` (N, D). The model card goes into the metadata: model, head, class names, the
/// normalisation (mean, std per channel of pixel / 255) and the training class counts.
public enum OnnxExport {
    public static let opset: Int64 = 13

    /// The graph of `model` holding `weights` (by ddp-train's tensor names).
    public static func model(_ model: Model, weights: [String: [Float]], card: ModelCard,
                             source: String) throws -> Onnx_ModelProto {
        var graph = GraphBuilder(weights: weights)
        let shape = model.inputShape
        var x = "input"
        if model.architecture == .mlp { x = graph.node("Flatten", [x], [.int("axis", 1)]) }
        for layer in model.features { x = try graph.emit(layer, x) }
        let features = graph.node("Identity", [x], output: "features")
        let logits = graph.node("Identity", [try graph.emit(model.classifier, features)], output: "logits")

        var proto = Onnx_ModelProto()
        proto.irVersion = 7
        proto.producerName = "ddp-train"
        proto.modelVersion = 1
        proto.docString = "ddp-train \(model.architecture.rawValue) from \(source)"
        var set = Onnx_OperatorSetIdProto()
        set.domain = ""
        set.version = opset
        proto.opsetImport = [set]
        var g = Onnx_GraphProto()
        g.name = "ddp-train-\(model.architecture.rawValue)"
        g.node = graph.nodes
        g.initializer = graph.initializers
        g.input = [valueInfo("input", [nil, shape.channels, shape.height, shape.width])]
        g.output = [valueInfo(logits, [nil, model.classes]), valueInfo(features, [nil, model.featureDimension])]
        proto.graph = g
        proto.metadataProps = metadata(card).sorted { $0.key < $1.key }.map { key, value in
            var entry = Onnx_StringStringEntryProto()
            entry.key = key
            entry.value = value
            return entry
        }
        return proto
    }

    /// The card as metadata strings; lists as JSON arrays.
    static func metadata(_ card: ModelCard) -> [String: String] {
        func json(_ value: Any) -> String {
            String(decoding: (try? JSONSerialization.data(withJSONObject: value,
                                                          options: [.sortedKeys,
                                                                    .withoutEscapingSlashes])) ?? Data("null".utf8),
                   as: UTF8.self)
        }
        let data = card.data
        return [
            "model": card.model.rawValue,
            "head": card.head,
            "classes": "\(data.classes)",
            "class_names": json(data.classNames ?? (0..<data.classes).map { "\($0)" }),
            "input_shape": json(data.inputShape),
            "mean": json(data.mean.map(Double.init)),
            "std": json(data.std.map(Double.init)),
            "normalisation": "input[c] = (pixel[c] / 255 - mean[c]) / std[c], pixels 0-255, (N, C, H, W)",
            "train_counts": json(data.trainCounts),
            "outputs": card.head == "linear" ? "logits (N, classes), features (N, D)"
                : "logits: cosines of the normalised features and class centres (N, classes; the largest over " +
                  "sub-centres), features (N, D)",
        ]
    }

    static func valueInfo(_ name: String, _ dims: [Int?]) -> Onnx_ValueInfoProto {
        var type = Onnx_TypeProto()
        var tensor = Onnx_TypeProto.Tensor()
        tensor.elemType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        var shape = Onnx_TensorShapeProto()
        shape.dim = dims.map { d in
            var dim = Onnx_TensorShapeProto.Dimension()
            if let d { dim.dimValue = Int64(d) } else { dim.dimParam = "batch" }
            return dim
        }
        tensor.shape = shape
        type.tensorType = tensor
        var info = Onnx_ValueInfoProto()
        info.name = name
        info.type = type
        return info
    }
}

/// Nodes and initialisers of a graph under construction, each output named after its node.
struct GraphBuilder {
    let weights: [String: [Float]]
    var nodes: [Onnx_NodeProto] = []
    var initializers: [Onnx_TensorProto] = []
    var names = Set<String>()

    enum Attribute {
        case int(String, Int)
        case ints(String, [Int])
        case float(String, Float)
    }

    /// Appends an `op` node; returns its output's name (`output`, or one made from the op).
    mutating func node(_ op: String, _ inputs: [String], _ attributes: [Attribute] = [],
                       output: String? = nil) -> String {
        let out = output ?? unique(op.lowercased())
        var n = Onnx_NodeProto()
        n.opType = op
        n.name = out
        n.input = inputs
        n.output = [out]
        n.attribute = attributes.map { a in
            var p = Onnx_AttributeProto()
            switch a {
            case .int(let name, let v): p.name = name; p.type = .int; p.i = Int64(v)
            case .ints(let name, let v): p.name = name; p.type = .ints; p.ints = v.map(Int64.init)
            case .float(let name, let v): p.name = name; p.type = .float; p.f = v
            }
            return p
        }
        nodes.append(n)
        return out
    }

    mutating func unique(_ base: String) -> String {
        var name = base, i = 1
        while names.contains(name) { i += 1; name = "\(base)_\(i)" }
        names.insert(name)
        return name
    }

    /// A float32 initialiser.
    mutating func constant(_ name: String, _ dims: [Int], _ values: [Float]) -> String {
        var t = Onnx_TensorProto()
        t.name = name
        t.dims = dims.map(Int64.init)
        t.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        t.rawData = values.withUnsafeBytes { Data($0) }  // little-endian, as ONNX's raw_data
        initializers.append(t)
        names.insert(name)
        return name
    }

    /// An int64 initialiser (shapes, pads, slice bounds).
    mutating func int64s(_ name: String, _ values: [Int]) -> String {
        var t = Onnx_TensorProto()
        t.name = unique(name)
        t.dims = [Int64(values.count)]
        t.dataType = Int32(Onnx_TensorProto.DataType.int64.rawValue)
        t.int64Data = values.map(Int64.init)
        initializers.append(t)
        return t.name
    }

    /// The weight `name` as an initialiser of `dims`.
    mutating func weight(_ name: String, _ dims: [Int]) throws -> String {
        guard let values = weights[name], values.count == dims.reduce(1, *) else {
            throw CheckpointError.invalid(path: name, reason: "the weights lack \(name) of shape \(dims)")
        }
        return constant(name, dims, values)
    }

    /// The nodes of `layer` applied to `x`; returns the output's name.
    mutating func emit(_ layer: Layer, _ x: String) throws -> String {
        switch layer {
        case let l as Linear:
            var inputs = [x, try weight("\(l.name).weight", [l.outFeatures, l.inFeatures])]
            if l.hasBias { inputs.append(try weight("\(l.name).bias", [l.outFeatures])) }
            return node("Gemm", inputs, [.int("transB", 1)], output: unique(l.name))
        case is ReLU:
            return node("Relu", [x])
        case let c as Conv2d:
            var inputs = [x, try weight("\(c.name).weight", [c.outChannels, c.inChannels / c.groups, c.kernel,
                                                               c.kernel])]
            if c.hasBias { inputs.append(try weight("\(c.name).bias", [c.outChannels])) }
            return node("Conv", inputs,
                        [.ints("kernel_shape", [c.kernel, c.kernel]), .ints("strides", [c.stride, c.stride]),
                         .ints("pads", [c.padding, c.padding, c.padding, c.padding]), .int("group", c.groups)],
                        output: unique(c.name))
        case let b as BatchNorm2d:
            let n = b.channels
            let inputs = [x, try weight("\(b.name).weight", [n]), try weight("\(b.name).bias", [n]),
                          try weight("\(b.name).running_mean", [n]), try weight("\(b.name).running_var", [n])]
            return node("BatchNormalization", inputs, [.float("epsilon", Float(b.eps))], output: unique(b.name))
        case let p as MaxPool2d:
            return node("MaxPool", [x],
                        [.ints("kernel_shape", [p.kernel, p.kernel]), .ints("strides", [p.stride, p.stride]),
                         .ints("pads", [p.padding, p.padding, p.padding, p.padding])])
        case is GlobalAvgPool:
            return node("Flatten", [node("GlobalAveragePool", [x])], [.int("axis", 1)])
        case let block as BasicBlock:
            var t = try emit(block.conv1, x)
            t = try emit(block.bn1, t)
            t = node("Relu", [t])
            t = try emit(block.conv2, t)
            t = try emit(block.bn2, t)
            var shortcut = x
            if block.stride != 1 {
                // Option A: every second row and column, zero channels planes / 4 on each side.
                let big = Int(Int64.max)
                shortcut = node("Slice",
                                [x, int64s("starts", [0, 0]), int64s("ends", [big, big]), int64s("axes", [2, 3]),
                                 int64s("steps", [block.stride, block.stride])])
                let p = block.planes / 4
                shortcut = node("Pad", [shortcut, int64s("pads", [0, p, 0, 0, 0, p, 0, 0])])
            }
            return node("Relu", [node("Add", [t, shortcut])], output: unique(block.name))
        case let block as ResidualBlock:
            var t = x
            for (i, conv) in block.convs.enumerated() {
                t = try emit(block.norms[i], try emit(conv, t))
                if i < block.convs.count - 1 { t = node("Relu", [t]) }
            }
            let shortcut = try block.downsample.map { try emit($0.norm, try emit($0.conv, x)) } ?? x
            return node("Relu", [node("Add", [t, shortcut])], output: unique(block.name))
        case let head as CosineClassifier:
            // cosines = (x / max(|x|, eps)) W_unit, the largest of each class's S columns.
            let d = head.inFeatures, columns = head.classes * head.subCenters
            guard let w = weights["\(head.name).W"], w.count == d * columns else {
                throw CheckpointError.invalid(path: "\(head.name).W",
                                              reason: "the weights lack \(head.name).W of shape [\(d), \(columns)]")
            }
            var unit = w
            for j in 0..<columns {
                var s: Double = 0
                for i in 0..<d { s += Double(w[i * columns + j]) * Double(w[i * columns + j]) }
                let scale = 1 / max(Float(s.squareRoot()), 1e-12)
                for i in 0..<d { unit[i * columns + j] = w[i * columns + j] * scale }
            }
            let norm = node("ReduceL2", [x], [.ints("axes", [1]), .int("keepdims", 1)])
            let clamped = node("Max", [norm, constant(unique("epsilon"), [], [1e-12])])
            let normalised = node("Div", [x, clamped])
            let cosines = node("MatMul", [normalised, constant("\(head.name).W_unit", [d, columns], unit)])
            let grouped = node("Reshape", [cosines, int64s("shape", [-1, head.classes, head.subCenters])])
            return node("ReduceMax", [grouped], [.ints("axes", [2]), .int("keepdims", 0)], output: unique(head.name))
        default:
            throw CheckpointError.invalid(path: "\(type(of: layer))", reason: "no ONNX form for this layer")
        }
    }
}

extension OnnxExport {
    /// Writes `path` (a checkpoint, or a `.safetensors` file with its model card) as ONNX to
    /// `output` (whole or not at all); returns the node count.
    public static func write(from path: String, to output: String) throws -> Int {
        let card: ModelCard
        var weights: [String: [Float]] = [:]
        if path.hasSuffix(".safetensors") {
            let (tensors, metadata) = try SafeTensors.readWithMetadata(path)
            guard let c = try ModelCard.from(metadata: metadata, path: path) else {
                throw CheckpointError.invalid(path: path,
                                              reason: "no model card in its metadata (model, classes, " +
                                                      "normalisation): export a checkpoint or " +
                                                      "ddp-train's final.safetensors")
            }
            card = c
            for (name, t) in tensors { weights[name] = t.values }
        } else {
            let info = try CheckpointInspection(path: path)
            guard let c = info.card else {
                throw CheckpointError.invalid(path: path,
                                              reason: "the checkpoint carries no model card (written " +
                                                      "before cards existed)")
            }
            card = c
            for t in try CheckpointInspection.weights(path: path) { weights[t.name] = t.values }
        }
        guard let head = card.parsedHead, card.data.inputShape.count == 3 else {
            let problem = card.problem ?? "input shape \(card.data.inputShape), expected C, H, W"
            throw CheckpointError.invalid(path: path, reason: "model card: \(problem)")
        }
        let s = card.data.inputShape
        let model = Model.make(card.model, inputShape: InputShape(channels: s[0], height: s[1], width: s[2]),
                               classes: card.data.classes, seed: 0, head: head, convolutions: .im2col,
                               stem: card.stem ?? .auto)
        let proto = try self.model(model, weights: weights, card: card, source: (path as NSString).lastPathComponent)
        try proto.serializedData().write(to: URL(fileURLWithPath: output), options: .atomic)
        return proto.graph.node.count
    }
}
