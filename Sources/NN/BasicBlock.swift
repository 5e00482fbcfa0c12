import Tensor

/// The CIFAR ResNet basic block with the option-A shortcut (He et al. 2016, as
/// in the LDAM-DRW and IB-Loss code):
/// `relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))`, where the shortcut is
/// the identity, or, when the block changes shape, the input subsampled with
/// stride 2 and zero-padded with `planes / 4` channels on each side.
///
/// Between its convolutions, batch norms and ReLUs the activations stay in oneDNN's blocked
/// layout where oneDNN runs the convolutions (`innerLayout`): no reorder runs inside the block.
/// Given a blocked input its output is blocked too (resnet32 is blocked from its stem to its
/// pooling); from a plain input the sum writes plain rows.
///
/// - input: (inC, B, H, W) -> output (planes, B, H / stride, W / stride)
public final class BasicBlock: Layer {
    /// The name of its parameters' prefix, e.g. `conv3`, `layer2.0`.
    public let name: String
    public let inChannels: Int, planes: Int, stride: Int
    public var needsInputGradient = true
    public let conv1: Conv2d, bn1: BatchNorm2d
    let relu1 = ReLU()
    /// How both ReLUs pass the gradient back (exactly, but for explanations).
    public var reluGradient = ReLUGradient.exact {
        didSet { relu1.gradient = reluGradient }
    }
    public let conv2: Conv2d, bn2: BatchNorm2d
    var input: Tensor?
    public let output = Tensor(shape: [1, 1, 1, 1])
    /// Gradient of the sum before the final ReLU: the workspace's (`Workspace.blockSumGradient`),
    /// and its copy in the inner layout for the second norm (`Workspace.blockedSumGradient`).
    let sumGradient: Tensor, innerSumGradient: Tensor
    /// The layout of the activations between the block's layers: oneDNN's blocked one where it
    /// runs the convolutions (`ActivationLayout.preferredBlocked`), else `plain`. Settable (tests
    /// compare the two).
    public var innerLayout: ActivationLayout {
        didSet {
            conv1.outputLayout = innerLayout
            conv2.outputLayout = innerLayout
        }
    }

    public init(_ name: String, inChannels: Int, planes: Int, stride: Int,
                store: ParameterStore, buffers: ParameterStore, workspace: Workspace,
                backend: ConvolutionBackend = .auto,
                precision: Precision = .fp32) {
        self.name = name
        sumGradient = workspace.blockSumGradient
        innerSumGradient = workspace.blockedSumGradient
        self.inChannels = inChannels
        self.planes = planes
        self.stride = stride
        conv1 = Conv2d("\(name).conv1", inChannels: inChannels, outChannels: planes, kernel: 3, stride: stride,
                       padding: 1,
                       bias: false, store: store, workspace: workspace, backend: backend, precision: precision)
        bn1 = BatchNorm2d("\(name).bn1", channels: planes, store: store, buffers: buffers)
        conv2 = Conv2d("\(name).conv2", inChannels: planes, outChannels: planes, kernel: 3, stride: 1, padding: 1,
                       bias: false, store: store, workspace: workspace, backend: backend, precision: precision)
        bn2 = BatchNorm2d("\(name).bn2", channels: planes, store: store, buffers: buffers)
        bn2.overwritesOutputGradient = false  // its output gradient also feeds the shortcut
        bn2.inputGradient = workspace.blockNormGradient
        innerLayout = conv1.backend == .onednn ? .preferredBlocked(channels: planes) : .plain
        conv1.outputLayout = innerLayout
        conv2.outputLayout = innerLayout
        precondition(stride == 1 ? inChannels == planes : inChannels + 2 * (planes / 4) == planes,
                     "BasicBlock \(name): option-A shortcut cannot map \(inChannels) to \(planes) channels " +
                     "with stride \(stride)")
    }

    public var parameterOffset: Int? { conv1.parameterOffset }
    public var forwardFLOPs: Int { conv1.forwardFLOPs + conv2.forwardFLOPs }

    /// Batch-norm layers, to wire synchronised statistics.
    public var batchNorms: [BatchNorm2d] { [bn1, bn2] }

    var isIdentity: Bool { stride == 1 && inChannels == planes }

    public func forward(_ input: Tensor, training: Bool) -> Tensor {
        self.input = input
        var t = conv1.forward(input, training: training)
        t = bn1.forward(t, training: training)
        t = relu1.forward(t, training: training)
        t = conv2.forward(t, training: training)
        t = bn2.forward(t, training: training)
        output.ensureShape(t.shape[0], t.shape[1], t.shape[2], t.shape[3])
        // Blocked in, blocked out: the next block (or the pooling) reads it so. From a plain
        // input the sum writes plain rows.
        output.layout = t.layout == input.layout ? t.layout : .plain
        if isIdentity, t.layout == input.layout {
            Kernels.addRelu(t.data, input.data, output.data, count: t.count)
        } else {
            shortcutSum(t, input)
        }
        return output
    }

    public func backward(_ outputGradient: Tensor) -> Tensor {
        guard input != nil else { preconditionFailure("BasicBlock.backward before forward") }
        precondition(outputGradient.layout == output.layout,
                     "BasicBlock \(name): output gradient in \(outputGradient.layout), output in \(output.layout)")
        sumGradient.ensureShape(output.shape[0], output.shape[1], output.shape[2], output.shape[3])
        sumGradient.layout = output.layout
        reluGradient.backward(output: output.data, outputGradient.data, sumGradient.data, count: output.count)
        var g = sumGradient
        if bn2.output.layout != output.layout {  // (a plain input, the inner layout blocked)
            sumGradient.copy(into: innerSumGradient, layout: bn2.output.layout)
            g = innerSumGradient
        }
        g = bn2.backward(g)
        g = conv2.backward(g)
        g = relu1.backward(g)
        g = bn1.backward(g)
        let dx = conv1.backward(g)
        guard needsInputGradient else { return dx }
        if isIdentity, dx.layout == sumGradient.layout {
            Kernels.add(sumGradient.data, into: dx.data, count: dx.count)
        } else {
            addShortcutGradient(into: dx)
        }
        return dx
    }
}

extension BasicBlock {
    public func outputName(input: String) -> String { name }
    public func outputIsFeatureMap(input: Bool) -> Bool { true }
}
