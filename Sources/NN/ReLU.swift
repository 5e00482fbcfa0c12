import Tensor

/// `y = max(x, 0)`, any shape.
public final class ReLU: Layer {
    public var needsInputGradient = true
    public let output = Tensor(shape: [1])
    private let inputGradient = Tensor(shape: [1])

    public init() {}

    public func forward(_ input: Tensor, training: Bool) -> Tensor {
        if output.shape != input.shape { output.reshape(input.shape) }
        Kernels.relu(input.data, output.data, count: input.count)
        return output
    }

    public func backward(_ outputGradient: Tensor) -> Tensor {
        if inputGradient.shape != output.shape { inputGradient.reshape(output.shape) }
        Kernels.reluBackward(output: output.data, outputGradient.data, inputGradient.data, count: output.count)
        return inputGradient
    }
}
