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

/// What every explanation method (`ExplainMethod`: the 15 of docs/explain.md, gradient-based,
/// CAM-family, perturbation and LIME, as captum and pytorch-grad-cam compute them) works from:
/// the model and the layer whose feature map `A` the CAM family weighs. One forward pass in
/// evaluation mode and one backward pass from each image's target logit give the logits, `A`,
/// its gradient and the input's gradient (`Pass`); each method's file makes its map from them.
public final class Explainer {
    public let model: Model
    /// Index in `model.features` of the layer whose output is `A`, nil without one (mlp).
    public let target: Int?

    /// - layer: a name of `model.tapNames` (nil: the last feature map before the average pool).
    public init(model: Model, layer: String? = nil) throws {
        self.model = model
        if let layer {
            guard let index = model.tapIndex(of: layer) else {
                throw ExplainError("--layer \(layer): \(model.architecture.rawValue) has no such layer; it has " +
                                   "\(model.tapNames.joined(separator: ", "))")
            }
            guard model.tapIsFeatureMap[index] else {
                throw ExplainError("--layer \(layer): not a feature map (no spatial extent); the last one is " +
                                   "\(model.lastFeatureMap.map { model.tapNames[$0] } ?? "none")")
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
    /// - reluGradient: how the ReLUs pass the gradient back (guided backpropagation, deconvnet)
    public func pass(_ input: Tensor, classes: [Int], reluGradient: ReLUGradient = .exact) -> Pass {
        let k = model.classes
        let t = model.tappedPass(input, tap: target, reluGradient: reluGradient) { logits in
            var seed = [Float](repeating: 0, count: logits.count)
            for (i, c) in classes.enumerated() { seed[i * k + c] = 1 }
            return seed
        }
        let s = t.outputShape
        return Pass(batch: classes.count, logits: t.logits, featureMap: t.output, featureGradient: t.outputGradient,
                    featureShape: s.count == 4 ? (s[0], s[2], s[3]) : (0, 0, 0), inputGradient: t.inputGradient)
    }

    // MARK: - Shared by the CAM methods (each method's maps are in its own file)

    /// `relu(sum_k weight(k) A_k)`, scaled to [0, 1], resized to the input, scaled again.
    func combine(_ p: Pass, image b: Int, channels ch: Int, weight: (Int) -> Double) -> ExplanationMap {
        let (_, h, w) = p.featureShape
        var m = ExplanationMap(height: h, width: w, values: [Double](repeating: 0, count: h * w))
        for k in 0..<ch {
            let wk = weight(k), base = (k * p.batch + b) * h * w
            for i in 0..<(h * w) { m.values[i] += wk * Double(p.featureMap[base + i]) }
        }
        return shown(m)
    }

    /// `sum_k f(k, i)` at every position i of image b's feature map: the elementwise CAMs
    /// (HiResCAM, Layer-CAM), shown as the others.
    func elementwise(_ p: Pass, image b: Int,
                     term: (_ activation: Double, _ gradient: Double) -> Double) -> ExplanationMap {
        let (ch, h, w) = p.featureShape
        var m = ExplanationMap(height: h, width: w, values: [Double](repeating: 0, count: h * w))
        for k in 0..<ch {
            let base = (k * p.batch + b) * h * w
            for i in 0..<(h * w) { m.values[i] += term(Double(p.featureMap[base + i]),
                                                       Double(p.featureGradient[base + i])) }
        }
        return shown(m)
    }

    /// A class activation map as pytorch-grad-cam shows it: ReLU, scaled to [0, 1], resized
    /// to the input (OpenCV's bilinear rule), scaled again.
    func shown(_ raw: ExplanationMap) -> ExplanationMap {
        var m = raw
        for i in m.values.indices { m.values[i] = max(m.values[i], 0) }
        Self.scale(&m)
        var out = BilinearResize.resize(m, height: model.inputShape.height, width: model.inputShape.width)
        Self.scale(&out)
        return out
    }

    /// Maps from a gradient (or attribution) in the input's layout: each image's sum over channels.
    public func inputMaps(_ values: [Float], batch: Int) -> [ExplanationMap] {
        let s = model.inputShape, hw = s.height * s.width
        return (0..<batch).map { b in
            var m = [Double](repeating: 0, count: hw)
            for c in 0..<s.channels {
                let base = model.inputLayout == .rows ? b * s.count + c * hw : (c * batch + b) * hw
                for i in 0..<hw { m[i] += Double(values[base + i]) }
            }
            return ExplanationMap(height: s.height, width: s.width, values: m)
        }
    }

    /// `m - min(m)`, then divided by `1e-7 + max` (pytorch-grad-cam's `scale_cam_image`).
    static func scale(_ m: inout ExplanationMap) {
        let lo = m.values.min() ?? 0
        for i in m.values.indices { m.values[i] -= lo }
        let hi = m.values.max() ?? 0
        for i in m.values.indices { m.values[i] /= 1e-7 + hi }
    }
}
