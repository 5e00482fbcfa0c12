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
    public private(set) var backend: ConvolutionBackend
    /// The passes that run oneDNN's bfloat16 primitives (the im2col path is always float32):
    /// all of them for `precision` bf16 when the layer is built, or as `ConvolutionPrecisionPlan`
    /// sets them before training. Setting it drops the primitives made so far.
    public var bfloat16Passes: ConvolutionPasses {
        didSet { if bfloat16Passes != oldValue { primitives.removeAll() } }
    }
    /// oneDNN's primitives for the last input shapes (batch, height, width, parts), newest first.
    private var primitives: [(shape: SIMD4<Int>, convolution: OneDNNSplitConvolution)] = []
    /// Why the layer left oneDNN for im2col, if it did.
    public internal(set) var fallbackReason: String?
    let store: ParameterStore
    private let workspace: Workspace
    let weightOffset: Int
    let biasOffset: Int
    var input: Tensor?
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
        let g = geometry(input)
        output.ensureShape(outChannels, g.b, g.oh, g.ow)
        let n = g.b * g.p
        let w = store.values + weightOffset
        if exactForward {
            forgetOneDNNInput()  // backward must read this x
            forwardExact(input, g)
            return output
        }
        if let convolution = oneDNN(g) {
            let ok = convolution.forward(x: input.data, weights: w, bias: hasBias ? store.values + biasOffset : nil,
                                         y: output.data,
                                         workspace: workspace.buffer(count: convolution.workspaceFloats))
            precondition(ok, "Conv2d \(name): oneDNN's forward convolution failed")
            return output
        }
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
        let n = g.b * g.p, hw = g.h * g.w
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
        if needsInputGradient {
            inputGradient = workspace.inputGradient(inChannels, g.b, g.h, g.w, avoiding: outputGradient)
        }
        if let convolution = oneDNN(g) {
            let ok = convolution.backward(x: input.data, dy: dy, weights: w, dw: dw, accumulate: accumulate,
                                          dx: needsInputGradient ? inputGradient.data : nil,
                                          workspace: workspace.buffer(count: convolution.workspaceFloats))
            precondition(ok, "Conv2d \(name): oneDNN's backward convolution failed")
            return needsInputGradient ? inputGradient : outputGradient
        }
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

// MARK: - oneDNN

extension Conv2d {
    /// oneDNN's primitives for the geometry `g`, created on first use (nil on the im2col path),
    /// with the batch split over the rank's threads (`ConvolutionSplit`). A shape oneDNN cannot
    /// take moves this layer to im2col for good.
    private func oneDNN(_ g: (b: Int, h: Int, w: Int, oh: Int, ow: Int, p: Int)) -> OneDNNSplitConvolution? {
        guard backend == .onednn else { return nil }
        let parts = ConvolutionSplit.parts(batch: g.b, threads: Parallel.threads,
                                           winograd: winograds(bfloat16Passes))
        let shape = SIMD4(g.b, g.h, g.w, parts)  // not an array: no allocation per call
        if let i = primitives.firstIndex(where: { $0.shape == shape }) {
            if i > 0 { primitives.insert(primitives.remove(at: i), at: 0) }
            return primitives[0].convolution
        }
        var reason = ""
        guard let made = makeOneDNN(batch: g.b, height: g.h, width: g.w, bfloat16: bfloat16Passes, error: &reason)
        else {
            fallbackReason = reason
            backend = .im2col
            return nil
        }
        primitives.insert((shape, made), at: 0)
        if primitives.count > 4 { primitives.removeLast() }
        return made
    }

    /// This layer's oneDNN convolution for a batch of `batch` (split over the rank's threads as
    /// `ConvolutionSplit` says), its `bfloat16` passes reading bfloat16; Winograd's algorithm
    /// where `winograds` says and `winograd` allows.
    func makeOneDNN(batch: Int, height: Int, width: Int, bfloat16: ConvolutionPasses, winograd: Bool = true,
                    error: inout String) -> OneDNNSplitConvolution? {
        let parts = ConvolutionSplit.parts(batch: batch, threads: Parallel.threads,
                                           winograd: winograd && winograds(bfloat16))
        return OneDNNSplitConvolution(batch: batch, parts: parts, inChannels: inChannels, outChannels: outChannels,
                                      height: height, width: width, kernel: kernel, stride: stride,
                                      padding: padding, groups: groups, bias: hasBias, bfloat16: bfloat16,
                                      winograd: winograd, error: &error)
    }

    /// Whether oneDNN runs this layer with Winograd's algorithm when `bfloat16` passes read
    /// bfloat16 (`OneDNNConvolution.runsWinograd`).
    func winograds(_ bfloat16: ConvolutionPasses) -> Bool {
        OneDNNConvolution.runsWinograd(inChannels: inChannels, outChannels: outChannels, kernel: kernel,
                                       stride: stride, groups: groups, bfloat16: bfloat16)
    }

    /// Makes the next backward read its input again, not a copy a primitive kept: after a
    /// forward computed elsewhere (`exactForward`) or whose input is gone (`measure`'s).
    func forgetOneDNNInput() { for p in primitives { p.convolution.forgetInput() } }

    /// (inC, B, H, W) of the last forward's input, nil before one.
    public var lastInputShape: [Int]? { input?.shape }

    /// oneDNN's implementations for the last input shape: forward, backward data, backward weights.
    public var implementations: [String] { primitives.first?.convolution.implementations ?? [] }
}

/// Scratch memory shared by the layers of one model: a chunk of convolution columns, and the
/// convolutions' input gradients.
public final class Workspace {
    /// Floats of columns per chunk: small enough to stay in cache between the unfolding and
    /// the product that reads it (bench: resnet32 and cnn steps about 20% faster than with
    /// whole-batch columns), 2 MB per thread: with several threads each product is split, and
    /// fewer, larger calls cost less synchronisation (resnet32 on two threads +5-10%).
    public var chunkFloats: Int { fixedChunkFloats ?? (1 << 19) * max(1, Parallel.threads) }
    private let fixedChunkFloats: Int?
    private let storage = Tensor(shape: [1])

    /// - chunkFloats: a fixed chunk size (tests), instead of one that follows the rank's threads.
    public init(chunkFloats: Int? = nil) {
        fixedChunkFloats = chunkFloats
    }

    /// At least `count` floats, valid until the next call by any layer.
    public func buffer(count: Int) -> UnsafeMutablePointer<Float> {
        if storage.capacity < count { storage.reshape([count]) }
        return storage.data
    }

    /// Three buffers the convolutions' input gradients take in turn, instead of one per layer
    /// (resnet50 at 224 px: 43 MB a sample). A layer's input gradient is read by the layers
    /// before it before two more convolutions have run backward (a residual block holds its
    /// first convolution's while its shortcut's runs), so three never collide.
    private let gradients = [Tensor(shape: [1, 1, 1, 1]), Tensor(shape: [1, 1, 1, 1]), Tensor(shape: [1, 1, 1, 1])]
    /// The gradient of a residual block's sum, which the block reads from its start to its end of
    /// backward; one for all blocks: a block's backward ends before the one before it starts.
    let blockSumGradient = Tensor(shape: [1, 1, 1, 1])
    /// The input gradient of a residual block's last batch norm (which cannot overwrite the sum's
    /// gradient: the shortcut reads it too), read at once by the convolution before it; one for
    /// all blocks, as the sum's.
    let blockNormGradient = Tensor(shape: [1, 1, 1, 1])
    private var nextGradient = 0

    /// The next input-gradient buffer in turn, shaped (c, b, h, w), never `avoiding` (the output
    /// gradient the convolution reads).
    func inputGradient(_ c: Int, _ b: Int, _ h: Int, _ w: Int, avoiding: Tensor) -> Tensor {
        var t = gradients[nextGradient]
        nextGradient = (nextGradient + 1) % gradients.count
        if t === avoiding {
            t = gradients[nextGradient]
            nextGradient = (nextGradient + 1) % gradients.count
        }
        t.ensureShape(c, b, h, w)
        return t
    }
}

extension Conv2d {
    public func outputName(input: String) -> String { name }
    public func outputIsFeatureMap(input: Bool) -> Bool { true }
}
