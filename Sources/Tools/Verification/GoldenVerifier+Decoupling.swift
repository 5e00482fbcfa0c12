import Losses
import NN
import Settings
import Tensor

/// The decoupled classifiers' golden cases (`lws`, `tau_norm` of Tests/golden/decoupling.json):
/// learnable weight scaling's logits and gradients through `Linear` with class scales and the
/// cross-entropy term, and tau-normalised weights and logits through `TauNormalization`.
extension GoldenVerifier {
    struct LWSCase: Decodable {
        var n: Int, k: Int, d: Int
        var h: [[Double]]
        var W: [[Double]]
        var b: [Double]
        var s: [Double]
        var target: [Int]
        var expected: Expected
        struct Expected: Decodable {
            var logits: [[Double]]
            var loss: Double
            var dW: [[Double]]
            var db: [Double]
            var ds: [Double]
            var dh: [[Double]]
        }
    }

    struct TauNormCase: Decodable {
        var n: Int, k: Int, d: Int
        var tau: Double
        var h: [[Double]]
        var W: [[Double]]
        var expected: Expected
        struct Expected: Decodable {
            var weights: [[Double]]
            var logits: [[Double]]
        }
    }

    /// A linear layer with class scales: forward, the mean cross-entropy's gradient, backward.
    static func check(_ c: LWSCase, index: String) -> Outcome {
        guard c.h.count == c.n, c.W.count == c.k, c.b.count == c.k, c.s.count == c.k, c.target.count == c.n,
            c.target.allSatisfy({ (0..<c.k).contains($0) }) else {
            return Outcome(index: index, kind: "lws", error: "shapes: expected n rows of h, k rows of W, k b and s")
        }
        let store = ParameterStore()
        let layer = Linear("fc", inFeatures: c.d, outFeatures: c.k, scales: true, store: store)
        store.allocate()
        let values = c.W.flatMap { $0 } + c.b + c.s
        for (i, v) in values.enumerated() { store.values[i] = Float(v) }
        let h = Tensor(shape: [c.n, c.d], values: c.h.flatMap { $0.map(Float.init) })
        let logits = layer.forward(h, training: true)
        let term = LossKind.ce.spec.make(Settings(), c.k, c.d)
        let dz = Tensor(shape: [c.n, c.k]), unused = Tensor(shape: [c.n, c.d])
        let targets = c.target.map(Int32.init)
        let loss = targets.withUnsafeBufferPointer { t in
            term.accumulate(LossBatch(scores: logits, features: h, targets: t.baseAddress!, count: c.n, weights: nil,
                                      omega: 0, counts: Array(repeating: 1, count: c.k), normalizer: Double(c.n),
                                      share: 1),
                            scoresGradient: dz, featureGradient: unused)
        }
        let dh = layer.backward(dz)
        let g = store.gradientArray.map(Double.init), w = c.k * c.d
        var problems: [String] = []
        if let e = gradientError(logits.array.map(Double.init), c.expected.logits.flatMap { $0 }) {
            problems.append("logits max error \(e)")
        }
        if let e = valueError(loss, c.expected.loss) { problems.append("loss \(loss) vs \(c.expected.loss) (\(e))") }
        for (name, got, want) in [("dW", Array(g[0..<w]), c.expected.dW.flatMap { $0 }),
                                  ("db", Array(g[w..<(w + c.k)]), c.expected.db),
                                  ("ds", Array(g[(w + c.k)...]), c.expected.ds),
                                  ("dh", dh.array.map(Double.init), c.expected.dh.flatMap { $0 })] {
            if let e = gradientError(got, want) { problems.append("\(name) max error \(e)") }
        }
        return Outcome(index: index, kind: "lws", error: problems.isEmpty ? nil : problems.joined(separator: "; "))
    }

    /// Tau-normalised rows and the logits of `h` by them (float32, as evaluation computes them).
    static func check(_ c: TauNormCase, index: String) -> Outcome {
        guard c.W.count == c.k, c.W.allSatisfy({ $0.count == c.d }), c.h.allSatisfy({ $0.count == c.d }) else {
            return Outcome(index: index, kind: "tau-norm", error: "shapes: expected k rows of W and rows of h of d")
        }
        let rows = TauNormalization.weights(c.W.flatMap { $0.map(Float.init) }, classes: c.k, tau: c.tau)
        let logits = c.h.flatMap { x in
            (0..<c.k).map { k in (0..<c.d).reduce(0.0) { $0 + Double(Float(x[$1]) * rows[k * c.d + $1]) } }
        }
        var problems: [String] = []
        if let e = gradientError(rows.map(Double.init), c.expected.weights.flatMap { $0 }) {
            problems.append("weights max error \(e)")
        }
        if let e = gradientError(logits, c.expected.logits.flatMap { $0 }) { problems.append("logits max error \(e)") }
        return Outcome(index: index, kind: "tau-norm (tau \(c.tau))",
                       error: problems.isEmpty ? nil : problems.joined(separator: "; "))
    }
}
