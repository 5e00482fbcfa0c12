import Tensor

extension ExplainMethodSpec {
    /// `--method occlusion` (Zeiler and Fergus 2014; captum `Occlusion` with baseline 0): a
    /// `--window` square slid by `--stride` over every channel; each pixel gets the mean drop of
    /// the class logit over the windows that cover it (0 where none does).
    public static let occlusion = ExplainMethodSpec(key: "occlusion", tolerance: 1e-4, relative: true,
                                                    signed: true) { e, x in
        e.occlusion(x)
    }
}

extension Explainer {
    public func occlusion(_ x: ExplainInput) -> [ExplanationMap] {
        let s = model.inputShape, hw = s.height * s.width, batch = x.classes.count, k = model.classes
        let window = x.settings.window, stride = x.settings.stride
        let rows = s.height >= window ? (s.height - window) / stride + 1 : 0
        let columns = s.width >= window ? (s.width - window) / stride + 1 : 0
        let original = x.pass.logits
        var sums = [Double](repeating: 0, count: batch * hw), counts = [Int](repeating: 0, count: hw)
        let occluded = Tensor(shape: x.input.shape)
        for r in 0..<rows {
            for c in 0..<columns {
                occluded.data.update(from: x.input.data, count: x.input.count)
                for b in 0..<batch {
                    for ch in 0..<s.channels {
                        let base = model.inputLayout == .rows ? b * s.count + ch * hw : (ch * batch + b) * hw
                        for y in (r * stride)..<(r * stride + window) {
                            for xx in (c * stride)..<(c * stride
                                + window) { occluded.data[base + y * s.width + xx] = 0 }
                        }
                    }
                }
                let logits = model.forward(occluded, training: false).logits
                for y in (r * stride)..<(r * stride + window) {
                    for xx in (c * stride)..<(c * stride + window) {
                        counts[y * s.width + xx] += 1
                        for b in 0..<batch {
                            sums[b * hw + y * s.width + xx] += Double(original[b * k + x.classes[b]])
                                - Double(logits.data[b * k + x.classes[b]])
                        }
                    }
                }
            }
        }
        return (0..<batch).map { b in
            ExplanationMap(height: s.height, width: s.width,
                           values: (0..<hw).map { counts[$0] > 0 ? sums[b * hw + $0] / Double(counts[$0]) : 0 })
        }
    }
}
