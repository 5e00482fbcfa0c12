import Checkpoint
import NN

/// Model weights by name, as `final.safetensors` and `export` write them.
public enum WeightsExport {
    /// Every parameter and buffer of the stores, float32, except `num_batches_tracked` (int64, as PyTorch keeps it),
    /// with class scales folded (`folded`).
    public static func tensors(parameters: [ParameterEntry], parameterValues: UnsafeBufferPointer<Float>,
                               buffers: [ParameterEntry],
                               bufferValues: UnsafeBufferPointer<Float>) -> [SafeTensors.Tensor] {
        folded(parameters.map { e in
            SafeTensors.Tensor(name: e.name, shape: e.shape,
                               values: Array(parameterValues[e.offset..<(e.offset + e.count)]))
        } + buffers.map { e in
            SafeTensors.Tensor(name: e.name, shape: e.shape,
                               values: Array(bufferValues[e.offset..<(e.offset + e.count)]),
                               integer: e.name.hasSuffix("num_batches_tracked"))
        })
    }

    /// A linear layer's class scales (`X.scales`, learnable weight scaling) folded into its weight
    /// and bias rows (`s_j (w_j x + b_j) = (s_j w_j) x + s_j b_j`), so that the weights are the plain
    /// layer PyTorch, `eval` and ONNX read.
    public static func folded(_ tensors: [SafeTensors.Tensor]) -> [SafeTensors.Tensor] {
        let named = tensors.filter { $0.name.hasSuffix(".scales") }
            .map { (String($0.name.dropLast(".scales".count)), $0.values) }
        let scales = Dictionary(named, uniquingKeysWith: { a, _ in a })
        guard !scales.isEmpty else { return tensors }
        return tensors.filter { !$0.name.hasSuffix(".scales") }.map { t in
            let prefix = String(t.name[..<(t.name.lastIndex(of: ".") ?? t.name.endIndex)])
            guard let s = scales[prefix], t.name.hasSuffix(".weight") || t.name.hasSuffix(".bias"),
                t.shape.first == s.count else {
                return t
            }
            var out = t
            let width = t.values.count / max(s.count, 1)
            for r in 0..<s.count { for c in 0..<width { out.values[r * width + c] *= s[r] } }
            return out
        }
    }

    /// The weights of `model`.
    public static func tensors(of model: Model) -> [SafeTensors.Tensor] {
        tensors(parameters: model.parameters.entries,
                parameterValues: UnsafeBufferPointer(model.parameters.valueBuffer),
                buffers: model.buffers.entries, bufferValues: UnsafeBufferPointer(model.buffers.valueBuffer))
    }
}
