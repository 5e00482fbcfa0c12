import Tensor

extension ExplainMethodSpec {
    /// `--method smoothgrad` (Smilkov et al. 2017; captum `NoiseTunnel` over `Saliency(abs=True)`):
    /// the mean saliency of `--noise-samples` copies with Gaussian noise of `--noise-stdev`,
    /// seeded by `--seed` and the image. No golden values: the noise is this program's.
    public static let smoothgrad = ExplainMethodSpec(maps: { e, x in e.smoothGrad(x) })
}

extension Explainer {
    public func smoothGrad(_ x: ExplainInput) -> [ExplanationMap] {
        let n = x.input.count, samples = x.settings.noiseSamples
        let noisy = Tensor(shape: x.input.shape)
        var sum = [ExplanationMap]()
        for sample in 0..<samples {
            var rng = RandomSource(seed: x.settings.seed, stream: [0x5300, UInt64(sample)])
            for i in 0..<n { noisy.data[i] = x.input.data[i] + Float(x.settings.noiseStdev * rng.nextNormal()) }
            let maps = saliency(gradient(noisy, classes: x.classes), batch: x.classes.count)
            if sum.isEmpty {
                sum = maps
            } else {
                for b in maps.indices { for i in maps[b].values.indices { sum[b].values[i] += maps[b].values[i] } }
            }
        }
        for b in sum.indices { for i in sum[b].values.indices { sum[b].values[i] /= Double(samples) } }
        return sum
    }
}
