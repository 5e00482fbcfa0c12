extension ExplainMethodSpec {
    /// `--method guided-gradcam` (Selvaraju et al. 2017; captum `GuidedGradCam`): guided
    /// backpropagation times the layer's Grad-CAM (`relu(sum_k mean(G_k) A_k)`, not normalised)
    /// brought to the input's size by nearest-neighbour interpolation.
    public static let guidedGradcam = ExplainMethodSpec(key: "guided_gradcam", tolerance: 1e-4, relative: true,
                                                        needsFeatureMap: true,
                                                        signed: true) { e, x in
        e.guidedGradcam(x)
    }
}

extension Explainer {
    public func guidedGradcam(_ x: ExplainInput) -> [ExplanationMap] {
        let p = x.pass, (ch, h, w) = p.featureShape
        let s = model.inputShape
        return zip(guidedBackprop(x), 0..<p.batch).map { guided, b in
            var cam = [Double](repeating: 0, count: h * w)
            for k in 0..<ch {
                let base = (k * p.batch + b) * h * w
                var mean = 0.0
                for i in 0..<(h * w) { mean += Double(p.featureGradient[base + i]) }
                mean /= Double(h * w)
                for i in 0..<(h * w) { cam[i] += mean * Double(p.featureMap[base + i]) }
            }
            var out = guided
            for y in 0..<s.height {
                let sy = min(y * h / s.height, h - 1)  // PyTorch's nearest: floor(dst * in / out)
                for xx in 0..<s.width {
                    let sx = min(xx * w / s.width, w - 1)
                    out.values[y * s.width + xx] *= max(cam[sy * w + sx], 0)
                }
            }
            return out
        }
    }
}
