import Tensor

/// Max pooling with a square window on channel-major activations. The gradient goes to the
/// first maximum of each window in scan order, as PyTorch's; explanations' passes make ties in
/// exact arithmetic exact ties (`Conv2d.exactForward`). `padding` pads with minus infinity, as
/// PyTorch's (the ImageNet ResNets' 3x3, stride 2, padding 1 pool).
///
/// - input: (C, B, H, W) -> output (C, B, OH, OW)
public final class MaxPool2d: Layer {
    public let kernel: Int, stride: Int, padding: Int
    public var needsInputGradient = true
    public let output = Tensor(shape: [1, 1, 1, 1])
    private let inputGradient = Tensor(shape: [1, 1, 1, 1])
    /// Index within its input plane of each output's maximum.
    private var argmax = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
    private var argmaxCapacity = 1
    private var inputShape = (c: 0, b: 0, h: 0, w: 0)

    public init(kernel: Int = 2, stride: Int? = nil, padding: Int = 0) {
        precondition(padding >= 0 && 2 * padding <= kernel, "MaxPool2d: padding \(padding) beyond half of \(kernel)")
        self.kernel = kernel
        self.stride = stride ?? kernel
        self.padding = padding
    }

    deinit { argmax.deallocate() }

    public func forward(_ input: Tensor, training: Bool) -> Tensor {
        precondition(input.layout == .plain, "MaxPool2d reads plain (C, B, H, W) rows, given \(input.layout)")
        let (c, b, h, w) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
        inputShape = (c, b, h, w)
        let oh = Kernels.outputSize(h, kernel: kernel, stride: stride, padding: padding)
        let ow = Kernels.outputSize(w, kernel: kernel, stride: stride, padding: padding)
        output.ensureShape(c, b, oh, ow)
        if argmaxCapacity < output.count {
            argmax.deallocate()
            argmax = .allocate(capacity: output.count)
            argmaxCapacity = output.count
        }
        if kernel == 2, stride == 2, padding == 0 {
            forward2x2(input.data, planes: c * b, h: h, w: w, oh: oh, ow: ow)
            return output
        }
        let (kernel, stride, padding, out, argmax) = (kernel, stride, padding, output.data, argmax)
        Parallel.forEach(c * b, grain: 4) { range in
        for plane in range {
            let x = input.data + plane * h * w
            let y = out + plane * oh * ow
            let idx = argmax + plane * oh * ow
            for oy in 0..<oh {
                let y0 = max(oy * stride - padding, 0), y1 = min(oy * stride - padding + kernel, h)
                for ox in 0..<ow {
                    let x0 = max(ox * stride - padding, 0), x1 = min(ox * stride - padding + kernel, w)
                    // The window's first position inside the image, then any larger value or NaN (PyTorch's rule).
                    var at = y0 * w + x0
                    var best = x[at]
                    for iy in y0..<y1 {
                        for ix in x0..<x1 where x[iy * w + ix] > best || x[iy * w + ix].isNaN {
                            best = x[iy * w + ix]
                            at = iy * w + ix
                        }
                    }
                    y[oy * ow + ox] = best
                    idx[oy * ow + ox] = Int32(at)
                }
            }
        }
        }
        return output
    }

    /// 2x2 windows, stride 2: the common case, without inner loops. Ties keep the first
    /// maximum in scan order, as PyTorch does.
    private func forward2x2(_ input: UnsafePointer<Float>, planes: Int, h: Int, w: Int, oh: Int, ow: Int) {
        let output = output.data, argmax = argmax
        Parallel.forEach(planes, grain: 16) { range in
        for plane in range {
            let x = input + plane * h * w
            let y = output + plane * oh * ow
            let idx = argmax + plane * oh * ow
            for oy in 0..<oh {
                let r0 = 2 * oy * w, r1 = r0 + w
                for ox in 0..<ow {
                    let i0 = r0 + 2 * ox, i2 = r1 + 2 * ox
                    var best = x[i0], at = i0
                    if x[i0 + 1] > best { best = x[i0 + 1]; at = i0 + 1 }
                    if x[i2] > best { best = x[i2]; at = i2 }
                    if x[i2 + 1] > best { best = x[i2 + 1]; at = i2 + 1 }
                    y[oy * ow + ox] = best
                    idx[oy * ow + ox] = Int32(at)
                }
            }
        }
        }
    }

    public func backward(_ outputGradient: Tensor) -> Tensor {
        let (c, b, h, w) = inputShape
        inputGradient.ensureShape(c, b, h, w)
        let per = output.count / max(c * b, 1)
        if kernel == 2, stride == 2, padding == 0, h % 2 == 0, w % 2 == 0 {
            // Windows tile the input: write each window's four gradients, no separate zeroing pass.
            let dxAll = inputGradient.data, argmax = argmax
            Parallel.forEach(c * b, grain: 16) { range in
            for plane in range {
                let dx = dxAll + plane * h * w
                let dy = outputGradient.data + plane * per
                let idx = argmax + plane * per
                let ow = w / 2
                for o in 0..<per {
                    let i0 = 2 * (o / ow) * w + 2 * (o % ow)
                    dx[i0] = 0; dx[i0 + 1] = 0; dx[i0 + w] = 0; dx[i0 + w + 1] = 0
                    dx[Int(idx[o])] = dy[o]
                }
            }
            }
            return inputGradient
        }
        inputGradient.fill(0)
        for plane in 0..<(c * b) {
            let dx = inputGradient.data + plane * h * w
            let dy = outputGradient.data + plane * per
            let idx = argmax + plane * per
            for i in 0..<per { dx[Int(idx[i])] += dy[i] }
        }
        return inputGradient
    }
}

/// Global average pooling, from channel-major activations (in either layout) to rows of
/// features; the input gradient goes back in the input's layout.
///
/// - input: (C, B, H, W) -> output (B, C)
public final class GlobalAvgPool: Layer {
    public var needsInputGradient = true
    public let output = Tensor(shape: [1, 1])
    private let inputGradient = Tensor(shape: [1, 1, 1, 1])
    private var inputShape = (c: 0, b: 0, h: 0, w: 0)
    private var inputLayout = ActivationLayout.plain

    public init() {}

    public func forward(_ input: Tensor, training: Bool) -> Tensor {
        let (c, b, h, w) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
        inputShape = (c, b, h, w)
        inputLayout = input.layout
        output.ensureShape(b, c)
        let hw = h * w
        let scale = 1 / Float(hw)
        if input.layout != .plain {  // channel c of sample n at (n, c / k, i, c % k)
            let at = FeatureMapIndex(input)
            for n in 0..<b {
                for ch in 0..<c {
                    var s: Float = 0
                    for i in 0..<hw { s += input.data[at(n, ch, i)] }
                    output.data[n * c + ch] = s * scale
                }
            }
            return output
        }
        for ch in 0..<c {
            for bi in 0..<b {
                output.data[bi * c + ch] = Kernels.sum(input.data + (ch * b + bi) * hw, count: hw) * scale
            }
        }
        return output
    }

    public func backward(_ outputGradient: Tensor) -> Tensor {
        let (c, b, h, w) = inputShape
        inputGradient.ensureShape(c, b, h, w)
        inputGradient.layout = inputLayout
        let hw = h * w
        let scale = 1 / Float(hw)
        if inputLayout != .plain {
            let at = FeatureMapIndex(inputGradient)
            for n in 0..<b {
                for ch in 0..<c {
                    let g = outputGradient.data[n * c + ch] * scale
                    for i in 0..<hw { inputGradient.data[at(n, ch, i)] = g }
                }
            }
            return inputGradient
        }
        for ch in 0..<c {
            for bi in 0..<b {
                let g = outputGradient.data[bi * c + ch] * scale
                (inputGradient.data + (ch * b + bi) * hw).update(repeating: g, count: hw)
            }
        }
        return inputGradient
    }
}

extension MaxPool2d {
    public func outputName(input: String) -> String { "maxpool(\(input))" }
}

extension GlobalAvgPool {
    public func outputName(input: String) -> String { "avgpool(\(input))" }
    public func outputIsFeatureMap(input: Bool) -> Bool { false }
}
