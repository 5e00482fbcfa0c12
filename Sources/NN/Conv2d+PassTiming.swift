import Foundation
import Tensor

/// One of a layer's oneDNN convolutions with inputs to time its passes on
/// (`ConvolutionPrecisionPlan.measure`): forward, backward data and backward weights.
final class ConvolutionPassTimer {
    private let convolution: OneDNNSplitConvolution
    private let x: Tensor, dx: Tensor, y: Tensor, dy: Tensor, dw: Tensor, workspace: Tensor
    private let weights: UnsafePointer<Float>, bias: UnsafePointer<Float>?
    /// The least seconds of each pass over the rounds so far.
    private(set) var best = [Double](repeating: .infinity, count: 3)

    /// `layer`'s convolution on an input of `shape` (inC, B, H, W), its `bfloat16` passes
    /// reading bfloat16, Winograd's algorithm where `winograd` allows, in the activation layouts
    /// its last forward had (training's: blocked ones convert to bfloat16 through oneDNN's
    /// reorder, plain ones through the program's conversion); nil where oneDNN cannot run it.
    /// Made once: its first round runs unmeasured.
    init?(_ layer: Conv2d, shape: [Int], bfloat16: ConvolutionPasses, winograd: Bool) {
        let (b, h, w) = (shape[1], shape[2], shape[3])
        var reason = ""
        guard layer.backend == .onednn,
              let made = layer.makeOneDNN(batch: b, height: h, width: w, bfloat16: bfloat16, winograd: winograd,
                                          inputLayout: layer.inputLayout, outputLayout: layer.oneDNNOutputLayout,
                                          error: &reason) else { return nil }
        convolution = made
        let oh = Kernels.outputSize(h, kernel: layer.kernel, stride: layer.stride, padding: layer.padding)
        let ow = Kernels.outputSize(w, kernel: layer.kernel, stride: layer.stride, padding: layer.padding)
        x = Tensor(shape: [layer.inChannels * b * h * w])
        dx = Tensor(shape: [layer.inChannels * b * h * w])
        y = Tensor(shape: [layer.outChannels * b * oh * ow])
        dy = Tensor(shape: [layer.outChannels * b * oh * ow])
        dw = Tensor(shape: [layer.outChannels * layer.inG * layer.kernel * layer.kernel])
        workspace = Tensor(shape: [max(1, made.workspaceFloats)])
        var state: UInt32 = 12345  // values in [-1, 1): what the data's magnitudes look like
        for t in [x, dy] {
            for i in 0..<t.count {
                state = state &* 1_664_525 &+ 1_013_904_223
                t[i] = Float(state >> 8) / Float(1 << 23) - 1
            }
        }
        weights = UnsafePointer(layer.store.values + layer.weightOffset)
        bias = layer.hasBias ? UnsafePointer(layer.store.values + layer.biasOffset) : nil
        guard round(measured: false) else { return nil }
    }

    /// `repeats` rounds of each of `timers` (the nil ones left out), the timers' rounds
    /// alternating so that the machine's drift touches them alike.
    static func alternate(_ timers: [ConvolutionPassTimer?], repeats: Int) {
        let present = timers.compactMap { $0 }
        for _ in 0..<repeats {
            for timer in present { _ = timer.round() }
        }
    }

    /// Runs each pass once (backward data as a backward with the input gradient less one
    /// without) and keeps the least times; false when oneDNN failed.
    func round(measured: Bool = true) -> Bool {
        let t0 = DispatchTime.now().uptimeNanoseconds
        var ok = convolution.forward(x: x.data, weights: weights, bias: bias, y: y.data, workspace: workspace.data)
        let t1 = DispatchTime.now().uptimeNanoseconds
        ok = ok && convolution.backward(x: x.data, dy: dy.data, weights: weights, dw: dw.data, accumulate: false,
                                        dx: nil, workspace: workspace.data)
        let t2 = DispatchTime.now().uptimeNanoseconds
        ok = ok && convolution.backward(x: x.data, dy: dy.data, weights: weights, dw: dw.data, accumulate: false,
                                        dx: dx.data, workspace: workspace.data)
        let t3 = DispatchTime.now().uptimeNanoseconds
        guard ok else { return false }
        if measured {
            let (f, wt, both) = (Double(t1 - t0) * 1e-9, Double(t2 - t1) * 1e-9, Double(t3 - t2) * 1e-9)
            best = [min(best[0], f), min(best[1], max(0, both - wt)), min(best[2], wt)]
        }
        return true
    }
}
