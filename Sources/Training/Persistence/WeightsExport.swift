import Checkpoint
import NN

/// Model weights by name, as `final.safetensors` and `export` write them.
public enum WeightsExport {
    /// Every parameter and buffer of the stores, float32, except `num_batches_tracked` (int64, as PyTorch keeps it).
    public static func tensors(parameters: [ParameterEntry], parameterValues: UnsafeBufferPointer<Float>,
                               buffers: [ParameterEntry],
                               bufferValues: UnsafeBufferPointer<Float>) -> [SafeTensors.Tensor] {
        var out: [SafeTensors.Tensor] = []
        for e in parameters {
            out.append(SafeTensors.Tensor(name: e.name, shape: e.shape,
                                          values: Array(parameterValues[e.offset..<(e.offset + e.count)])))
        }
        for e in buffers {
            out.append(SafeTensors.Tensor(name: e.name, shape: e.shape,
                                          values: Array(bufferValues[e.offset..<(e.offset + e.count)]),
                                          integer: e.name.hasSuffix("num_batches_tracked")))
        }
        return out
    }

    /// The weights of `model`.
    public static func tensors(of model: Model) -> [SafeTensors.Tensor] {
        tensors(parameters: model.parameters.entries,
                parameterValues: UnsafeBufferPointer(model.parameters.valueBuffer),
                buffers: model.buffers.entries, bufferValues: UnsafeBufferPointer(model.buffers.valueBuffer))
    }
}
