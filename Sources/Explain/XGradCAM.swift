extension ExplainMethodSpec {
    /// `--method xgradcam` (Fu et al. 2020; pytorch-grad-cam `XGradCAM`).
    public static let xgradcam = ExplainMethodSpec(key: "xgradcam", tolerance: 2e-3, relative: false,
                                                   needsFeatureMap: true) { e, x in
        e.xgradcam(x.pass)
    }
}

extension Explainer {
    /// XGrad-CAM: channel weights `sum_i G_k A_k / (sum_i A_k + 1e-7)`, then as Grad-CAM.
    public func xgradcam(_ p: Pass) -> [ExplanationMap] {
        let (ch, h, w) = p.featureShape
        return (0..<p.batch).map { b in
            combine(p, image: b, channels: ch) { k in
                let base = (k * p.batch + b) * h * w
                var sum = 0.0, weighted = 0.0
                for i in 0..<(h * w) {
                    sum += Double(p.featureMap[base + i])
                    weighted += Double(p.featureGradient[base + i]) * Double(p.featureMap[base + i])
                }
                return weighted / (sum + 1e-7)
            }
        }
    }
}
