import Tensor

/// The CIFAR ResNet basic block with the option-A shortcut (He et al. 2016, as
/// in the LDAM-DRW and IB-Loss code):
/// `relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))`, where the shortcut is
/// the identity, or, when the block changes shape, the input subsampled with
/// stride 2 and zero-padded with `planes / 4` channels on each side.
///
/// Between its convolutions, batch norms and ReLUs the activations stay in oneDNN's blocked
/// layout where oneDNN runs the convolutions (`innerLayout`): no reorder runs inside the block
/// (resnet32: ten of a block's twelve oneDNN calls fewer); the sum reads them blocked and writes
/// the block's output plain.
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
    private var input: Tensor?
    public let output = Tensor(shape: [1, 1, 1, 1])
    /// Gradient of the sum before the final ReLU: the workspace's (`Workspace.blockSumGradient`),
    /// and its copy in the inner layout for the second norm (`Workspace.blockedSumGradient`).
    private let sumGradient: Tensor, innerSumGradient: Tensor
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

    private var isIdentity: Bool { stride == 1 && inChannels == planes }

    public func forward(_ input: Tensor, training: Bool) -> Tensor {
        self.input = input
        var t = conv1.forward(input, training: training)
        t = bn1.forward(t, training: training)
        t = relu1.forward(t, training: training)
        t = conv2.forward(t, training: training)
        t = bn2.forward(t, training: training)
        let (c, b, oh, ow) = (t.shape[0], t.shape[1], t.shape[2], t.shape[3])
        output.ensureShape(c, b, oh, ow)
        let y = output.data, main = t.data, x = input.data
        let plane = oh * ow, stride = stride, inChannels = inChannels
        if t.layout != .plain {
            blockedSum(t, input)
        } else if isIdentity {
            Parallel.forEach(c) { range in
                for i in range.lowerBound * b * plane..<range.upperBound * b * plane { y[i] = max(main[i] + x[i], 0) }
            }
        } else {
            let pad = planes / 4
            let (h, w) = (input.shape[2], input.shape[3])
            Parallel.forEach(c) { range in for ch in range {
                let source = ch - pad
                for bi in 0..<b {
                    let o = y + (ch * b + bi) * plane, m = main + (ch * b + bi) * plane
                    if source < 0 || source >= inChannels {
                        for i in 0..<plane { o[i] = max(m[i], 0) }
                        continue
                    }
                    let xin = x + (source * b + bi) * h * w
                    for oy in 0..<oh {
                        for ox in 0..<ow {
                            o[oy * ow + ox] = max(m[oy * ow + ox] + xin[oy * stride * w + ox * stride], 0)
                        }
                    }
                }
            } }
        }
        return output
    }

    public func backward(_ outputGradient: Tensor) -> Tensor {
        guard let input else { preconditionFailure("BasicBlock.backward before forward") }
        sumGradient.ensureShape(output.shape[0], output.shape[1], output.shape[2], output.shape[3])
        reluGradient.backward(output: output.data, outputGradient.data, sumGradient.data, count: output.count)
        var g = sumGradient
        if bn2.output.layout != .plain {
            sumGradient.copy(into: innerSumGradient, layout: bn2.output.layout)
            g = innerSumGradient
        }
        g = bn2.backward(g)
        g = conv2.backward(g)
        g = relu1.backward(g)
        g = bn1.backward(g)
        let dx = conv1.backward(g)
        guard needsInputGradient else { return dx }
        let d = dx.data, ds = sumGradient.data
        let stride = stride, perChannel = dx.count / inChannels
        if isIdentity {
            Parallel.forEach(inChannels) { range in
                for i in range.lowerBound * perChannel..<range.upperBound * perChannel { d[i] += ds[i] }
            }
        } else {
            let pad = planes / 4
            let (b, h, w) = (input.shape[1], input.shape[2], input.shape[3])
            let (oh, ow) = (output.shape[2], output.shape[3])
            Parallel.forEach(inChannels) { range in for ch in range {
                for bi in 0..<b {
                    let src = ds + ((ch + pad) * b + bi) * oh * ow
                    let dst = d + (ch * b + bi) * h * w
                    for oy in 0..<oh {
                        for ox in 0..<ow { dst[oy * stride * w + ox * stride] += src[oy * ow + ox] }
                    }
                }
            } }
        }
        return dx
    }
}

extension BasicBlock {
    /// output = relu(main + shortcut(input)), `main` in a blocked layout, `input` and output plain.
    private func blockedSum(_ main: Tensor, _ input: Tensor) {
        let (c, b, plane, k) = (main.shape[0], main.shape[1], main.shape[2] * main.shape[3], main.layout.block)
        let (h, w, ow) = (input.shape[2], input.shape[3], main.shape[3])
        let y = output.data, m = main.data, x = input.data, blocks = c / k
        let identity = isIdentity, stride = stride, pad = (planes - inChannels) / 2, inChannels = inChannels
        Parallel.forEach(b * blocks) { runs in
            for run in runs {
                let (n, block) = run.quotientAndRemainder(dividingBy: blocks)
                for l in 0..<k {
                    let ch = block * k + l, source = ch - pad
                    let o = y + (ch * b + n) * plane, mr = m + run * plane * k + l
                    if identity {
                        let xr = x + (ch * b + n) * plane
                        for i in 0..<plane { o[i] = max(mr[i * k] + xr[i], 0) }
                    } else if source < 0 || source >= inChannels {
                        for i in 0..<plane { o[i] = max(mr[i * k], 0) }
                    } else {
                        let xr = x + (source * b + n) * h * w
                        for i in 0..<plane {
                            let (oy, ox) = i.quotientAndRemainder(dividingBy: ow)
                            o[i] = max(mr[i * k] + xr[oy * stride * w + ox * stride], 0)
                        }
                    }
                }
            }
        }
    }

    public func outputName(input: String) -> String { name }
    public func outputIsFeatureMap(input: Bool) -> Bool { true }
}
