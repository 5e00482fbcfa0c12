extension ExplainMethodSpec {
    /// `--method gradcam` (pytorch-grad-cam `GradCAM`).
    public static let gradcam = ExplainMethodSpec(key: "gradcam", tolerance: 2e-3, relative: false,
                                                  needsFeatureMap: true) { e, x in
        e.gradcam(x.pass)
    }
}

extension Explainer {
    /// Grad-CAM: channel weights = mean of d z_c / d A_k.
    public func gradcam(_ p: Pass) -> [ExplanationMap] {
        let (ch, h, w) = p.featureShape
        return (0..<p.batch).map { b in
            combine(p, image: b, channels: ch) { k in
                let base = (k * p.batch + b) * h * w
                var s = 0.0
                for i in 0..<(h * w) { s += Double(p.featureGradient[base + i]) }
                return s / Double(h * w)
            }
        }
    }
}
