extension ExplainMethodSpec {
    /// `--method gradcam++` (pytorch-grad-cam `GradCAMPlusPlus`).
    public static let gradcamPlusPlus = ExplainMethodSpec(key: "gradcam_plus_plus", tolerance: 2e-3, relative: false,
                                                          needsFeatureMap: true) { e, x in
        e.gradcamPlusPlus(x.pass)
    }
}

extension Explainer {
    /// Grad-CAM++: with G = d z_c / d A and S_k the sum of A_k, `a = G^2 / (2 G^2 + S_k G^3 + 1e-6)`
    /// (0 where G = 0), weights = sum relu(G) a.
    public func gradcamPlusPlus(_ p: Pass) -> [ExplanationMap] {
        let (ch, h, w) = p.featureShape
        return (0..<p.batch).map { b in
            combine(p, image: b, channels: ch) { k in
                let base = (k * p.batch + b) * h * w
                var sum = 0.0
                for i in 0..<(h * w) { sum += Double(p.featureMap[base + i]) }
                var alpha = 0.0
                for i in 0..<(h * w) {
                    let g = Double(p.featureGradient[base + i])
                    guard g != 0 else { continue }
                    let g2 = g * g
                    alpha += max(g, 0) * g2 / (2 * g2 + sum * g2 * g + 1e-6)
                }
                return alpha
            }
        }
    }
}
