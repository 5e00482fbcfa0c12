import Tensor

/// `y = max(x, 0)`, any shape, in place.
///
/// Forward rectifies the tensor it is given and returns it; backward masks the
/// gradient it is given and returns it. Safe because no layer before a ReLU
/// (linear, convolution, batch norm) needs its own output in backward, and it
/// saves two activation-sized buffers per ReLU.
public final class ReLU: Layer {
    public var needsInputGradient = true
    /// How backward passes the gradient: exactly (training), or modified for an explanation.
    public var gradient = ReLUGradient.exact
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
        precondition(outputGradient.count == y.count,
                     "ReLU.backward given \(outputGradient.shape) for output \(y.shape)")
        gradient.backward(output: y.data, outputGradient.data, outputGradient.data, count: y.count)
        return outputGradient
    }
}

extension ReLU {
    public func outputName(input: String) -> String { "relu(\(input))" }
}

/// How a ReLU passes the gradient back: exactly, or as the attribution methods that modify it
/// (captum's `GuidedBackprop` and `Deconvolution`, which hook every ReLU).
public enum ReLUGradient: Sendable {
    /// `dx = [y > 0] dy`.
    case exact
    /// Guided backpropagation (Springenberg et al. 2015): `dx = [y > 0] max(dy, 0)`.
    case guided
    /// Deconvnet (Zeiler and Fergus 2014): `dx = max(dy, 0)`, whatever the forward pass was.
    case deconvnet

    /// `dx` from the ReLU's output `y` and `dy` (`dx` may be `dy`).
    @inlinable
    public func backward(output y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>,
                         count: Int) {
        switch self {
        case .exact: Kernels.reluBackward(output: y, dy, dx, count: count)
        case .guided: for i in 0..<count { dx[i] = y[i] > 0 && dy[i] > 0 ? dy[i] : 0 }
        case .deconvnet: for i in 0..<count { dx[i] = max(dy[i], 0) }
        }
    }
}
