import Tensor

/// torchvision's ResNet blocks, with its parameter names (`layer1.0.conv1.weight`,
/// `layer2.0.downsample.0.weight`, ...):
/// - basic: `relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))`, two 3x3 convolutions, the first
///   with the block's stride (ResNet-10/18/34);
/// - bottleneck: 1x1 to `width`, 3x3 with the stride and `groups`, 1x1 to `4 planes`
///   (ResNet-50, ResNeXt-50 32x4d: `width = planes * widthPerGroup / 64 * groups`).
/// The shortcut is the identity, or, where the block changes the shape, `downsample`: a 1x1
/// convolution with the stride and a batch norm (torchvision's option B).
///
/// Where oneDNN runs the convolutions, the activations inside the block and its output are in
/// oneDNN's blocked layout (`innerLayout`); the input may come in either.
///
/// - input: (inC, B, H, W) -> output (outC, B, H / stride, W / stride)
public final class ResidualBlock: Layer {
    public enum Kind: Sendable, Equatable {
        case basic
        case bottleneck(groups: Int, widthPerGroup: Int)
        /// Output channels per `planes`.
        public var expansion: Int { self == .basic ? 1 : 4 }
    }

    public let name: String
    public let inChannels: Int, outChannels: Int, stride: Int
    public var needsInputGradient = true
    /// The main path: convolutions, each followed by its batch norm, a ReLU between them.
    public let convs: [Conv2d], norms: [BatchNorm2d]
    let relus: [ReLU]
    /// The projection shortcut (1x1 convolution and batch norm), nil for the identity.
    public let downsample: (conv: Conv2d, norm: BatchNorm2d)?
    /// How the ReLUs pass the gradient back (exactly, but for explanations).
    public var reluGradient = ReLUGradient.exact {
        didSet { for relu in relus { relu.gradient = reluGradient } }
    }
    private var input: Tensor?
    public let output = Tensor(shape: [1, 1, 1, 1])
    /// Gradient of the sum before the final ReLU: the workspace's (`Workspace.blockSumGradient`).
    private let sumGradient: Tensor
    /// `downsampleGradient`'s copy, where it needs one.
    private lazy var projectionGradient = Tensor(shape: [1, 1, 1, 1])
    /// The layout of the convolutions' outputs, so of the block's inner activations and output:
    /// oneDNN's blocked one where it runs them, else `plain`. Settable (tests compare the two).
    public var innerLayout = ActivationLayout.plain {
        didSet { for conv in convs + (downsample.map { [$0.conv] } ?? []) { conv.outputLayout = innerLayout } }
    }

    public init(_ name: String, kind: Kind, inChannels: Int, planes: Int, stride: Int, store: ParameterStore,
                buffers: ParameterStore, workspace: Workspace, backend: ConvolutionBackend = .auto,
                precision: Precision = .fp32) {
        self.name = name
        sumGradient = workspace.blockSumGradient
        self.inChannels = inChannels
        self.outChannels = planes * kind.expansion
        self.stride = stride
        func conv(_ n: Int, _ i: Int, _ o: Int, kernel: Int, stride: Int = 1, groups: Int = 1) -> Conv2d {
            Conv2d("\(name).conv\(n)", inChannels: i, outChannels: o, kernel: kernel, stride: stride,
                   padding: kernel / 2, groups: groups, bias: false, store: store, workspace: workspace,
                   backend: backend, precision: precision)
        }
        var convs: [Conv2d] = [], norms: [BatchNorm2d] = []
        switch kind {
        case .basic:
            convs = [conv(1, inChannels, planes, kernel: 3, stride: stride), conv(2, planes, planes, kernel: 3)]
        case .bottleneck(let groups, let widthPerGroup):
            let width = planes * widthPerGroup / 64 * groups
            convs = [conv(1, inChannels, width, kernel: 1),
                     conv(2, width, width, kernel: 3, stride: stride, groups: groups),
                     conv(3, width, planes * 4, kernel: 1)]
        }
        for (i, c) in convs.enumerated() {
            norms.append(BatchNorm2d("\(name).bn\(i + 1)", channels: c.outChannels, store: store, buffers: buffers))
        }
        norms[norms.count - 1].overwritesOutputGradient = false  // its output gradient also feeds the shortcut
        norms[norms.count - 1].inputGradient = workspace.blockNormGradient
        self.convs = convs
        self.norms = norms
        relus = convs.dropLast().map { _ in ReLU() }
        if stride != 1 || inChannels != outChannels {
            let c = Conv2d("\(name).downsample.0", inChannels: inChannels, outChannels: outChannels, kernel: 1,
                           stride: stride, bias: false, store: store, workspace: workspace, backend: backend,
                           precision: precision)
            downsample = (c, BatchNorm2d("\(name).downsample.1", channels: outChannels, store: store,
                                         buffers: buffers))
        } else {
            downsample = nil
        }
        let blocked = ActivationLayout.preferredBlocked(channels: convs[0].outChannels)
        let fits = convs.allSatisfy { $0.outChannels % max(blocked.block, 1) == 0 }
        innerLayout = convs[0].backend == .onednn && fits ? blocked : .plain
        for conv in convs + (downsample.map { [$0.conv] } ?? []) { conv.outputLayout = innerLayout }
    }

    public var parameterOffset: Int? { convs[0].parameterOffset }
    public var forwardFLOPs: Int { convs.map(\.forwardFLOPs).reduce(0, +) + (downsample?.conv.forwardFLOPs ?? 0) }
    /// Batch-norm layers, to wire synchronised statistics.
    public var batchNorms: [BatchNorm2d] { norms + (downsample.map { [$0.norm] } ?? []) }

    public func forward(_ input: Tensor, training: Bool) -> Tensor {
        self.input = input
        var t = input
        for i in convs.indices {
            t = norms[i].forward(convs[i].forward(t, training: training), training: training)
            if i < relus.count { t = relus[i].forward(t, training: training) }
        }
        let shortcut = downsample.map { $0.norm.forward($0.conv.forward(input, training: training),
                                                        training: training) } ?? input
        output.ensureShape(t.shape[0], t.shape[1], t.shape[2], t.shape[3])
        output.layout = t.layout
        Kernels.addRelu(t, shortcut, into: output)
        return output
    }

    public func backward(_ outputGradient: Tensor) -> Tensor {
        guard input != nil else { preconditionFailure("ResidualBlock.backward before forward") }
        precondition(outputGradient.layout == output.layout,
                     "ResidualBlock \(name): output gradient in \(outputGradient.layout), output in \(output.layout)")
        sumGradient.ensureShape(output.shape[0], output.shape[1], output.shape[2], output.shape[3])
        sumGradient.layout = output.layout
        reluGradient.backward(output: output.data, outputGradient.data, sumGradient.data, count: output.count)
        var g = sumGradient
        for i in convs.indices.reversed() {
            if i < relus.count { g = relus[i].backward(g) }
            g = convs[i].backward(norms[i].backward(g))
        }
        guard needsInputGradient else {
            if let d = downsample { _ = d.conv.backward(d.norm.backward(downsampleGradient)) }  // its parameters'
            return g
        }
        let shortcut = downsample.map { $0.conv.backward($0.norm.backward(downsampleGradient)) } ?? sumGradient
        Kernels.add(shortcut, into: g)
        return g
    }
}

extension ResidualBlock {
    /// The sum's gradient in the layout of the projection's output: itself, or a copy where
    /// that convolution left oneDNN and writes plain rows while the main path is blocked.
    private var downsampleGradient: Tensor {
        guard let d = downsample, d.norm.output.layout != sumGradient.layout else { return sumGradient }
        if d.norm.output.layout == .plain {
            sumGradient.copyPlain(into: projectionGradient)
        } else {
            let plain = Tensor(shape: [1])  // (never on the usual paths: a blocked projection beside a plain sum)
            sumGradient.copyPlain(into: plain)
            plain.copy(into: projectionGradient, layout: d.norm.output.layout)
        }
        return projectionGradient
    }

    public func outputName(input: String) -> String { name }
    public func outputIsFeatureMap(input: Bool) -> Bool { true }
}
