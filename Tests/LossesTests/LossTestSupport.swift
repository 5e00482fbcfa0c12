import Settings
import Tensor
import Testing
@testable import Losses

func randomArray(_ n: Int, seed: UInt64, scale: Float = 1) -> [Float] {
    var rng = RandomSource(seed: seed)
    return (0..<n).map { _ in (rng.nextUniform() * 2 - 1) * scale }
}

/// A classification loss with the settings it reads, built through its spec (as training builds it).
struct LossCase: Sendable, CustomTestStringConvertible {
    var kind: LossKind
    var settings: Settings

    init(_ kind: LossKind, _ set: (inout Settings) -> Void = { _ in }) {
        self.kind = kind
        settings = Settings()
        settings.loss = kind
        set(&settings)
    }

    func make(classes k: Int, features d: Int) -> LossTerm { kind.spec.make(settings, k, d) }
    var testDescription: String { kind.rawValue }
}

/// What a term gave on one batch.
struct LossOutcome {
    var value: Double
    var dz: [Float]
    var dh: [Float]
}

/// Evaluates `term` on fresh gradient tensors: one process, the batch's own normalizer (the sum of
/// the targets' class weights for a weighted mean, else the batch size) unless `normalizer` is given.
func evaluate(_ term: LossTerm, classes k: Int, logits: [Float], targets: [Int32], h: [Float], weights: [Double]?,
              omega: Double = 0.5, normalizer: Double? = nil) -> LossOutcome {
    let n = targets.count, d = h.count / max(n, 1)
    let z = Tensor(shape: [n, k], values: logits), f = Tensor(shape: [n, d], values: h)
    let dz = Tensor(shape: [n, k]), dh = Tensor(shape: [n, d])
    dz.fill(0)
    dh.fill(0)
    let local = term.needs.weightedMean && weights != nil ? targets.reduce(0.0) { $0 + weights![Int($1)] } : Double(n)
    let value = targets.withUnsafeBufferPointer { t in
        term.accumulate(LossBatch(scores: z, features: f, targets: t.baseAddress!, count: n, weights: weights,
                                  omega: omega,
                                  normalizer: normalizer ?? local, share: 1),
                        scoresGradient: dz, featureGradient: dh)
    }
    return LossOutcome(value: value, dz: dz.array, dh: dh.array)
}
