import Tensor

extension Conv2d {
    /// The forward convolution with each output the double-precision sum of its products in one
    /// order (bias, then channel, row, column of the kernel), rounded once: equal input patches,
    /// such as a uniform background, give bit-equal outputs, so ties that are ties in exact
    /// arithmetic stay ties for the max pooling that follows (PyTorch's first-maximum rule). The
    /// fast paths (sgemm blocking, oneDNN's vectorisation and Winograd) leave such outputs a few
    /// ulps apart, which one at random.
    func forwardExact(_ input: Tensor, _ g: (b: Int, h: Int, w: Int, oh: Int, ow: Int, p: Int)) {
        let x = input.data, weights = store.values + weightOffset, out = output.data
        let bias: UnsafeMutablePointer<Float>? = hasBias ? store.values + biasOffset : nil
        let (inC, k, stride, padding, n) = (inG, kernel, self.stride, self.padding, g.b * g.p)
        let outG = outG
        Parallel.forEach(outChannels) { range in
            let sums = UnsafeMutablePointer<Double>.allocate(capacity: n)
            defer { sums.deallocate() }
            for o in range {
                sums.update(repeating: bias.map { Double($0[o]) } ?? 0, count: n)
                for c in 0..<inC {
                    let channel = (o / outG) * inC + c  // the input channel of group o / outG
                    for ky in 0..<k {
                        for kx in 0..<k {
                            let wv = Double(weights[((o * inC + c) * k + ky) * k + kx])
                            // The columns whose input column ox * stride - padding + kx lies inside the image.
                            let first = kx >= padding ? 0 : (padding - kx + stride - 1) / stride
                            let lastInside = g.w - 1 + padding - kx
                            let end = lastInside < 0 ? 0 : min(g.ow, lastInside / stride + 1)
                            guard first < end else { continue }
                            for b in 0..<g.b {
                                let plane = x + (channel * g.b + b) * g.h * g.w
                                for oy in 0..<g.oh {
                                    let iy = oy * stride - padding + ky
                                    guard iy >= 0 && iy < g.h else { continue }
                                    let row = sums + (b * g.oh + oy) * g.ow
                                    let source = plane + iy * g.w + kx - padding  // column ox reads source[ox * stride]
                                    if stride == 1 {
                                        for ox in first..<end { row[ox] += wv * Double(source[ox]) }
                                    } else {
                                        for ox in first..<end { row[ox] += wv * Double(source[ox * stride]) }
                                    }
                                }
                            }
                        }
                    }
                }
                for i in 0..<n { out[o * n + i] = Float(sums[i]) }
            }
        }
    }
}
