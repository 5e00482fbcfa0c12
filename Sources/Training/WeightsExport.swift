import Checkpoint
import NN

/// Model weights by name, as `final.safetensors` and `export` write them.
public enum WeightsExport {
    /// Every parameter and buffer of the stores, float32, except `num_batches_tracked` (int64, as PyTorch keeps it).
    public static func tensors(parameters: [ParameterEntry], parameterValues: UnsafeBufferPointer<Float>,
                               buffers: [ParameterEntry], bufferValues: UnsafeBufferPointer<Float>) -> [SafeTensors.Tensor] {
        var out: [SafeTensors.Tensor] = []
        for e in parameters {
            out.append(SafeTensors.Tensor(name: e.name, shape: e.shape, values: Array(parameterValues[e.offset..<(e.offset + e.count)])))
        }
        for e in buffers {
            out.append(SafeTensors.Tensor(name: e.name, shape: e.shape, values: Array(bufferValues[e.offset..<(e.offset + e.count)]),
                                          integer: e.name.hasSuffix("num_batches_tracked")))
        }
        return out
    }

    /// The weights of `model`.
    public static func tensors(of model: Model) -> [SafeTensors.Tensor] {
        tensors(parameters: model.parameters.entries, parameterValues: UnsafeBufferPointer(model.parameters.valueBuffer),
                buffers: model.buffers.entries, bufferValues: UnsafeBufferPointer(model.buffers.valueBuffer))
    }

    /// The metadata of `final.safetensors`: what a user of the weights needs without the
    /// training set (model, head, input shape, classes, the normalisation of the inputs).
    public static func metadata(of model: Model, mean: [Float], std: [Float]) -> [String: String] {
        let s = model.inputShape
        var head = "linear"
        if case .cosine(let subCenters) = model.head { head = "cosine:\(subCenters)" }
        func list(_ v: [Float]) -> String { v.map { "\($0)" }.joined(separator: ",") }
        return ["format": "pt", "producer": "ddp-train", "model": model.architecture.rawValue, "head": head,
                "input_shape": "\(s.channels),\(s.height),\(s.width)", "classes": "\(model.classes)",
                "mean": list(mean), "std": list(std)]
    }
}
