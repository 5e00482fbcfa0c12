import Tensor

/// `y = max(x, 0)`, any shape, in place.
///
/// Forward rectifies the tensor it is given and returns it; backward masks the
/// gradient it is given and returns it. Safe because no layer before a ReLU
/// (linear, convolution, batch norm) needs its own output in backward, and it
/// saves two activation-sized buffers per ReLU.
public final class ReLU: Layer {
    public var needsInputGradient = true
    /// The rectified tensor of the last forward (the previous layer's output).
    private var rectified: Tensor?

    public init() {}

    public func forward(_ input: Tensor, training: Bool) -> Tensor {
        Kernels.relu(input.data, input.data, count: input.count)
        rectified = input
        return input
    }

    public func backward(_ outputGradient: Tensor) -> Tensor {
        guard let y = rectified else { preconditionFailure("ReLU.backward before forward") }
        precondition(outputGradient.count == y.count, "ReLU.backward given \(outputGradient.shape) for output \(y.shape)")
        Kernels.reluBackward(output: y.data, outputGradient.data, outputGradient.data, count: y.count)
        return outputGradient
    }
}

extension ReLU {
    public func outputName(input: String) -> String { "relu(\(input))" }
}
