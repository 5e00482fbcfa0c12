import Tensor

/// The sum that ends a residual block and its gradient, in the activations' layouts.
extension BasicBlock {
    /// output = relu(main + shortcut(input)) in any layouts: the option-A shortcut (stride,
    /// zero channels), or the identity between different layouts (a plain input to a block whose
    /// inner layout is blocked: not on a model's path, whose stem already writes blocked rows).
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
