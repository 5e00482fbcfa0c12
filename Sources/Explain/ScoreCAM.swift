import Foundation
import Tensor

extension ExplainMethodSpec {
    /// `--method scorecam` (Wang et al. 2020; pytorch-grad-cam `ScoreCAM`): each channel of the
    /// feature map, upsampled (bilinear, corners aligned) and scaled to [0, 1], masks the input;
    /// the softmax over channels of the masked inputs' class logits weighs the channels.
    public static let scorecam = ExplainMethodSpec(key: "scorecam", tolerance: 2e-3, relative: false,
                                                   needsFeatureMap: true) { e, x in
        e.scoreCAM(x)
    }
}

extension Explainer {
    public func scoreCAM(_ x: ExplainInput) -> [ExplanationMap] {
        let p = x.pass, (ch, h, w) = p.featureShape
        let s = model.inputShape, hw = s.height * s.width, batch = x.classes.count, k = model.classes
        let chunk = 16
        return (0..<batch).map { b in
            // The image alone, in the model's layout for a batch of `chunk`.
            var image = [Float](repeating: 0, count: s.count)
            for c in 0..<s.channels {
                let base = model.inputLayout == .rows ? b * s.count + c * hw : (c * batch + b) * hw
                for i in 0..<hw { image[c * hw + i] = x.input.data[base + i] }
            }
            var scores = [Double](repeating: 0, count: ch)
            for start in stride(from: 0, to: ch, by: chunk) {
                let n = min(chunk, ch - start)
                let masked = Tensor(shape: model.inputLayout == .rows ? [n, s.count] : [s.channels, n, s.height,
                                                                                        s.width])
                for j in 0..<n {
                    let mask = Self.alignedUpsample(p.featureMap, offset: ((start + j) * batch + b) * h * w, height: h,
                                                    width: w,
                                                    toHeight: s.height, toWidth: s.width)
                    let lo = mask.min() ?? 0, hi = mask.max() ?? 0
                    for c in 0..<s.channels {
                        let base = model.inputLayout == .rows ? j * s.count + c * hw : (c * n + j) * hw
                        for i in 0..<hw { masked.data[base + i] = image[c * hw + i]
                            * Float((mask[i] - lo) / (hi - lo + 1e-8)) }
                    }
                }
                let logits = model.forward(masked, training: false).logits
                for j in 0..<n { scores[start + j] = Double(logits.data[j * k + x.classes[b]]) }
            }
            let weights = scores.withUnsafeBufferPointer { Array($0) }.softmax
            return combine(p, image: b, channels: ch) { weights[$0] }
        }
    }

    /// One (h, w) plane of `values` at `offset` resized to (H, W) bilinearly with aligned
    /// corners (PyTorch's `UpsamplingBilinear2d`).
    static func alignedUpsample(_ values: [Float], offset: Int, height h: Int, width w: Int, toHeight oh: Int,
                                toWidth ow: Int) -> [Double] {
        var out = [Double](repeating: 0, count: oh * ow)
        let sy = oh > 1 ? Double(h - 1) / Double(oh - 1) : 0, sx = ow > 1 ? Double(w - 1) / Double(ow - 1) : 0
        for y in 0..<oh {
            let fy = Double(y) * sy, y0 = min(Int(fy), h - 1), y1 = min(y0 + 1, h - 1), dy = fy - Double(y0)
            for x in 0..<ow {
                let fx = Double(x) * sx, x0 = min(Int(fx), w - 1), x1 = min(x0 + 1, w - 1), dx = fx - Double(x0)
                let v00 = Double(values[offset + y0 * w + x0]), v01 = Double(values[offset + y0 * w + x1])
                let v10 = Double(values[offset + y1 * w + x0]), v11 = Double(values[offset + y1 * w + x1])
                out[y * ow + x] = (1 - dy) * ((1 - dx) * v00 + dx * v01) + dy * ((1 - dx) * v10 + dx * v11)
            }
        }
        return out
    }
}

extension Array where Element == Double {
    /// The softmax of the values (through `Softmax.normalize`).
    var softmax: [Double] {
        var p = self
        _ = p.withUnsafeMutableBufferPointer { Softmax.normalize($0.baseAddress!, count: $0.count) }
        return p
    }
}
