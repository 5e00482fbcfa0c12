import NN
import Tensor

/// Why an explanation cannot be made.
public struct ExplainError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// An explanation map of one image: `height` x `width` values, row-major.
public struct ExplanationMap: Sendable, Equatable {
    public var height: Int
    public var width: Int
    public var values: [Double]

    public init(height: Int, width: Int, values: [Double]) {
        self.height = height
        self.width = width
        self.values = values
    }

    /// The map minus its minimum, divided by the result's maximum (all zero if it is flat).
    public var scaledToUnit: ExplanationMap {
        var out = self
        let lo = values.min() ?? 0, hi = values.max() ?? 0
        for i in out.values.indices { out.values[i] = hi > lo ? (values[i] - lo) / (hi - lo) : 0 }
        return out
    }
}

/// Gradient-based explanations of a model's decisions (docs/explain.md): saliency, CAM,
/// Grad-CAM and Grad-CAM++ as captum and pytorch-grad-cam compute them. One forward pass in
/// evaluation mode and one backward pass from each image's target logit give the logits, the
/// target layer's feature map `A`, its gradient and the input's gradient; the maps follow.
public final class Explainer {
    public let model: Model
    /// Index in `model.features` of the layer whose output is `A`, nil without one (mlp).
    public let target: Int?

    /// - layer: a name of `model.tapNames` (nil: the last feature map before the average pool).
    public init(model: Model, layer: String? = nil) throws {
        self.model = model
        if let layer {
            guard let index = model.tapIndex(of: layer) else {
                throw ExplainError("--layer \(layer): \(model.architecture.rawValue) has no such layer; it has \(model.tapNames.joined(separator: ", "))")
            }
            guard model.tapIsFeatureMap[index] else {
                throw ExplainError("--layer \(layer): not a feature map (no spatial extent); the last one is \(model.lastFeatureMap.map { model.tapNames[$0] } ?? "none")")
            }
            target = index
        } else {
            target = model.lastFeatureMap
        }
    }

    /// What one forward and backward pass gives, for a batch of B images.
    public struct Pass {
        public var batch: Int
        /// (B, K)
        public var logits: [Float]
        /// The target layer's output `A`, (C_A, B, h, w) channel-major; empty without a target.
        public var featureMap: [Float]
        /// d z_c / d A, same layout.
        public var featureGradient: [Float]
        public var featureShape: (channels: Int, height: Int, width: Int)
        /// d z_c / d x in the input's layout ((C, B, H, W) or (B, C*H*W) for rows).
        public var inputGradient: [Float]
    }

    /// One pass over `input` (the model's input layout) with the gradient of logit `classes[b]`
    /// of each image b. Batch norm in evaluation mode; the images are independent.
    public func pass(_ input: Tensor, classes: [Int]) -> Pass {
        let k = model.classes
        let t = model.tappedPass(input, tap: target) { logits in
            var seed = [Float](repeating: 0, count: logits.count)
            for (i, c) in classes.enumerated() { seed[i * k + c] = 1 }
            return seed
        }
        let s = t.outputShape
        return Pass(batch: classes.count, logits: t.logits, featureMap: t.output, featureGradient: t.outputGradient,
                    featureShape: s.count == 4 ? (s[0], s[2], s[3]) : (0, 0, 0), inputGradient: t.inputGradient)
    }

    // MARK: - The maps

    /// `S[i, j] = max over channels of |d z_c / d x[:, i, j]|` (captum `Saliency(abs=True)`).
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

    /// `cam_raw = sum_k W_fc[c, k] A_k` (zhoubolei/CAM), (h, w), for each image's class.
    public func camRaw(_ p: Pass, classes: [Int]) throws -> [ExplanationMap] {
        try requireFeatureMap("CAM")
        guard let weights = model.linearClassifierWeights else {
            throw ExplainError("CAM needs a linear last layer (class weights over the pooled features); this model has a cosine head: use gradcam")
        }
        let (ch, h, w) = p.featureShape
        guard target == model.lastFeatureMap, ch == model.featureDimension else {
            throw ExplainError("CAM weighs the feature map that the average pool feeds to the last layer; --layer \(model.tapNames[target!]) is another")
        }
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
    public func cam(_ p: Pass, classes: [Int]) throws -> [ExplanationMap] {
        try camRaw(p, classes: classes).map { raw in
            BilinearResize.resize(raw.scaledToUnit, height: model.inputShape.height, width: model.inputShape.width)
        }
    }

    /// Grad-CAM (pytorch-grad-cam `GradCAM`): channel weights = mean of d z_c / d A_k.
    public func gradcam(_ p: Pass) throws -> [ExplanationMap] {
        try requireFeatureMap("Grad-CAM")
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

    /// Grad-CAM++ (pytorch-grad-cam `GradCAMPlusPlus`): with G = d z_c / d A and S_k the sum of
    /// A_k, `a = G^2 / (2 G^2 + S_k G^3 + 1e-6)` (0 where G = 0), weights = sum relu(G) a.
    public func gradcamPlusPlus(_ p: Pass) throws -> [ExplanationMap] {
        try requireFeatureMap("Grad-CAM++")
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

    /// `relu(sum_k weight(k) A_k)`, scaled to [0, 1], resized to the input, scaled again.
    func combine(_ p: Pass, image b: Int, channels ch: Int, weight: (Int) -> Double) -> ExplanationMap {
        let (_, h, w) = p.featureShape
        var m = ExplanationMap(height: h, width: w, values: [Double](repeating: 0, count: h * w))
        for k in 0..<ch {
            let wk = weight(k), base = (k * p.batch + b) * h * w
            for i in 0..<(h * w) { m.values[i] += wk * Double(p.featureMap[base + i]) }
        }
        for i in m.values.indices { m.values[i] = max(m.values[i], 0) }
        Self.scale(&m)
        var out = BilinearResize.resize(m, height: model.inputShape.height, width: model.inputShape.width)
        Self.scale(&out)
        return out
    }

    /// `m - min(m)`, then divided by `1e-7 + max` (pytorch-grad-cam's `scale_cam_image`).
    static func scale(_ m: inout ExplanationMap) {
        let lo = m.values.min() ?? 0
        for i in m.values.indices { m.values[i] -= lo }
        let hi = m.values.max() ?? 0
        for i in m.values.indices { m.values[i] /= 1e-7 + hi }
    }

    func requireFeatureMap(_ method: String) throws {
        guard target != nil else {
            throw ExplainError("\(method) needs a feature map (a convolutional layer's output); \(model.architecture.rawValue) has none: use saliency or lime")
        }
    }
}
