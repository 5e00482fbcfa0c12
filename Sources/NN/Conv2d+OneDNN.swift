import Tensor

/// A convolution's oneDNN primitives: made per input shape and layouts, kept for the last few.
extension Conv2d {
    /// oneDNN's primitives for the geometry `g`, input and output in the layouts given, created
    /// on first use (nil on the im2col path), with the batch split over the rank's threads
    /// (`ConvolutionSplit`). A shape oneDNN cannot take moves this layer to im2col for good.
    func oneDNN(_ g: (b: Int, h: Int, w: Int, oh: Int, ow: Int, p: Int),
                _ layout: ActivationLayout, _ outputLayout: ActivationLayout) -> OneDNNSplitConvolution? {
        guard backend == .onednn else { return nil }
        let parts = ConvolutionSplit.parts(batch: g.b, threads: Parallel.threads,
                                           winograd: winograds(bfloat16Passes))
        // not an array: no allocation per call
        let shape = SIMD8(g.b, g.h, g.w, parts, layout.block, outputLayout.block, 0, 0)
        if let i = primitives.firstIndex(where: { $0.shape == shape }) {
            if i > 0 { primitives.insert(primitives.remove(at: i), at: 0) }
            return primitives[0].convolution
        }
        var reason = ""
        guard let made = makeOneDNN(batch: g.b, height: g.h, width: g.w, bfloat16: bfloat16Passes,
                                    inputLayout: layout, outputLayout: outputLayout, error: &reason)
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
    /// where `winograds` says and `winograd` allows; activations in the layouts given.
    func makeOneDNN(batch: Int, height: Int, width: Int, bfloat16: ConvolutionPasses, winograd: Bool = true,
                    inputLayout: ActivationLayout = .plain, outputLayout: ActivationLayout = .plain,
                    error: inout String) -> OneDNNSplitConvolution? {
        let parts = ConvolutionSplit.parts(batch: batch, threads: Parallel.threads,
                                           winograd: winograd && winograds(bfloat16))
        return OneDNNSplitConvolution(batch: batch, parts: parts, inChannels: inChannels, outChannels: outChannels,
                                      height: height, width: width, kernel: kernel, stride: stride,
                                      padding: padding, groups: groups, bias: hasBias, bfloat16: bfloat16,
                                      winograd: winograd, inputLayout: inputLayout, outputLayout: outputLayout,
                                      error: &error)
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
