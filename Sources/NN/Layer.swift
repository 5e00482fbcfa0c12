import Tensor

/// A layer with an explicit backward pass (karpathy/llm.c's contract).
///
/// `forward` returns a tensor the layer owns and keeps until its next forward;
/// `backward` takes the gradient of that output, accumulates (`+=`) into the
/// layer's parameter gradients (or overwrites them when the store's
/// `accumulatesGradients` is false) and returns the gradient of its input (a tensor
/// the layer owns, or for convolutions one of the model's `Workspace` buffers, valid
/// until two more convolutions have run backward), or the tensor it was given when
/// `needsInputGradient` is false. `backward` takes the gradient in the layout of the output
/// (`Tensor.layout`: plain, or oneDNN's blocked one inside the ResNets) and returns the input
/// gradient in the input's. Buffers are sized once per batch shape: no allocation per step.
public protocol Layer: AnyObject {
    /// The layer's output for `input`; `training` selects BN's batch statistics.
    func forward(_ input: Tensor, training: Bool) -> Tensor
    /// The input gradient for `outputGradient`, accumulating parameter gradients.
    func backward(_ outputGradient: Tensor) -> Tensor
    /// Lowest offset of the layer's parameters in the store, nil without parameters.
    var parameterOffset: Int? { get }
    /// When false (the first layer), `backward` skips the input gradient.
    var needsInputGradient: Bool { get set }
    /// Floating-point operations of the matrix products of the last forward pass.
    var forwardFLOPs: Int { get }
    /// The name of the layer's output for taps (`Model.tapNames`), given its input's: its
    /// parameters' prefix (`conv3`, `layer3.4`) or what it applies to (`relu(conv3)`).
    func outputName(input: String) -> String
    /// Whether the output is a spatial feature map (C, B, H, W), given whether the input is.
    func outputIsFeatureMap(input: Bool) -> Bool
}

extension Layer {
    public var parameterOffset: Int? { nil }
    public var forwardFLOPs: Int { 0 }
    public func outputIsFeatureMap(input: Bool) -> Bool { input }
}
