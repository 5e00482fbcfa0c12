import Tensor

/// 2-D convolution on channel-major activations, one whole-batch sgemm.
///
/// Activations are (C, B, H, W): the product `W (outC, C*k*k) x cols (C*k*k, B*OH*OW)`
/// is then already the (outC, B, OH, OW) output, with no transposes. The
/// columns live in a `Workspace` shared by all convolutions of a model; the
/// backward pass unfolds the input again instead of keeping them.
///
/// - weight: (outC, inC, k, k), PyTorch's layout; bias: (outC)
public final class Conv2d: Layer {
    public let inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: Int
    public let hasBias: Bool
    public var needsInputGradient = true
    private let store: ParameterStore
    private let workspace: Workspace
    private let weightOffset: Int
    private let biasOffset: Int
    private var input: Tensor?
    /// This layer's own columns, kept from a training forward for backward when the
    /// workspace's budget allowed it; otherwise backward unfolds the input again.
    private var kept: Tensor?
    private var keepDecided = false
    private var columnsKept = false
    /// (outC, B, OH, OW)
    public let output = Tensor(shape: [1, 1, 1, 1])
    /// (inC, B, H, W)
    private let inputGradient = Tensor(shape: [1, 1, 1, 1])

    public init(_ name: String, inChannels: Int, outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0,
                bias: Bool, store: ParameterStore, workspace: Workspace) {
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        self.hasBias = bias
        self.store = store
        self.workspace = workspace
        weightOffset = store.register("\(name).weight", shape: [outChannels, inChannels, kernel, kernel], initializer: .kaimingNormal)
        biasOffset = bias ? store.register("\(name).bias", shape: [outChannels], initializer: .zeros) : -1
    }

    public var parameterOffset: Int? { weightOffset }
    public var forwardFLOPs: Int { input == nil ? 0 : 2 * output.count * inChannels * kernel * kernel }

    private var isPointwise: Bool { kernel == 1 && stride == 1 && padding == 0 }

    /// Unfolds `input` (or uses it as is for 1x1 convolutions): into this layer's kept buffer
    /// in a training forward when the budget allows, else into the shared workspace.
    private func columns(_ input: Tensor, keep: Bool) -> UnsafeMutablePointer<Float> {
        if isPointwise { return input.data }
        let (b, h, w) = (input.shape[1], input.shape[2], input.shape[3])
        let oh = Kernels.outputSize(h, kernel: kernel, stride: stride, padding: padding)
        let ow = Kernels.outputSize(w, kernel: kernel, stride: stride, padding: padding)
        let count = inChannels * kernel * kernel * b * oh * ow
        if keep, !keepDecided {
            keepDecided = true
            if workspace.reserve(floats: count) { kept = Tensor(shape: [count]) }
        }
        let cols: UnsafeMutablePointer<Float>
        if keep, let kept, kept.capacity >= count {
            cols = kept.data
            columnsKept = true
        } else {
            cols = workspace.buffer(count: count)
            columnsKept = false
        }
        Kernels.im2col(input.data, channels: inChannels, batch: b, height: h, width: w,
                       kernel: kernel, stride: stride, padding: padding, into: cols)
        return cols
    }

    /// - input: (inC, B, H, W) -> (outC, B, OH, OW)
    public func forward(_ input: Tensor, training: Bool) -> Tensor {
        precondition(input.shape.count == 4 && input.shape[0] == inChannels,
                     "Conv2d(\(inChannels) -> \(outChannels)) given input \(input.shape), expected (\(inChannels), B, H, W)")
        self.input = input
        let (b, h, w) = (input.shape[1], input.shape[2], input.shape[3])
        let oh = Kernels.outputSize(h, kernel: kernel, stride: stride, padding: padding)
        let ow = Kernels.outputSize(w, kernel: kernel, stride: stride, padding: padding)
        output.ensureShape(outChannels, b, oh, ow)
        let n = b * oh * ow
        let ckk = inChannels * kernel * kernel
        let cols = columns(input, keep: training)
        if hasBias {
            let bias = store.values + biasOffset, out = output.data
            Parallel.forEach(outChannels) { range in
                for c in range { (out + c * n).update(repeating: bias[c], count: n) }
            }
        }
        BLAS.gemm(m: outChannels, n: n, k: ckk, a: store.values + weightOffset, lda: ckk,
                  b: cols, ldb: n, beta: hasBias ? 1 : 0, c: output.data, ldc: n)
        return output
    }

    /// - outputGradient: (outC, B, OH, OW) -> (inC, B, H, W)
    public func backward(_ outputGradient: Tensor) -> Tensor {
        guard let input else { preconditionFailure("Conv2d.backward before forward") }
        let (b, h, w) = (input.shape[1], input.shape[2], input.shape[3])
        let n = outputGradient.count / outChannels
        let ckk = inChannels * kernel * kernel
        let dy = outputGradient.data
        let cols = columnsKept ? kept!.data : columns(input, keep: false)
        // dW (outC, ckk) += dY (outC, n) x cols^T (n, ckk)
        BLAS.gemm(transB: true, m: outChannels, n: ckk, k: n, a: dy, lda: n, b: cols, ldb: n,
                  beta: store.accumulatesGradients ? 1 : 0, c: store.gradients + weightOffset, ldc: ckk)
        if hasBias {
            let db = store.gradients + biasOffset
            let keep: Float = store.accumulatesGradients ? 1 : 0
            Parallel.forEach(outChannels) { range in
                for c in range { db[c] = keep * db[c] + Kernels.sum(dy + c * n, count: n) }
            }
        }
        guard needsInputGradient else { return outputGradient }
        inputGradient.ensureShape(inChannels, b, h, w)
        if isPointwise {
            BLAS.gemm(transA: true, m: ckk, n: n, k: outChannels, a: store.values + weightOffset, lda: ckk,
                      b: dy, ldb: n, c: inputGradient.data, ldc: n)
            return inputGradient
        }
        // dcols (ckk, n) = W^T (ckk, outC) x dY (outC, n), into the workspace (cols is no longer needed)
        let dcols = workspace.buffer(count: ckk * n)
        BLAS.gemm(transA: true, m: ckk, n: n, k: outChannels, a: store.values + weightOffset, lda: ckk,
                  b: dy, ldb: n, c: dcols, ldc: n)
        inputGradient.fill(0)
        Kernels.col2im(dcols, channels: inChannels, batch: b, height: h, width: w,
                       kernel: kernel, stride: stride, padding: padding, into: inputGradient.data)
        return inputGradient
    }
}

/// Scratch memory shared by the layers of one model (convolution columns), and the
/// budget for columns that layers keep from forward to backward.
public final class Workspace {
    private let storage = Tensor(shape: [1])
    /// Bytes of kept columns allowed per model (convolutions beyond it unfold again in backward).
    public var keepBudget: Int
    private var reserved = 0

    public init(keepBudget: Int = 256 << 20) {
        self.keepBudget = keepBudget
    }

    /// Whether `floats` more kept floats fit the budget; reserves them if so.
    public func reserve(floats: Int) -> Bool {
        guard reserved + 4 * floats <= keepBudget else { return false }
        reserved += 4 * floats
        return true
    }

    /// At least `count` floats, valid until the next call by any layer.
    public func buffer(count: Int) -> UnsafeMutablePointer<Float> {
        if storage.capacity < count { storage.reshape([count]) }
        return storage.data
    }

    /// Floats held.
    public var capacity: Int { storage.capacity }
}
