extension ExplainMethodSpec {
    /// `--method saliency` (captum `Saliency(abs=True)`): the input gradient's largest magnitude over channels.
    public static let saliency = ExplainMethodSpec(maps: { e, p, _ in e.saliency(p) },
                                                   golden: [GoldenMaps("saliency", tolerance: 1e-4, relative: true) { e, p, _ in e.saliency(p) }])
}

extension Explainer {
    /// `S[i, j] = max over channels of |d z_c / d x[:, i, j]|`.
    public func saliency(_ p: Pass) -> [ExplanationMap] {
        let s = model.inputShape, hw = s.height * s.width
        return (0..<p.batch).map { b in
            var values = [Double](repeating: 0, count: hw)
            for c in 0..<s.channels {
                let base = model.inputLayout == .rows ? b * s.count + c * hw : (c * p.batch + b) * hw
                for i in 0..<hw { values[i] = max(values[i], Double(abs(p.inputGradient[base + i]))) }
            }
            return ExplanationMap(height: s.height, width: s.width, values: values)
        }
    }
}
