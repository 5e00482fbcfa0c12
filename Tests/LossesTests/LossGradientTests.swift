import Testing
import Tensor
@testable import Losses

func randomArray(_ n: Int, seed: UInt64, scale: Float = 1) -> [Float] {
    var rng = RandomSource(seed: seed)
    return (0..<n).map { _ in (rng.nextUniform() * 2 - 1) * scale }
}

/// Evaluates a loss on fresh tensors (one process: the batch's own normalizer).
func evaluate(_ loss: LossFunction, logits: [Float], targets: [Int32], h: [Float], weights: [Double]?, omega: Double = 0.5) -> Double {
    let n = targets.count
    let z = Tensor(shape: [n, loss.classes], values: logits)
    let f = Tensor(shape: [n, loss.featureDimension], values: h)
    return targets.withUnsafeBufferPointer { t in
        loss.compute(logits: z, targets: t.baseAddress!, features: f, weights: weights, omega: omega,
                     normalizer: loss.localNormalizer(kind: loss.config.kind, targets: t.baseAddress!, batch: n, weights: weights))
    }
}

@Suite struct LossGradientTests {
    static let configs: [LossConfig] = [
        LossConfig(kind: .ce),
        LossConfig(kind: .focal, focalGamma: 2, focalScale: 3),
        LossConfig(kind: .focal, focalGamma: 0.5),
        LossConfig(kind: .ib, ibAlpha: 10),
        LossConfig(kind: .ibFocal, focalGamma: 2, ibAlpha: 10),
        LossConfig(kind: .crl, crlEta: 0.8, crlKappa: 3, crlMargin: 0.7),
    ]

    /// Central differences in double of the loss against its analytic gradients, for logits and features.
    @Test(arguments: configs, [false, true])
    func finiteDifferences(config: LossConfig, weighted: Bool) {
        let (n, k, d) = (12, 5, 4)
        let loss = LossFunction(config, classes: k, featureDimension: d)
        var logits = randomArray(n * k, seed: 1, scale: 3)
        var h = randomArray(n * d, seed: 2, scale: 2)
        let targets: [Int32] = [0, 1, 1, 2, 2, 2, 3, 3, 3, 3, 4, 0]
        let weights: [Double]? = weighted ? [0.5, 1, 1.5, 0.75, 1.25] : nil
        _ = evaluate(loss, logits: logits, targets: targets, h: h, weights: weights)
        let dz = loss.logitsGradient.array, dh = loss.featureGradient.array
        // Central differences of the loss, coordinate by coordinate, of the logits or the features.
        func check(_ name: String, _ values: inout [Float], analytic: [Float], loss value: ([Float]) -> Double) {
            let eps: Float = 1e-3
            for i in values.indices {
                let saved = values[i]
                values[i] = saved + eps
                let plus = value(values)
                values[i] = saved - eps
                let minus = value(values)
                values[i] = saved
                let numeric = (plus - minus) / (2 * Double(eps))
                #expect(abs(numeric - Double(analytic[i])) <= 2e-3 * max(1, abs(numeric)), "\(config.kind) \(name)[\(i)]: \(analytic[i]) vs \(numeric)")
            }
        }
        check("dz", &logits, analytic: dz) { evaluate(loss, logits: $0, targets: targets, h: h, weights: weights) }
        guard config.kind.readsFeatures else {
            #expect(dh.allSatisfy { $0 == 0 })
            return
        }
        check("dh", &h, analytic: dh) { evaluate(loss, logits: logits, targets: targets, h: $0, weights: weights) }
    }

    /// The ranks' contributions, each over the global normalizer, add up to the one-process loss and gradient.
    @Test(arguments: configs.filter { $0.kind != .crl }, [false, true])
    func splitBatchesAddUp(config: LossConfig, weighted: Bool) {
        let (n, k, d) = (10, 4, 3)
        let logits = randomArray(n * k, seed: 5, scale: 2), h = randomArray(n * d, seed: 6)
        let targets: [Int32] = [0, 1, 2, 3, 0, 1, 2, 3, 3, 3]
        let weights: [Double]? = weighted ? [2, 1, 0.5, 0.25] : nil
        let whole = LossFunction(config, classes: k, featureDimension: d)
        let total = evaluate(whole, logits: logits, targets: targets, h: h, weights: weights)
        let normalizer = targets.withUnsafeBufferPointer { whole.localNormalizer(kind: config.kind, targets: $0.baseAddress!, batch: n, weights: weights) }
        var sum = 0.0
        var gradient: [Float] = []
        for (start, end) in [(0, 3), (3, 10)] {
            let part = LossFunction(config, classes: k, featureDimension: d)
            let z = Tensor(shape: [end - start, k], values: Array(logits[(start * k)..<(end * k)]))
            let f = Tensor(shape: [end - start, d], values: Array(h[(start * d)..<(end * d)]))
            let t = Array(targets[start..<end])
            sum += t.withUnsafeBufferPointer {
                part.compute(logits: z, targets: $0.baseAddress!, features: f, weights: weights, normalizer: normalizer)
            }
            gradient += part.logitsGradient.array
        }
        #expect(abs(sum - total) <= 1e-9 * max(1, abs(total)))
        #expect(zip(gradient, whole.logitsGradient.array).allSatisfy { abs($0 - $1) <= 1e-6 })
    }
}
