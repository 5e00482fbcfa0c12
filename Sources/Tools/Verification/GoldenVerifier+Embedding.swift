import Data
import Foundation
import Losses
import NN
import Settings
import Tensor
import Training

/// The golden cases of the embedding losses, the miners and the margin heads (metric_losses, cases).
extension GoldenVerifier {
    static func check(_ c: MetricCase, index: String) -> Outcome {
        if let head = LossKind.allCases.first(where: { $0.goldenName == c.loss && $0.spec.head != .linear }) {
            return checkHead(c, kind: head, index: index)
        }
        guard let kind = EmbeddingLossKind.allCases.first(where: { $0.rawValue == c.loss }), let spec = kind.spec else {
            return Outcome(index: index, kind: c.loss, error: "unknown metric loss \"\(c.loss)\"")
        }
        var settings = Settings()
        settings.embeddingLoss = kind
        if let unknown = settings.apply(golden: c.params, spec.golden) {
            return Outcome(index: index, kind: c.loss, error: "unknown parameter \"\(unknown)\" of \(c.loss)")
        }
        guard c.n >= 1, c.d >= 1, c.k >= 1, c.embeddings.count == c.n, c.embeddings.allSatisfy({ $0.count == c.d }),
              c.target.count == c.n, c.target.allSatisfy({ (0..<c.k).contains($0) }) else {
            return Outcome(index: index, kind: c.loss,
                           error: "shapes: expected n x d embeddings and n targets in 0..<k")
        }
        // Through the training path: the term on the batch as one rank's whole global batch.
        let term = spec.term(settings, classes: c.k, featureDimension: c.d)
        let center = term as? CenterLoss
        if let center {
            let centers = (c.centers ?? []).flatMap { $0 }
            guard centers.count == c.k * c.d else {
                return Outcome(index: index, kind: c.loss,
                               error: "centers has \(centers.count) values, expected \(c.k) x \(c.d)")
            }
            for (i, v) in centers.enumerated() { center.centers.data[i] = Float(v) }
        }
        let (value, dh) = applyGathered(term, c)
        term.stepTaken()
        var problems: [String] = []
        if let e = valueError(value, c.expected.loss) {
            problems.append("loss \(value) vs \(c.expected.loss) (error \(e))")
        }
        if let e = gradientError(dh.array.map(Double.init), c.expected.dembeddings.flatMap { $0 }) {
            problems.append("dembeddings max error \(e)")
        }
        if let center {
            if let want = c.expected.centersAfter {
                if let e = gradientError(center.centers.array.map(Double.init),
                                         want.flatMap { $0 }) { problems.append("centers_after max error \(e)") }
            } else {
                problems.append("no expected centers_after")
            }
        }
        return Outcome(index: index, kind: c.loss, error: problems.isEmpty ? nil : problems.joined(separator: "; "))
    }

    /// A triplet loss over mined triplets through the training path: `--metric-loss triplet`
    /// with `--miner` and `--triplet-margin`, on the case's batch as one rank's whole global batch.
    static func check(_ c: MinerCase, index: String) -> Outcome {
        let label = "\(c.loss) (miner \(c.miner), margin \(c.margin))"
        guard c.loss == "triplet", let miner = Miner(rawValue: c.miner) else {
            return Outcome(index: index, kind: label,
                           error: "expected loss triplet and a miner of " +
                                  "\(Miner.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let n = c.embeddings.count, d = c.embeddings.first?.count ?? 0
        guard n >= 1, d >= 1, c.embeddings.allSatisfy({ $0.count == d }), c.labels.count == n, c.grad.count == n,
              c.labels.allSatisfy({ $0 >= 0 && $0 < Dataset.maxClasses }) else {
            return Outcome(index: index, kind: label,
                           error: "shapes: expected n x d embeddings, n labels and an n x d gradient")
        }
        var settings = Settings()
        settings.embeddingLoss = .triplet
        settings.miner = miner
        settings.tripletMargin = c.margin
        let term = EmbeddingLossSpec.triplet.term(settings, classes: (c.labels.max() ?? 0) + 1, featureDimension: d)
        let metric = MetricCase(loss: c.loss, params: [:], n: n, k: (c.labels.max() ?? 0) + 1, d: d,
                                embeddings: c.embeddings,
                                target: c.labels, expected: .init(loss: c.value, dembeddings: c.grad))
        let (value, dh) = applyGathered(term, metric)
        var problems: [String] = []
        if let mined = (term as? EmbeddingLoss)?.objective.minedTriplets, mined != c.minedTriplets {
            problems.append("mined \(mined) triplets, expected \(c.minedTriplets)")
        }
        if let e = valueError(value, c.value) { problems.append("loss \(value) vs \(c.value) (error \(e))") }
        if let e = gradientError(dh.array.map(Double.init),
                                 c.grad.flatMap { $0 }) { problems.append("dembeddings max error \(e)") }
        return Outcome(index: index, kind: label, error: problems.isEmpty ? nil : problems.joined(separator: "; "))
    }

    /// A loss term over a gathered global batch on the case's batch as one rank's whole global
    /// batch (Float features, as training gives them): its value and dL/dh.
    static func applyGathered(_ term: LossTerm, _ c: MetricCase) -> (Double, Tensor) {
        let x = Tensor(shape: [c.n, c.d], values: c.embeddings.flatMap { $0.map(Float.init) })
        let scores = Tensor(shape: [c.n, c.k]), dh = Tensor(shape: [c.n, c.d])
        let targets = c.target.map(Int32.init), rows = Array(0..<c.n)
        let value = targets.withUnsafeBufferPointer { t in
            rows.withUnsafeBufferPointer { r in
                term.accumulate(LossBatch(scores: scores, features: x, targets: t.baseAddress!, count: c.n,
                                          weights: nil, omega: 0,
                                          normalizer: Double(c.n), share: 1,
                                          global: GlobalBatch(rows: x.data, width: c.d, labels: t.baseAddress!,
                                                              count: c.n,
                                                              localRows: r.baseAddress!, ranks: 1)),
                                scoresGradient: scores, featureGradient: dh)
            }
        }
        return (value, dh)
    }

    /// A margin head through the training path: the cosine head's forward (float, as in
    /// training), the margin loss on its cosines, and the head's backward into `h` and `W`.
    static func checkHead(_ c: MetricCase, kind: LossKind, index: String) -> Outcome {
        var settings = Settings()
        settings.loss = kind
        if let unknown = settings.apply(golden: c.params, kind.spec.golden) {
            return Outcome(index: index, kind: c.loss, error: "unknown parameter \"\(unknown)\" of \(c.loss)")
        }
        let subCenters = kind.spec.head == .cosineWithSubCenters ? settings.subCenters : 1
        let w = (c.W ?? []).flatMap { $0 }
        guard c.n >= 1, c.k >= 1, c.d >= 1, w.count == c.d * c.k * subCenters, c.embeddings.count == c.n,
              c.embeddings.allSatisfy({ $0.count == c.d }), c.target.count == c.n,
                  c.target.allSatisfy({ (0..<c.k).contains($0) }) else {
            return Outcome(index: index, kind: c.loss,
                           error: "shapes: expected n x d embeddings, n targets in 0..<k and W of \(c.d) x " +
                                  "\(c.k * subCenters) values")
        }
        let store = ParameterStore()
        let head = CosineClassifier("head", inFeatures: c.d, classes: c.k, subCenters: subCenters, store: store)
        store.allocate()
        for (i, v) in w.enumerated() { store.values[head.parameterOffset! + i] = Float(v) }
        let x = Tensor(shape: [c.n, c.d], values: c.embeddings.flatMap { $0.map(Float.init) })
        let cosines = head.forward(x, training: true)
        let loss = kind.spec.make(settings, c.k, c.d)
        let dCos = Tensor(shape: [c.n, c.k]), dh = Tensor(shape: [c.n, c.d])
        let targets = c.target.map(Int32.init)
        let value = targets.withUnsafeBufferPointer { t in
            loss.accumulate(LossBatch(scores: cosines, features: x, targets: t.baseAddress!, count: c.n, weights: nil,
                                      omega: 0,
                                      normalizer: Double(c.n), share: 1),
                            scoresGradient: dCos, featureGradient: dh)
        }
        let dx = head.backward(dCos)
        let dEmbeddings = (0..<(c.n * c.d)).map { Double(dx.data[$0]) + Double(dh.data[$0]) }
        let dW = (0..<w.count).map { Double(store.gradients[head.parameterOffset! + $0]) }
        var problems: [String] = []
        if let e = valueError(value, c.expected.loss) {
            problems.append("loss \(value) vs \(c.expected.loss) (error \(e))")
        }
        if let e = gradientError(dEmbeddings, c.expected.dembeddings.flatMap { $0 }) {
            problems.append("dembeddings max error \(e)")
        }
        if let want = c.expected.dW,
            let e = gradientError(dW, want.flatMap { $0 }) { problems.append("dW max error \(e)") }
        return Outcome(index: index, kind: c.loss, error: problems.isEmpty ? nil : problems.joined(separator: "; "))
    }
}
