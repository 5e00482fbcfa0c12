import Tensor

/// Batch norm on activations in oneDNN's blocked layout (`ActivationLayout.blocked`): the same
/// arithmetic as the plain layout's, channel c being lane c % k of block c / k. Each (sample,
/// block) run is summed in float (as the plain layout's runs are), the samples' sums in double in
/// sample order: the same result on any number of threads.
extension BatchNorm2d {
    /// (C, B, P, block) of the last forward's input.
    private var geometry: (c: Int, b: Int, p: Int, k: Int) {
        guard let input else { preconditionFailure("BatchNorm2d \(name): no forward yet") }
        return (channels, input.shape[1], input.shape[2] * input.shape[3], input.layout.block)
    }

    /// Per channel c, into `scratch`: the sum of x at c and of its squares at C + c (as the
    /// plain layout's moments, shifted by `shift` for accuracy and shifted back).
    func blockedMoments(_ input: Tensor, shift: UnsafePointer<Float>) {
        let g = geometry
        sumPartials(batch: g.b) { partials in
            Kernels.blockedMoments(input.data, channels: g.c, batch: g.b, plane: g.p, block: g.k, shift: shift,
                                   partials: partials)
        }
        let n = Double(g.b * g.p)
        for c in 0..<channels {
            let s = scratch[c], s2 = scratch[channels + c], sh = Double(shift[c])
            scratch[c] = s + sh * n
            scratch[channels + c] = s2 + 2 * sh * s + sh * sh * n
        }
    }

    /// `output = input * scale + shift` per channel, from `mean` and `invStd`.
    func blockedNormalize(_ input: Tensor, gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>) {
        let g = geometry
        factors(count: 2) { f in
            for c in 0..<channels {
                let scale = Float(Double(gamma[c]) * invStd[c])
                f[c] = scale
                f[channels + c] = beta[c] - Float(mean[c]) * scale
            }
            Kernels.blockedAffine(input.data, channels: g.c, batch: g.b, plane: g.p, block: g.k, scale: f,
                                  shift: f + channels, into: output.data)
        }
    }

    /// Per channel c, into `scratch`: sum(dy) at c, sum(dy * xhat) at C + c.
    func blockedGradientSums(_ outputGradient: Tensor) {
        guard let input else { return }
        let g = geometry
        factors(count: 1) { m in
            for c in 0..<channels { m[c] = Float(mean[c]) }
            sumPartials(batch: g.b) { partials in
                Kernels.blockedNormalizedDot(outputGradient.data, input.data, channels: g.c, batch: g.b, plane: g.p,
                                             block: g.k, mean: m, partials: partials)
            }
        }
        for c in 0..<channels { scratch[channels + c] = Double(Float(scratch[channels + c]) * Float(invStd[c])) }
    }

    /// The input gradient into `result` (which may be `outputGradient`), from the sums in
    /// `scratch` over `total` elements per channel.
    func blockedInputGradient(_ outputGradient: Tensor, total: Double, into result: Tensor) {
        guard let input else { return }
        let g = geometry, gamma = store.values + weightOffset, k = channels
        factors(count: 5) { f in
            for c in 0..<channels {
                let inv = Float(invStd[c])
                f[c] = Float(mean[c])
                f[k + c] = inv
                f[2 * k + c] = gamma[c] * inv
                f[3 * k + c] = Float(scratch[c] / total)
                f[4 * k + c] = Float(scratch[k + c] / total)
            }
            Kernels.blockedNormBackward(outputGradient.data, input.data, channels: g.c, batch: g.b, plane: g.p,
                                        block: g.k, factors: f, training: trainingForward, into: result.data)
        }
    }

    /// Runs `fill` on per-sample partial sums (2C a sample), then adds them up per channel into
    /// `scratch[0 ..< 2C]` in sample order.
    private func sumPartials(batch b: Int, _ fill: (UnsafeMutablePointer<Double>) -> Void) {
        let width = 2 * channels
        if blockedPartials.count < b * width { blockedPartials = Array(repeating: 0, count: b * width) }
        blockedPartials.withUnsafeMutableBufferPointer { partials in
            let p = partials.baseAddress!
            fill(p)
            for j in 0..<width {
                var s = 0.0
                for n in 0..<b { s += p[n * width + j] }
                scratch[j] = s
            }
        }
    }

    /// Per-channel factors, `count` rows of C floats.
    private func factors(count: Int, _ body: (UnsafeMutablePointer<Float>) -> Void) {
        if blockedFactors.count < 5 * channels { blockedFactors = Array(repeating: 0, count: 5 * channels) }
        blockedFactors.withUnsafeMutableBufferPointer { body($0.baseAddress!) }
    }
}
