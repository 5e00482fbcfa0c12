import Foundation
import NN
import Tensor

/// LIME (Ribeiro et al. 2016) on a grid of square patches (docs/explain.md): `samples` masks,
/// each patch kept with probability 0.5 and removed patches set to 0 (the data mean in
/// normalised space); the target class's softmax probability of each masked image, weighted by
/// `exp(-d^2 / 0.25^2)` with d the cosine distance of the mask to the all-ones mask, is fitted
/// by a weighted ridge regression (alpha 1, with intercept); the map is each patch's
/// coefficient. The masks come from `seed` alone: the same image gives the same map wherever
/// it is computed.
public struct Lime: Sendable {
    public var samples = 1000
    public var patch = 4
    public var seed: UInt64 = 0
    public var kernelWidth = 0.25
    public var alpha = 1.0
    /// Masked images per forward pass.
    public var batch = 100

    public init(samples: Int = 1000, patch: Int = 4, seed: UInt64 = 0) {
        self.samples = samples
        self.patch = patch
        self.seed = seed
    }

    /// The map of one image (C x H x W, normalised) for class `target`.
    public func explain(_ explainer: Explainer, image: [Float], target: Int) -> ExplanationMap {
        let masks = self.masks(explainer.model)
        var y = [Double](repeating: 0, count: samples)
        for start in stride(from: 0, to: samples, by: batch) {
            let range = start..<min(start + batch, samples)
            let p = probabilities(explainer.model, image: image, target: target, masks: masks, samples: range)
            for (i, v) in zip(range, p) { y[i] = v }
        }
        return fit(explainer.model, masks: masks, probabilities: y)
    }

    /// Patches per row and per column of the grid.
    func grid(_ model: Model) -> (rows: Int, columns: Int) {
        let s = model.inputShape
        return ((s.height + patch - 1) / patch, (s.width + patch - 1) / patch)
    }

    /// The `samples` masks (samples x patches, 1 = kept), from `seed` alone.
    public func masks(_ model: Model) -> [Double] {
        let g = grid(model), p = g.rows * g.columns
        var rng = RandomSource(seed: seed)
        var masks = [Double](repeating: 0, count: samples * p)
        for i in 0..<(samples * p) { masks[i] = rng.next() >> 63 == 1 ? 1 : 0 }
        return masks
    }

    /// The target's softmax probability for the masked images `samples` (one forward pass):
    /// the same values whichever rank computes them.
    public func probabilities(_ model: Model, image: [Float], target: Int, masks: [Double],
                              samples range: Range<Int>) -> [Double] {
        let s = model.inputShape, g = grid(model), p = g.rows * g.columns
        let k = model.classes, hw = s.height * s.width, n = range.count
        let input = Tensor(shape: model.inputLayout == .rows ? [n, s.count] : [s.channels, n, s.height, s.width])
        for (b, sample) in range.enumerated() {
            let mask = sample * p
            for c in 0..<s.channels {
                let base = model.inputLayout == .rows ? b * s.count + c * hw : (c * n + b) * hw
                for py in 0..<s.height {
                    for px in 0..<s.width where masks[mask + (py / patch) * g.columns + px / patch] != 0 {
                        input.data[base + py * s.width + px] = image[c * hw + py * s.width + px]
                    }
                }
            }
        }
        let logits = model.forward(input, training: false).logits
        return (0..<n).map { b in
            var row = (0..<k).map { Double(logits.data[b * k + $0]) }
            return row.withUnsafeMutableBufferPointer { p in
                Softmax.normalize(p.baseAddress!, count: k)
                return p[target]
            }
        }
    }

    /// The map from the masks and the target's probabilities: the kernel-weighted ridge
    /// regression's coefficient of each patch, spread over its pixels.
    public func fit(_ model: Model, masks: [Double], probabilities y: [Double]) -> ExplanationMap {
        let s = model.inputShape, g = grid(model), p = g.rows * g.columns
        // Kernel weights from the cosine distance to the all-ones mask.
        var w = [Double](repeating: 0, count: samples)
        for i in 0..<samples {
            var kept = 0.0
            for j in 0..<p { kept += masks[i * p + j] }
            let d = kept > 0 ? 1 - kept / (kept.squareRoot() * Double(p).squareRoot()) : 1
            w[i] = exp(-d * d / (kernelWidth * kernelWidth))
        }
        let beta = Self.weightedRidge(x: masks, y: y, weights: w, rows: samples, columns: p, alpha: alpha)
        var values = [Double](repeating: 0, count: s.height * s.width)
        for py in 0..<s.height {
            for px in 0..<s.width { values[py * s.width + px] = beta[(py / patch) * g.columns + px / patch] }
        }
        return ExplanationMap(height: s.height, width: s.width, values: values)
    }

    /// Ridge regression with intercept and sample weights (scikit-learn's `Ridge`): centre x and
    /// y by their weighted means, solve `(Xc' W Xc + alpha I) beta = Xc' W yc` by Cholesky.
    static func weightedRidge(x: [Double], y: [Double], weights w: [Double], rows n: Int, columns p: Int,
                              alpha: Double) -> [Double] {
        let total = w.reduce(0, +)
        var xMean = [Double](repeating: 0, count: p), yMean = 0.0
        for i in 0..<n {
            yMean += w[i] * y[i]
            for j in 0..<p { xMean[j] += w[i] * x[i * p + j] }
        }
        yMean /= total
        for j in 0..<p { xMean[j] /= total }
        var a = [Double](repeating: 0, count: p * p), rhs = [Double](repeating: 0, count: p)
        for i in 0..<n {
            let yc = y[i] - yMean
            for j in 0..<p {
                let xj = w[i] * (x[i * p + j] - xMean[j])
                rhs[j] += xj * yc
                for l in 0...j { a[j * p + l] += xj * (x[i * p + l] - xMean[l]) }
            }
        }
        for j in 0..<p { a[j * p + j] += alpha }
        // Cholesky a = L L' (lower triangle), then two triangular solves.
        for j in 0..<p {
            var d = a[j * p + j]
            for l in 0..<j { d -= a[j * p + l] * a[j * p + l] }
            let root = max(d, 1e-300).squareRoot()
            a[j * p + j] = root
            for i in (j + 1)..<max(p, j + 1) {
                var v = a[i * p + j]
                for l in 0..<j { v -= a[i * p + l] * a[j * p + l] }
                a[i * p + j] = v / root
            }
        }
        var z = rhs
        for i in 0..<p {
            for l in 0..<i { z[i] -= a[i * p + l] * z[l] }
            z[i] /= a[i * p + i]
        }
        for i in stride(from: p - 1, through: 0, by: -1) {
            for l in (i + 1)..<max(p, i + 1) { z[i] -= a[l * p + i] * z[l] }
            z[i] /= a[i * p + i]
        }
        return z
    }
}

extension ExplainMethodSpec {
    /// `--method lime`: a perturbation method; `explain` runs its masked samples over the ranks.
    public static let lime = ExplainMethodSpec(maps: nil)
}
