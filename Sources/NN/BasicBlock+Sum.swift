import Tensor

/// The sum that ends a residual block and its gradient, in the activations' layouts.
extension BasicBlock {
    /// output = relu(main + shortcut(input)), `main` in a blocked layout, `input` and output plain.
    func blockedSum(_ main: Tensor, _ input: Tensor) {
        let (c, b, plane, k) = (main.shape[0], main.shape[1], main.shape[2] * main.shape[3], main.layout.block)
        let (h, w, ow) = (input.shape[2], input.shape[3], main.shape[3])
        let y = output.data, m = main.data, x = input.data
        let identity = isIdentity, stride = stride, pad = (planes - inChannels) / 2, inChannels = inChannels
        Kernels.forEachTile(channels: c, batch: b, plane: plane, block: k) { run, n, c0, i0, i1 in
            for l in 0..<k {
                let ch = c0 + l, source = ch - pad
                let o = y + (ch * b + n) * plane, mr = m + run * plane * k + l
                if identity {
                    let xr = x + (ch * b + n) * plane
                    for i in i0..<i1 { o[i] = max(mr[i * k] + xr[i], 0) }
                } else if source < 0 || source >= inChannels {
                    for i in i0..<i1 { o[i] = max(mr[i * k], 0) }
                } else {
                    let xr = x + (source * b + n) * h * w
                    for i in i0..<i1 {
                        let (oy, ox) = i.quotientAndRemainder(dividingBy: ow)
                        o[i] = max(mr[i * k] + xr[oy * stride * w + ox * stride], 0)
                    }
                }
            }
        }
    }

    /// The sum's gradient through the final ReLU, plain into `sumGradient` (the shortcut's) and
    /// in `layout` into `innerSumGradient` (the second norm's), in one pass.
    func sumGradients(_ outputGradient: Tensor, layout: ActivationLayout) {
        let (c, b, plane, k) = (output.shape[0], output.shape[1], output.shape[2] * output.shape[3], layout.block)
        innerSumGradient.ensureShape(c, b, output.shape[2], output.shape[3])
        innerSumGradient.layout = layout
        let y = output.data, g = outputGradient.data, ds = sumGradient.data, blocked = innerSumGradient.data
        let rule = reluGradient
        Kernels.forEachTile(channels: c, batch: b, plane: plane, block: k) { run, n, c0, i0, i1 in
            let out = blocked + run * plane * k
            for l in 0..<k {
                let row = ((c0 + l) * b + n) * plane
                rule.backward(output: y + row + i0, g + row + i0, ds + row + i0, count: i1 - i0)
                for i in i0..<i1 { out[i * k + l] = ds[row + i] }
            }
        }
    }

    /// output = relu(main + shortcut(input)) in any layouts: the option-A shortcut (stride,
    /// zero channels), or the identity between different layouts.
    func shortcutSum(_ main: Tensor, _ input: Tensor) {
        let (c, b, oh, ow) = (main.shape[0], main.shape[1], main.shape[2], main.shape[3])
        let w = input.shape[3], stride = stride, pad = (planes - inChannels) / 2, inChannels = inChannels
        let at = FeatureMapIndex(main), from = FeatureMapIndex(input), to = FeatureMapIndex(output)
        let y = output.data, m = main.data, x = input.data
        Parallel.forEach(c) { range in
            for ch in range {
                let source = ch - pad, inside = source >= 0 && source < inChannels
                for n in 0..<b {
                    for oy in 0..<oh {
                        for ox in 0..<ow {
                            let i = oy * ow + ox
                            let s = inside ? x[from(n, source, oy * stride * w + ox * stride)] : 0
                            y[to(n, ch, i)] = max(m[at(n, ch, i)] + s, 0)
                        }
                    }
                }
            }
        }
    }

    /// dx += shortcut's gradient from `sumGradient`, in any layouts (see `shortcutSum`).
    func addShortcutGradient(into dx: Tensor) {
        let (b, w) = (dx.shape[1], dx.shape[3]), (oh, ow) = (sumGradient.shape[2], sumGradient.shape[3])
        let stride = stride, pad = (planes - inChannels) / 2
        let at = FeatureMapIndex(dx), from = FeatureMapIndex(sumGradient)
        let d = dx.data, ds = sumGradient.data
        Parallel.forEach(inChannels) { range in
            for ch in range {
                for n in 0..<b {
                    for oy in 0..<oh {
                        for ox in 0..<ow {
                            d[at(n, ch, oy * stride * w + ox * stride)] += ds[from(n, ch + pad, oy * ow + ox)]
                        }
                    }
                }
            }
        }
    }
}
