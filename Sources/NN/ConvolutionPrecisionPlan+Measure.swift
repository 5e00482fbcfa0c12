import Foundation
import Tensor

extension ConvolutionPrecisionPlan {
    /// What `measure` found: the plan, and the convolutions' seconds per step in float32 and as
    /// planned (the sum over the layers of their passes' times).
    public struct Measurement: Sendable {
        public var plan: ConvolutionPrecisionPlan
        public var float32Seconds: Double
        public var plannedSeconds: Double
        /// Convolutions timed (on oneDNN), and distinct shapes among them.
        public var convolutions: Int, shapes: Int
    }

    /// A pass runs bfloat16 only where that is at least this much faster than float32: below it
    /// the difference is within the timing's noise.
    public static let margin = 0.95

    /// Times each convolution of `model` on oneDNN at its input for a batch of `batch` (one
    /// forward in evaluation mode finds them; running statistics are left alone), in float32
    /// and in bfloat16, pass by pass, once per distinct shape, and takes bfloat16 for a pass
    /// only where it is faster (`margin`). A layer whose float32 runs Winograd's algorithm
    /// (which oneDNN has in float32 only, for the three passes together) keeps it unless the
    /// best mix of direct passes beats it. This process alone: a job measures on one rank and
    /// shares the plan.
    public static func measure(_ model: Model, batch: Int, repeats: Int = 5) -> Measurement {
        let shape = model.inputShape
        _ = model.forward(model.inputLayout == .rows ? Tensor(shape: [batch, shape.count])
                          : Tensor(shape: [shape.channels, batch, shape.height, shape.width]), training: false)
        for c in model.convolutions { c.forgetOneDNNInput() }
        var entries: [Entry] = [], float32 = 0.0, planned = 0.0, timed = 0
        var byShape: [[Int]: (passes: ConvolutionPasses, float32: Double, planned: Double)] = [:]
        for c in model.convolutions {
            guard c.backend == .onednn, let input = c.lastInputShape else { continue }
            timed += 1
            let key = input + [c.outChannels, c.kernel, c.stride, c.padding, c.groups, c.hasBias ? 1 : 0]
            if byShape[key] == nil { byShape[key] = choose(c, input: input, repeats: repeats) }
            let choice = byShape[key]!
            entries.append(Entry(name: c.name, passes: choice.passes))
            float32 += choice.float32
            planned += choice.planned
        }
        return Measurement(plan: ConvolutionPrecisionPlan(entries: entries), float32Seconds: float32,
                           plannedSeconds: planned, convolutions: timed, shapes: byShape.count)
    }

    /// One layer's passes: bfloat16 where faster, and the seconds of float32 and of that choice.
    static func choose(_ c: Conv2d, input: [Int], repeats: Int) -> (ConvolutionPasses, Double, Double) {
        guard let float32 = ConvolutionPassTimer(c, shape: input, bfloat16: [], winograd: true) else {
            return ([], 0, 0)
        }
        let bfloat16 = ConvolutionPassTimer(c, shape: input, bfloat16: .all, winograd: false)
        // The float32 passes of a mix run direct: where float32 is Winograd, time direct too.
        let directTimer = c.winograds([]) ? ConvolutionPassTimer(c, shape: input, bfloat16: [], winograd: false) : nil
        ConvolutionPassTimer.alternate([float32, bfloat16, directTimer], repeats: repeats)
        let fp32 = float32.best
        guard let bf16 = bfloat16?.best, bf16.allSatisfy(\.isFinite) else {
            return ([], fp32.reduce(0, +), fp32.reduce(0, +))  // no bfloat16 kernels here
        }
        let direct = directTimer?.best ?? fp32
        var passes: ConvolutionPasses = [], mixed = 0.0
        for (i, pass) in ConvolutionPasses.ordered.enumerated() {
            if bf16[i] < margin * direct[i] {
                passes.insert(pass)
                mixed += bf16[i]
            } else {
                mixed += direct[i]
            }
        }
        let whole = fp32.reduce(0, +)
        if passes.isEmpty || mixed >= margin * whole { return ([], whole, whole) }
        return (passes, whole, mixed)
    }
}

extension Conv2d {
    /// GFLOP/s of each pass (forward, backward data, backward weights) of this layer's oneDNN
    /// convolution on an input of `shape` (inC, B, H, W), direct, in float32 and in bfloat16
    /// (nil where oneDNN has no bfloat16 kernels), rounds alternating (`doctor`); nil off oneDNN.
    public func passRates(shape: [Int], repeats: Int = 5) -> (float32: [Double], bfloat16: [Double]?)? {
        guard let float32 = ConvolutionPassTimer(self, shape: shape, bfloat16: [], winograd: false) else { return nil }
        let bfloat16 = ConvolutionPassTimer(self, shape: shape, bfloat16: .all, winograd: false)
        ConvolutionPassTimer.alternate([float32, bfloat16], repeats: repeats)
        let oh = Kernels.outputSize(shape[2], kernel: kernel, stride: stride, padding: padding)
        let ow = Kernels.outputSize(shape[3], kernel: kernel, stride: stride, padding: padding)
        let flops = 2.0 * Double(outChannels * shape[1] * oh * ow * inG * kernel * kernel)
        let rates = { (seconds: [Double]) in seconds.map { $0 > 0 && $0.isFinite ? flops / $0 / 1e9 : 0 } }
        return (rates(float32.best), bfloat16.map { rates($0.best) })
    }
}
