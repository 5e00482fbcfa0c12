extension ExplainMethodSpec {
    /// `--method cam` (zhoubolei/CAM): the last feature map weighed by the linear head's class weights.
    public static let cam = ExplainMethodSpec(
        needsFeatureMap: true, needsLinearHead: true, maps: { e, x in e.cam(x.pass, classes: x.classes) },
        golden: [GoldenMaps("cam_raw", tolerance: 1e-4, relative: true) { e,
            x in e.camRaw(x.pass, classes: x.classes) },
                 GoldenMaps("cam", tolerance: 2e-3, relative: false) { e, x in e.cam(x.pass, classes: x.classes) }])
}

extension Explainer {
    /// `cam_raw = sum_k W_fc[c, k] A_k`, (h, w), for each image's class. Needs what `ExplainMethod.cam` checks.
    public func camRaw(_ p: Pass, classes: [Int]) -> [ExplanationMap] {
        guard let weights = model.linearClassifierWeights, target == model.lastFeatureMap else {
            preconditionFailure("CAM needs a linear head and the last feature map (ExplainMethod.problem)")
        }
        let (ch, h, w) = p.featureShape
        return (0..<p.batch).map { b in
            var values = [Double](repeating: 0, count: h * w)
            for k in 0..<ch {
                let wk = Double(weights[classes[b] * ch + k]), a = (k * p.batch + b) * h * w
                for i in 0..<(h * w) { values[i] += wk * Double(p.featureMap[a + i]) }
            }
            return ExplanationMap(height: h, width: w, values: values)
        }
    }

    /// CAM as shown: `cam_raw - min`, divided by its maximum, resized to the input's size.
    public func cam(_ p: Pass, classes: [Int]) -> [ExplanationMap] {
        camRaw(p, classes: classes).map { raw in
            BilinearResize.resize(raw.scaledToUnit, height: model.inputShape.height, width: model.inputShape.width)
        }
    }
}
