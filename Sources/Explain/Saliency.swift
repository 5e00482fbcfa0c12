extension ExplainMethodSpec {
    /// `--method saliency` (captum `Saliency(abs=True)`): the input gradient's largest magnitude over channels.
    public static let saliency = ExplainMethodSpec(key: "saliency", tolerance: 1e-4, relative: true) { e,
        x in e.saliency(x.pass) }
}

extension Explainer {
    /// `S[i, j] = max over channels of |d z_c / d x[:, i, j]|`.
    public func saliency(_ p: Pass) -> [ExplanationMap] { saliency(p.inputGradient, batch: p.batch) }

    /// The saliency of an input gradient (the model's input layout) of `batch` images.
    func saliency(_ gradient: [Float], batch: Int) -> [ExplanationMap] {
        let s = model.inputShape, hw = s.height * s.width
        return (0..<batch).map { b in
            var values = [Double](repeating: 0, count: hw)
            for c in 0..<s.channels {
                let base = model.inputLayout == .rows ? b * s.count + c * hw : (c * batch + b) * hw
                for i in 0..<hw { values[i] = max(values[i], Double(abs(gradient[base + i]))) }
            }
            return ExplanationMap(height: s.height, width: s.width, values: values)
        }
    }
}
