import Tensor

/// 2-D convolution on channel-major activations, through oneDNN or through sgemm.
///
/// With `.onednn` (the default where the library is found), oneDNN's convolutions (direct, or
/// Winograd where `OneDNNConvolution.prefersWinograd`) run in its blocked formats, with reorders from and to (C, B, H,
/// W) inside `ddp_conv_*`; one set of
/// primitives per input shape, the last few kept. A shape oneDNN cannot take falls back to the
/// im2col path below, which is also the reference the tests check oneDNN against.
///
/// Activations are (C, B, H, W): for a chunk of the batch, the product
/// `W (outC, C*k*k) x cols (C*k*k, Bc*OH*OW)` is already the chunk's slice of
/// the (outC, B, OH, OW) output (written with the whole row's leading
/// dimension), so no transposes follow. The batch is unfolded chunk by chunk
/// into a workspace of about `workspace.chunkFloats` floats that stays in
/// cache, instead of one whole-batch buffer that would stream through memory
/// twice; backward unfolds each chunk again.
///
/// With `groups` G > 1 (ResNeXt), input and output channels fall into G groups, group g's outputs
/// reading only group g's inputs: on channel-major activations each group's input and output are
/// contiguous slices, so the im2col path runs each group as a convolution of inC / G to outC / G
/// channels; oneDNN takes the groups in one primitive (weights (G, outC / G, inC / G, k, k), the
/// same memory), never with Winograd.
///
/// - weight: (outC, inC / G, k, k), PyTorch's layout; bias: (outC)
public final class Conv2d: Layer {
    /// The name of its parameters' prefix, e.g. `conv3`, `layer2.0`.
    public let name: String
    public let inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: Int, groups: Int
    public let hasBias: Bool
    public var needsInputGradient = true
    /// Forward computes each output as one double-precision sum in a fixed order (`forwardExact`):
    /// explanations' passes through max pooling set it, training never does.
    public var exactForward = false
    /// `.onednn` or `.im2col` (`auto` resolved when the layer is built).
    public internal(set) var backend: ConvolutionBackend
    /// The passes that run oneDNN's bfloat16 primitives (the im2col path is always float32):
    /// all of them for `precision` bf16 when the layer is built, or as `ConvolutionPrecisionPlan`
    /// sets them before training. Setting it drops the primitives made so far.
    public var bfloat16Passes: ConvolutionPasses {
        didSet { if bfloat16Passes != oldValue { primitives.removeAll() } }
    }
    /// The layout of its output where oneDNN runs it (always `plain` on the im2col path, and with
    /// a bias): a residual block asks for oneDNN's blocked one between its layers. The input may come in
    /// either layout; its gradient goes back in the input's.
    public var outputLayout = ActivationLayout.plain
    /// oneDNN's primitives for the last input shapes (batch, height, width, parts, input and output
    /// blocks), newest first.
    var primitives: [(shape: SIMD8<Int>, convolution: OneDNNSplitConvolution)] = []
    /// Why the layer left oneDNN for im2col, if it did.
    public internal(set) var fallbackReason: String?
    let store: ParameterStore
    private let workspace: Workspace
    let weightOffset: Int
    let biasOffset: Int
    /// The last forward's input; on the im2col path a plain copy of a blocked one (`plainInput`).
    var input: Tensor?
    /// The last forward's input layout, in which backward returns the input gradient.
    private(set) var inputLayout = ActivationLayout.plain
    /// The layout oneDNN writes: `outputLayout`, but plain with a bias (whose gradient reads rows).
    var oneDNNOutputLayout: ActivationLayout { hasBias ? .plain : outputLayout }
    /// The im2col path's plain copies of a blocked input and of its gradient (sized when used).
    private lazy var plainInput = Tensor(shape: [1, 1, 1, 1])
    private lazy var plainInputGradient = Tensor(shape: [1, 1, 1, 1])
    /// (outC, B, OH, OW)
    public let output = Tensor(shape: [1, 1, 1, 1])
    /// (inC, B, H, W): the workspace's, valid until the model's next convolutions' backward
    /// passes (`Workspace.inputGradient`).
    private var inputGradient = Tensor(shape: [1, 1, 1, 1])

    public init(_ name: String, inChannels: Int, outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0,
                groups: Int = 1, bias: Bool, store: ParameterStore, workspace: Workspace,
                backend: ConvolutionBackend = .auto, precision: Precision = .fp32) {
        precondition(groups >= 1 && inChannels % groups == 0 && outChannels % groups == 0,
                     "Conv2d \(name): \(groups) groups do not divide \(inChannels) -> \(outChannels) channels")
        self.name = name
        self.groups = groups
        self.backend = backend.resolved
        bfloat16Passes = precision == .bf16 ? .all : []
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        self.hasBias = bias
        self.store = store
        self.workspace = workspace
        weightOffset = store.register("\(name).weight", shape: [outChannels, inChannels / groups, kernel, kernel],
                                      initializer: .kaimingNormal)
        biasOffset = bias ? store.register("\(name).bias", shape: [outChannels], initializer: .zeros) : -1
    }

    public var parameterOffset: Int? { weightOffset }
    public var forwardFLOPs: Int { input == nil ? 0 : 2 * output.count * inG * kernel * kernel }

    private var isPointwise: Bool { kernel == 1 && stride == 1 && padding == 0 }
    /// Input and output channels of one group.
    var inG: Int { inChannels / groups }
    var outG: Int { outChannels / groups }
    /// One group's weights per output channel: rows of the product.
    private var ckk: Int { inG * kernel * kernel }

    /// The geometry of an input: batch, height, width, output height and width, output plane size.
    private func geometry(_ x: Tensor) -> (b: Int, h: Int, w: Int, oh: Int, ow: Int, p: Int) {
        let (b, h, w) = (x.shape[1], x.shape[2], x.shape[3])
        let oh = Kernels.outputSize(h, kernel: kernel, stride: stride, padding: padding)
        let ow = Kernels.outputSize(w, kernel: kernel, stride: stride, padding: padding)
        return (b, h, w, oh, ow, oh * ow)
    }

    /// Samples per chunk: the chunk's columns fill about `workspace.chunkFloats` floats.
    private func chunkSize(batch b: Int, plane p: Int) -> Int {
        max(1, min(b, workspace.chunkFloats / max(ckk * p, 1)))
    }

    /// The columns of group `group`'s samples `b0 ..< b0 + n` (the input itself for 1x1 convolutions).
    private func columns(_ x: Tensor, group: Int, from b0: Int, count n: Int) -> UnsafeMutablePointer<Float> {
        let g = geometry(x)
        let hw = g.h * g.w
        let source = x.data + group * inG * g.b * hw + b0 * hw
        if isPointwise { return source }  // only used with the whole batch, see below
        let cols = workspace.buffer(count: ckk * n * g.p)
        Kernels.im2col(source, channels: inG, batch: n, height: g.h, width: g.w, kernel: kernel,
                       stride: stride, padding: padding, channelStride: g.b * hw, into: cols)
        return cols
    }

    /// Group `group`'s samples unfolded chunk by chunk: `body(first sample, samples, columns)`.
    private func forEachChunk(_ input: Tensor, group: Int, _ g: (b: Int, h: Int, w: Int, oh: Int, ow: Int, p: Int),
                              _ body: (Int, Int, UnsafeMutablePointer<Float>) -> Void) {
        let chunk = chunkSize(batch: g.b, plane: g.p)
        var b0 = 0
        while b0 < g.b {
            let bc = min(chunk, g.b - b0)
            body(b0, bc, columns(input, group: group, from: b0, count: bc))
            b0 += bc
        }
    }

    /// - input: (inC, B, H, W) -> (outC, B, OH, OW)
    public func forward(_ input: Tensor, training: Bool) -> Tensor {
        precondition(input.shape.count == 4 && input.shape[0] == inChannels,
                     "Conv2d(\(inChannels) -> \(outChannels)) given input \(input.shape), expected " +
                     "(\(inChannels), B, H, W)")
        self.input = input
        inputLayout = input.layout
        let g = geometry(input)
        output.ensureShape(outChannels, g.b, g.oh, g.ow)
        let n = g.b * g.p
        let w = store.values + weightOffset
        if !exactForward, let convolution = oneDNN(g, input.layout, oneDNNOutputLayout) {
            output.layout = oneDNNOutputLayout
            let ok = convolution.forward(x: input.data, weights: w, bias: hasBias ? store.values + biasOffset : nil,
                                         y: output.data,
                                         workspace: workspace.buffer(count: convolution.workspaceFloats))
            precondition(ok, "Conv2d \(name): oneDNN's forward convolution failed")
            return output
        }
        output.layout = .plain
        if exactForward {  // (backward runs oneDNN where it can, on the input as given)
            forgetOneDNNInput()  // backward must read this x
            forwardExact(plain(input), g)
            return output
        }
        let input = plain(input)
        self.input = input
        if hasBias {
            let bias = store.values + biasOffset, out = output.data
            Parallel.forEach(outChannels) { range in
                for c in range { (out + c * n).update(repeating: bias[c], count: n) }
            }
        }
        let beta: Float = hasBias ? 1 : 0
        for group in 0..<groups {
            let wg = w + group * outG * ckk, yg = output.data + group * outG * n
            if isPointwise {
                BLAS.gemm(m: outG, n: n, k: ckk, a: wg, lda: ckk, b: columns(input, group: group, from: 0, count: g.b),
                          ldb: n, beta: beta, c: yg, ldc: n)
                continue
            }
            forEachChunk(input, group: group, g) { b0, bc, cols in
                BLAS.gemm(m: outG, n: bc * g.p, k: ckk, a: wg, lda: ckk, b: cols, ldb: bc * g.p,
                          beta: beta, c: yg + b0 * g.p, ldc: n)
            }
        }
        return output
    }

    /// - outputGradient: (outC, B, OH, OW) -> (inC, B, H, W)
    public func backward(_ outputGradient: Tensor) -> Tensor {
        guard let input else { preconditionFailure("Conv2d.backward before forward") }
        let g = geometry(input)
        let n = g.b * g.p
        let dy = outputGradient.data
        let w = store.values + weightOffset, dw = store.gradients + weightOffset
        let accumulate = store.accumulatesGradients
        if hasBias {
            let db = store.gradients + biasOffset
            // Overwrite rather than scale by 0: a NaN left by a skipped step must not survive.
            Parallel.forEach(outChannels) { range in
                for c in range { db[c] = Kernels.sum(dy + c * n, count: n) + (accumulate ? db[c] : 0) }
            }
        }
        precondition(outputGradient.layout == output.layout,
                     "Conv2d \(name): output gradient in \(outputGradient.layout), output in \(output.layout)")
        if needsInputGradient {
            inputGradient = workspace.inputGradient(inChannels, g.b, g.h, g.w, avoiding: outputGradient)
            inputGradient.layout = inputLayout
        }
        if let convolution = oneDNN(g, inputLayout, output.layout) {
            let ok = convolution.backward(x: input.data, dy: dy, weights: w, dw: dw, accumulate: accumulate,
                                          dx: needsInputGradient ? inputGradient.data : nil,
                                          workspace: workspace.buffer(count: convolution.workspaceFloats))
            precondition(ok, "Conv2d \(name): oneDNN's backward convolution failed")
            return needsInputGradient ? inputGradient : outputGradient
        }
        let x = plain(input)  // (a copy already, but after an exact forward)
        guard inputLayout != .plain, needsInputGradient else { return backwardPlain(outputGradient, x, g) }
        let blocked = inputGradient  // the input's layout: computed plain, then copied
        inputGradient = plainInputGradient
        inputGradient.ensureShape(inChannels, g.b, g.h, g.w)
        _ = backwardPlain(outputGradient, x, g)
        inputGradient.copy(into: blocked, layout: inputLayout)
        inputGradient = blocked
        return blocked
    }

    /// The input `x` in the plain layout: itself, or its copy in `plainInput`.
    private func plain(_ x: Tensor) -> Tensor {
        guard x.layout != .plain else { return x }
        x.copyPlain(into: plainInput)
        return plainInput
    }

    /// The im2col path's backward, on plain activations: `input` is the last forward's input
    /// (plain), and the input gradient goes into `inputGradient`.
    private func backwardPlain(_ outputGradient: Tensor, _ input: Tensor,
                               _ g: (b: Int, h: Int, w: Int, oh: Int, ow: Int, p: Int)) -> Tensor {
        let n = g.b * g.p, hw = g.h * g.w
        let dy = outputGradient.data
        let w = store.values + weightOffset, dw = store.gradients + weightOffset
        let accumulate = store.accumulatesGradients
        if needsInputGradient, !isPointwise { inputGradient.fill(0) }
        for group in 0..<groups {
            let wg = w + group * outG * ckk, dwg = dw + group * outG * ckk, dyg = dy + group * outG * n
            let dxg = inputGradient.data + group * inG * g.b * hw
            if isPointwise {
                let x = columns(input, group: group, from: 0, count: g.b)
                BLAS.gemm(transB: true, m: outG, n: ckk, k: n, a: dyg, lda: n, b: x, ldb: n,
                          beta: accumulate ? 1 : 0, c: dwg, ldc: ckk)
                if needsInputGradient {
                    BLAS.gemm(transA: true, m: ckk, n: n, k: outG, a: wg, lda: ckk, b: dyg, ldb: n, c: dxg, ldc: n)
                }
                continue
            }
            forEachChunk(input, group: group, g) { b0, bc, cols in
                let dyc = dyg + b0 * g.p
                // dW (outG, ckk) += dY_chunk (outG, bc*P) x cols^T (bc*P, ckk)
                BLAS.gemm(transB: true, m: outG, n: ckk, k: bc * g.p, a: dyc, lda: n, b: cols, ldb: bc * g.p,
                          beta: accumulate || b0 > 0 ? 1 : 0, c: dwg, ldc: ckk)
                if needsInputGradient {
                    // dcols (ckk, bc*P) = W^T (ckk, outG) x dY_chunk (outG, bc*P), over the columns (no longer needed)
                    BLAS.gemm(transA: true, m: ckk, n: bc * g.p, k: outG, a: wg, lda: ckk, b: dyc, ldb: n,
                              c: cols, ldc: bc * g.p)
                    Kernels.col2im(cols, channels: inG, batch: bc, height: g.h, width: g.w, kernel: kernel,
                                   stride: stride, padding: padding, channelStride: g.b * hw, into: dxg + b0 * hw)
                }
            }
        }
        return needsInputGradient ? inputGradient : outputGradient
    }
}

extension Conv2d {
    public func outputName(input: String) -> String { name }
    public func outputIsFeatureMap(input: Bool) -> Bool { true }
}
