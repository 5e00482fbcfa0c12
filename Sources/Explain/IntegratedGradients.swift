import Foundation
import NN
import Tensor

extension ExplainMethodSpec {
    /// `--method integrated-gradients` (Sundararajan et al. 2017; captum `IntegratedGradients`
    /// with its defaults: zero baseline, `--steps` 50, Gauss-Legendre), summed over channels.
    public static let integratedGradients = ExplainMethodSpec(key: "integrated_gradients", tolerance: 1e-4,
                                                              relative: true,
                                                              signed: true) { e, x in
        e.integratedGradients(x)
    }
}

extension Explainer {
    /// `x * sum_i w_i dz_c/dx (alpha_i x)` over the Gauss-Legendre nodes `alpha_i` and weights
    /// `w_i` of [0, 1] (the zero baseline).
    public func integratedGradients(_ x: ExplainInput) -> [ExplanationMap] {
        let (alphas, weights) = Self.gaussLegendre(x.settings.steps)
        let n = x.input.count
        var total = [Double](repeating: 0, count: n)
        let scaled = Tensor(shape: x.input.shape)
        for (alpha, weight) in zip(alphas, weights) {
            for i in 0..<n { scaled.data[i] = Float(alpha) * x.input.data[i] }
            let g = gradient(scaled, classes: x.classes)
            for i in 0..<n { total[i] += weight * Double(g[i]) }
        }
        return inputMaps((0..<n).map { Float(Double(x.input.data[$0]) * total[$0]) }, batch: x.classes.count)
    }

    /// The input gradient of each image's class logit (no tap).
    func gradient(_ input: Tensor, classes: [Int], reluGradient: ReLUGradient = .exact) -> [Float] {
        let k = model.classes
        return model.tappedPass(input, tap: nil, reluGradient: reluGradient) { logits in
            var seed = [Float](repeating: 0, count: logits.count)
            for (i, c) in classes.enumerated() { seed[i * k + c] = 1 }
            return seed
        }.inputGradient
    }

    /// The nodes (ascending) and weights of `n`-point Gauss-Legendre quadrature on [0, 1], as
    /// captum takes them from numpy's `leggauss`: Newton's method on the Legendre polynomial.
    static func gaussLegendre(_ n: Int) -> ([Double], [Double]) {
        // P_n(t) and its derivative by the three-term recurrence.
        func legendre(_ t: Double) -> (Double, Double) {
            var previous = 1.0, current = t
            for k in stride(from: 2, through: n, by: 1) {
                (previous, current) = (current,
                                       ((2 * Double(k) - 1) * t * current - (Double(k) - 1) * previous) / Double(k))
            }
            return (current, Double(n) * (t * current - previous) / (t * t - 1))
        }
        var nodes = [Double](repeating: 0, count: n), weights = [Double](repeating: 0, count: n)
        for i in 0..<n {
            var t = cos(Double.pi * (Double(i) + 0.75) / (Double(n) + 0.5))
            for _ in 0..<100 {
                let (p, dp) = legendre(t)
                let step = p / dp
                t -= step
                if abs(step) < 1e-15 { break }
            }
            let dp = legendre(t).1
            // Roots come largest first: store them ascending, mapped from [-1, 1] to [0, 1].
            nodes[n - 1 - i] = 0.5 * (1 + t)
            weights[n - 1 - i] = 1 / ((1 - t * t) * dp * dp)
        }
        return (nodes, weights)
    }
}
