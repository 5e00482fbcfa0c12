/// One convolution whose batch is split over a rank's threads: each thread runs oneDNN's
/// primitives, planned for one thread, on its run of samples, as a rank with one thread runs
/// its share of the global batch. One set of primitives running on all the threads instead
/// scales poorly on some machines (AVX2, oneDNN 2.6: resnet32's residual blocks 1.3x slower on
/// two threads than on two ranks with half the batch each; see docs/benchmarks-log.md).
///
/// The input and output of each part are runs of the activations' samples; the weights'
/// gradient is the first part's, plus the others' (each written into the workspace first), in
/// part order: the sum a rank's all-reduce makes, in one order, so that one run repeats itself.
public final class OneDNNSplitConvolution {
    /// A part: samples `start ..< start + count`, its primitives and where its workspace starts.
    private struct Part {
        let start: Int, count: Int
        let convolution: OneDNNConvolution
        let workspaceOffset: Int
    }

    private let parts: [Part]
    private let weightCount: Int
    /// Floats from one sample to the next in the input and the output: a plane (H * W) in the
    /// plain layout, a whole sample (C * H * W) in a blocked one.
    private let inputStep: Int, outputStep: Int
    /// Where the weights' gradients of parts 1... are kept before they are added to part 0's.
    private let partialsOffset: Int
    /// Each part's outcome of the last call.
    private let succeeded: UnsafeMutablePointer<Bool>
    /// Floats of workspace each call needs.
    public let workspaceFloats: Int
    /// Number of parts (1: one set of primitives on all threads).
    public var partCount: Int { parts.count }

    /// `parts` runs of the batch of nearly equal size (1: not split); nil, with the reason in
    /// `error`, when oneDNN cannot run a part.
    public init?(batch: Int, parts requested: Int, inChannels: Int, outChannels: Int, height: Int, width: Int,
                 kernel: Int,
                 stride: Int, padding: Int, groups: Int = 1, bias: Bool, bfloat16: ConvolutionPasses,
                 winograd: Bool = true,
                 inputLayout: ActivationLayout = .plain, outputLayout: ActivationLayout = .plain,
                 error: inout String) {
        let count = max(1, min(requested, batch))
        var made: [Part] = []
        var offset = 0
        for t in 0..<count {
            let start = batch * t / count, end = batch * (t + 1) / count
            guard let convolution = OneDNNConvolution(batch: end - start, inChannels: inChannels,
                                                      outChannels: outChannels,
                                                      height: height, width: width, kernel: kernel, stride: stride,
                                                      padding: padding, groups: groups, bias: bias,
                                                      bfloat16: bfloat16,
                                                      batchStride: batch,
                                                      singleThreaded: count > 1, winograd: winograd,
                                                      inputLayout: inputLayout, outputLayout: outputLayout,
                                                      error: &error)
            else { return nil }
            made.append(Part(start: start, count: end - start, convolution: convolution, workspaceOffset: offset))
            offset += (convolution.workspaceFloats + 15) / 16 * 16
        }
        parts = made
        weightCount = outChannels * (inChannels / groups) * kernel * kernel
        let oh = Kernels.outputSize(height, kernel: kernel, stride: stride, padding: padding)
        let outputPlane = oh * Kernels.outputSize(width, kernel: kernel, stride: stride, padding: padding)
        inputStep = height * width * (inputLayout == .plain ? 1 : inChannels)
        outputStep = outputPlane * (outputLayout == .plain ? 1 : outChannels)
        partialsOffset = offset
        workspaceFloats = offset + (count - 1) * weightCount
        succeeded = .allocate(capacity: count)
        succeeded.initialize(repeating: true, count: count)
    }

    deinit { succeeded.deallocate() }

    /// oneDNN's implementations (of the first part): forward, backward data, backward weights.
    public var implementations: [String] { parts[0].convolution.implementations }

    /// See `OneDNNConvolution.programConversions` (summed over the parts).
    public var programConversions: Int { parts.reduce(0) { $0 + $1.convolution.programConversions } }

    /// See `OneDNNConvolution.forgetInput`.
    public func forgetInput() { for part in parts { part.convolution.forgetInput() } }

    /// - x: (inC, B, H, W), weights: (outC, inC / groups, k, k), bias: (outC) or nil -> y: (outC, B, OH, OW).
    /// Returns false when oneDNN failed in some part.
    public func forward(x: UnsafePointer<Float>, weights: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                        y: UnsafeMutablePointer<Float>, workspace: UnsafeMutablePointer<Float>) -> Bool {
        if parts.count == 1 { return parts[0].convolution.forward(x: x, weights: weights, bias: bias, y: y,
                                                                  workspace: workspace) }
        Parallel.eachPart(parts.count) { t in
            let part = parts[t]
            succeeded[t] = part.convolution.forward(x: x + part.start * inputStep, weights: weights, bias: bias,
                                                    y: y + part.start * outputStep,
                                                    workspace: workspace + part.workspaceOffset)
        }
        return allSucceeded
    }

    /// dW (outC, inC / groups, k, k) = dL/dW (overwritten, or added to with `accumulate`), and dx (inC, B, H, W)
    /// = dL/dx (overwritten) unless it is nil. Returns false when oneDNN failed in some part.
    public func backward(x: UnsafePointer<Float>, dy: UnsafePointer<Float>, weights: UnsafePointer<Float>,
                         dw: UnsafeMutablePointer<Float>, accumulate: Bool, dx: UnsafeMutablePointer<Float>?,
                         workspace: UnsafeMutablePointer<Float>) -> Bool {
        if parts.count == 1 {
            return parts[0].convolution.backward(x: x, dy: dy, weights: weights, dw: dw, accumulate: accumulate, dx: dx,
                                                 workspace: workspace)
        }
        let partials = workspace + partialsOffset
        Parallel.eachPart(parts.count) { t in
            let part = parts[t]
            succeeded[t] = part.convolution.backward(
                x: x + part.start * inputStep, dy: dy + part.start * outputStep, weights: weights,
                dw: t == 0 ? dw : partials + (t - 1) * weightCount, accumulate: t == 0 && accumulate,
                dx: dx.map { $0 + part.start * inputStep }, workspace: workspace + part.workspaceOffset)
        }
        for t in 1..<parts.count { BLAS.axpy(count: weightCount, alpha: 1, x: partials + (t - 1) * weightCount, y: dw) }
        return allSucceeded
    }

    private var allSucceeded: Bool { (0..<parts.count).allSatisfy { succeeded[$0] } }
}
