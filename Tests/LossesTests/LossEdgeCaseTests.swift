import Foundation
import Settings
import Testing
import Tensor
@testable import Losses

@Suite struct LossEdgeCaseTests {
    @Test(arguments: [LossKind.ce, .focal, .ib, .ibFocal, .crl])
    func hugeLogitsStayFinite(kind: LossKind) {
        let loss = LossCase(kind).make(classes: 3, features: 2)
        let logits: [Float] = [1e4, -1e4, 0, -1e4, 1e4, 5e3, 0, 0, -1e4, 1e4, 1e4, -1e4]
        let out = evaluate(loss, classes: 3, logits: logits, targets: [0, 0, 2, 1], h: [1, -2, 0.5, 0.5, 3, 3, -1, 1],
                           weights: [1, 2, 3])
        #expect(out.value.isFinite)
        #expect(out.dz.allSatisfy { $0.isFinite })
        #expect(out.dh.allSatisfy { $0.isFinite })
    }

    /// The long-tail family adjusts huge logits and stays finite, rare classes included.
    @Test(arguments: LossKind.allCases.filter { $0.spec.make(Settings(), 3, 2) is AdjustedSoftmaxLoss })
    func adjustedHugeLogitsStayFinite(kind: LossKind) {
        var settings = Settings()
        settings.loss = kind
        let loss = kind.spec.make(settings, 3, 2)
        #expect(loss.problem(counts: [5000, 40, 1]) == nil && loss.problem(counts: [5000, 0, 1]) != nil)
        let logits = Tensor(shape: [4, 3], values: [1e4, -1e4, 0, -1e4, 1e4, 5e3, 0, 0, -1e4, 1e4, 1e4, -1e4])
        let dz = Tensor(shape: [4, 3]), dh = Tensor(shape: [4, 2])
        dz.fill(0)
        let targets: [Int32] = [0, 0, 2, 1]
        let value = targets.withUnsafeBufferPointer { t in
            loss.accumulate(LossBatch(scores: logits, features: dh, targets: t.baseAddress!, count: 4,
                                      weights: [1, 2, 3], omega: 0,
                                      counts: [5000, 40, 1], normalizer: 4, share: 1),
                            scoresGradient: dz, featureGradient: dh)
        }
        #expect(value.isFinite && value >= 0)
        #expect(dz.array.allSatisfy { $0.isFinite })
    }

    /// At +-1e4 the softmax is exactly one-hot or split in two, so weighted CE has a known value:
    /// losses 0, 2e4, 1e4 + ln 2 and ln 2 with class weights 1, 1, 3, 2, over their sum 7.
    @Test func hugeLogitsGiveTheLimitValues() {
        let loss = LossCase(.ce).make(classes: 3, features: 2)
        let logits: [Float] = [1e4, -1e4, 0, -1e4, 1e4, 5e3, 0, 0, -1e4, 1e4, 1e4, -1e4]
        let out = evaluate(loss, classes: 3, logits: logits, targets: [0, 0, 2, 1], h: [1, -2, 0.5, 0.5, 3, 3, -1, 1],
                           weights: [1, 2, 3])
        let ln2 = log(2.0)
        #expect(abs(out.value - (2e4 + 3 * (1e4 + ln2) + 2 * ln2) / 7) < 1e-2)
        let dz = out.dz
        let want: [Double] = [0, 0, 0, -1, 1, 0, 1.5, 1.5, -3, 1, -1, 0].map { $0 / 7 }
        for i in 0..<12 { #expect(abs(Double(dz[i]) - want[i]) < 1e-6, "dz[\(i)] = \(dz[i]), expected \(want[i])") }
    }

    @Test func ibWithCertainPredictionIsFiniteAndNearAlphaOverEpsilon() {
        // p[y] -> 1: g -> 0, the influence factor tends to alpha / 0.001 but stays finite.
        let loss = LossCase(.ib) { $0.ibAlpha = 1000 }.make(classes: 3, features: 2)
        let out = evaluate(loss, classes: 3, logits: [60, 0, 0], targets: [0], h: [1, 1], weights: nil)
        #expect(out.value.isFinite && out.value >= 0)
        #expect(out.dz.allSatisfy { $0.isFinite })
        // CE = 2 e^-60 and ib ~ 1000 / 0.001: the product is tiny but finite.
        #expect(out.value < 1e-10)
    }

    @Test func ibWithZeroFeatures() {
        let loss = LossCase(.ib) { $0.ibAlpha = 1000 }.make(classes: 3, features: 4)
        let out = evaluate(loss, classes: 3, logits: [1, 2, 3, 0.5, 0.1, -1], targets: [0, 1],
                           h: [0, 0, 0, 0, 0, 0, 0, 0], weights: nil)
        #expect(out.value.isFinite)
        // f = 0: ib = alpha / epsilon = 1e6 exactly; dh = 0 because sign(0) = 0.
        #expect(out.dh.allSatisfy { $0 == 0 })
        #expect(out.dz.allSatisfy { $0.isFinite })
    }

    @Test func emptyClassIsAnErrorNamingTheClass() throws {
        for weighting in [ClassWeighting.ib, .cb] {
            do {
                _ = try ClassWeights.compute(weighting, counts: [10, 5, 0, 3])
                Issue.record("no error for an empty class")
            } catch let error as ClassCountError {
                #expect(error.classIndex == 2)
                #expect(error.description.contains("class 2"))
            } catch {
                Issue.record("unexpected error \(error)")
            }
        }
        #expect(try ClassWeights.compute(.none, counts: [10, 0]) == [1, 1])
    }

    @Test func classWeightsByHand() throws {
        let ib = try ClassWeights.compute(.ib, counts: [100, 10])
        #expect(abs(ib[0] - 2 * 0.01 / 0.11) < 1e-12 && abs(ib[1] - 2 * 0.1 / 0.11) < 1e-12)
        let cb = try ClassWeights.compute(.cb, counts: [100, 10, 1])
        #expect(abs(cb.reduce(0, +) - 3) < 1e-12)
        #expect(cb[2] > cb[1] && cb[1] > cb[0])
        #expect(ClassWeights.omega(counts: [100, 10, 40]) == 0.9)
    }

    // MARK: - CRL

    /// CRL with a batch where every class is too large to be a minority: only the CE part remains.
    @Test func crlWithoutMinorityClassIsItsCEPart() {
        let ce = LossCase(.ce).make(classes: 2, features: 1)
        // Two classes of 4 in a batch of 8 with rho = 0.4: 4 > 3.2, so neither is a minority class.
        let logits = randomArray(8 * 2, seed: 3)
        let targets: [Int32] = [0, 0, 0, 0, 1, 1, 1, 1]
        let rectifier = ClassRectification(classes: 2, kappa: 25, margin: 0.5, rho: 0.4)
        #expect(targets.withUnsafeBufferPointer { rectifier.minorityClasses(labels: $0.baseAddress!,
                                                                            count: 8) }.isEmpty)
        let strict = LossCase(.crl) { $0.crlEta = 0.5; $0.crlRho = 0.4 }.make(classes: 2, features: 1)
        let omega = 0.6
        let rectified = evaluate(strict, classes: 2, logits: logits, targets: targets, h: Array(repeating: 0, count: 8),
                                 weights: nil, omega: omega)
        let plain = evaluate(ce, classes: 2, logits: logits, targets: targets, h: Array(repeating: 0, count: 8),
                             weights: nil)
        #expect(abs(rectified.value - (1 - 0.5 * omega) * plain.value) < 1e-9)
        for (a, b) in zip(rectified.dz, plain.dz) {
            #expect(abs(Double(a) - (1 - 0.5 * omega) * Double(b)) < 1e-6)
        }
    }

    @Test func crlWithOneClassOnly() {
        let loss = LossCase(.crl) { $0.crlEta = 0.5 }.make(classes: 3, features: 1)
        let rectifier = ClassRectification(classes: 3, kappa: 25, margin: 0.5, rho: 0.5)
        let targets: [Int32] = [1, 1, 1, 1]
        // One class holding the whole batch exceeds rho * N: no minority class, no triples.
        #expect(targets.withUnsafeBufferPointer { rectifier.minorityClasses(labels: $0.baseAddress!,
                                                                            count: 4) }.isEmpty)
        let out = evaluate(loss, classes: 3, logits: randomArray(12, seed: 4), targets: targets, h: [0, 0, 0, 0],
                           weights: nil, omega: 0.5)
        #expect(out.value.isFinite)
        #expect(out.dz.allSatisfy { $0.isFinite })
    }

    @Test func crlMinoritySelectionFollowsTheDefinition() {
        let rectifier = ClassRectification(classes: 5, kappa: 25, margin: 0.5, rho: 0.5)
        // Counts: class0 5, class1 1, class2 2, class3 2, class4 0; N = 10, rho N = 5.
        // Ascending: 1 (1), 2 (2), 3 (2), 0 (5): totals 1, 3, 5 then 10 > 5 stops. Class 1 has < 2 samples.
        let labels: [Int32] = [0, 0, 0, 0, 0, 1, 2, 2, 3, 3]
        #expect(labels.withUnsafeBufferPointer { rectifier.minorityClasses(labels: $0.baseAddress!, count: 10) } == [2,
                                                                                                                     3])
    }

    /// kappa larger than the class: every member is a hard positive, every other sample a hard negative,
    /// and the value matches a direct sum over all triples.
    @Test func crlKappaLargerThanTheClass() {
        let (n, k) = (6, 2)
        let rectifier = ClassRectification(classes: k, kappa: 100, margin: 0.5, rho: 0.5)
        let scores: [Float] = [0.9, 0.1, 0.8, 0.2, 0.3, 0.7, 0.6, 0.4, 0.55, 0.45, 0.2, 0.8]
        let labels: [Int32] = [0, 0, 0, 0, 1, 1]
        var gradient = [Double](repeating: 0, count: n * k)
        let value = scores.withUnsafeBufferPointer { s in
            labels.withUnsafeBufferPointer { l in
                gradient.withUnsafeMutableBufferPointer { g in
                    rectifier.lossAndGradient(scores: s.baseAddress!, labels: l.baseAddress!, count: n, scale: 1,
                                              scoreGradient: g.baseAddress!)
                }
            }
        }
        // Minority class 1 (samples 4, 5), scores s = p[:, 1].
        let s = (0..<n).map { Double(scores[$0 * k + 1]) }
        var total = 0.0, count = 0
        for a in [4, 5] { for p in [4, 5] { for q in 0..<4 {
            total += max(0, 0.5 + abs(s[a] - s[p]) - (s[a] - s[q]))
            count += 1
        } } }
        #expect(count == 2 * 2 * 4)
        #expect(abs(value - total / Double(count)) < 1e-7)
        #expect((0..<n).allSatisfy { gradient[$0 * k] == 0 })  // only the minority class's column
    }
}
