import Testing
import Tensor
@testable import Losses

@Suite struct LossGradientTests {
    static let configs: [LossCase] = [
        LossCase(.ce),
        LossCase(.focal) { $0.focalGamma = 2; $0.focalScale = 3 },
        LossCase(.focal) { $0.focalGamma = 0.5 },
        LossCase(.ib) { $0.ibAlpha = 10 },
        LossCase(.ibFocal) { $0.focalGamma = 2; $0.ibAlpha = 10 },
        LossCase(.crl) { $0.crlEta = 0.8; $0.crlKappa = 3; $0.crlMargin = 0.7 },
    ]

    /// Central differences in double of the loss against its analytic gradients, for logits and features.
    @Test(arguments: configs, [false, true])
    func finiteDifferences(config: LossCase, weighted: Bool) {
        let (n, k, d) = (12, 5, 4)
        let loss = config.make(classes: k, features: d)
        var logits = randomArray(n * k, seed: 1, scale: 3)
        var h = randomArray(n * d, seed: 2, scale: 2)
        let targets: [Int32] = [0, 1, 1, 2, 2, 2, 3, 3, 3, 3, 4, 0]
        let weights: [Double]? = weighted ? [0.5, 1, 1.5, 0.75, 1.25] : nil
        let outcome = evaluate(loss, classes: k, logits: logits, targets: targets, h: h, weights: weights)
        let dz = outcome.dz, dh = outcome.dh
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
                #expect(abs(numeric - Double(analytic[i])) <= 2e-3 * max(1, abs(numeric)),
                        "\(config.kind) \(name)[\(i)]: \(analytic[i]) vs \(numeric)")
            }
        }
        check("dz", &logits,
              analytic: dz) { evaluate(loss, classes: k, logits: $0, targets: targets, h: h, weights: weights).value }
        guard loss.needs.features else {
            #expect(dh.allSatisfy { $0 == 0 })
            return
        }
        check("dh", &h,
              analytic: dh) { evaluate(loss, classes: k, logits: logits, targets: targets, h: $0,
                                       weights: weights).value }
    }

    /// The ranks' contributions, each over the global normalizer, add up to the one-process loss and gradient.
    @Test(arguments: configs.filter { $0.kind != .crl }, [false, true])
    func splitBatchesAddUp(config: LossCase, weighted: Bool) {
        let (n, k, d) = (10, 4, 3)
        let logits = randomArray(n * k, seed: 5, scale: 2), h = randomArray(n * d, seed: 6)
        let targets: [Int32] = [0, 1, 2, 3, 0, 1, 2, 3, 3, 3]
        let weights: [Double]? = weighted ? [2, 1, 0.5, 0.25] : nil
        let whole = config.make(classes: k, features: d)
        let all = evaluate(whole, classes: k, logits: logits, targets: targets, h: h, weights: weights)
        let total = all.value
        let normalizer = whole.needs.weightedMean && weights != nil
            ? targets.reduce(0.0) { $0 + weights![Int($1)] } : Double(n)
        var sum = 0.0
        var gradient: [Float] = []
        for (start, end) in [(0, 3), (3, 10)] {
            let part = evaluate(config.make(classes: k, features: d), classes: k,
                                logits: Array(logits[(start * k)..<(end * k)]),
                                targets: Array(targets[start..<end]), h: Array(h[(start * d)..<(end * d)]),
                                weights: weights,
                                normalizer: normalizer)
            sum += part.value
            gradient += part.dz
        }
        #expect(abs(sum - total) <= 1e-9 * max(1, abs(total)))
        #expect(zip(gradient, all.dz).allSatisfy { abs($0 - $1) <= 1e-6 })
    }
}
