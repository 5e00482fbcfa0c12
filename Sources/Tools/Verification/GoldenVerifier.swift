import Training
import Data
import Foundation
import Losses
import NN
import Settings
import Tensor

/// Checks the losses, class weights and long-tail counts against a file in the
/// format of `Tests/golden/losses.json` (reference values computed with PyTorch
/// in float64). Tolerances (docs/losses.md): values `|got - want| <= 1e-4 max(1, |want|)`,
/// gradients `max |got - want| <= 1e-4 max(1, max |want|)`.
public enum GoldenVerifier {
    /// One checked case.
    public struct Outcome: Sendable {
        /// Section and position, e.g. `losses[12]`.
        public var index: String
        /// What was checked, e.g. `ib_focal (weights cb)`.
        public var kind: String
        /// Nil when the case passed.
        public var error: String?
        public var passed: Bool { error == nil }
    }

    /// Reads `path` and checks every case of `losses`, `class_weights`, `long_tail_counts`, `metric_losses`
    /// and `posthoc_logit_adjustment`.
    public static func verify(path: String) throws -> [Outcome] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw VerificationError("\(path): cannot read the file")
        }
        let file: File
        do {
            file = try JSONDecoder().decode(File.self, from: data)
        } catch {
            throw VerificationError("\(path): not a golden-losses file: \(error)")
        }
        var outcomes: [Outcome] = []
        for (i, c) in (file.losses ?? []).enumerated() {
            outcomes.append(check(c, index: "losses[\(i)]"))
        }
        for (i, c) in (file.classWeights ?? []).enumerated() {
            outcomes.append(check(c, index: "class_weights[\(i)]"))
        }
        for (i, c) in (file.longTailCounts ?? []).enumerated() {
            outcomes.append(check(c, index: "long_tail_counts[\(i)]"))
        }
        for (i, c) in (file.metricLosses ?? []).enumerated() {
            outcomes.append(check(c, index: "metric_losses[\(i)]"))
        }
        for (i, c) in (file.miners ?? []).enumerated() {
            outcomes.append(check(c, index: "cases[\(i)]"))
        }
        for (i, c) in (file.posthoc ?? []).enumerated() {
            outcomes.append(check(c, index: "posthoc_logit_adjustment[\(i)]"))
        }
        return outcomes
    }

    // MARK: - Cases

    static func valueError(_ got: Double, _ want: Double) -> Double? {
        abs(got - want) <= 1e-4 * max(1, abs(want)) ? nil : abs(got - want)
    }

    static func gradientError(_ got: [Double], _ want: [Double]) -> Double? {
        let scale = max(1, want.map(abs).max() ?? 0)
        let worst = zip(got, want).map { abs($0 - $1) }.max() ?? 0
        return worst <= 1e-4 * scale && got.count == want.count ? nil : worst
    }

    /// A classification loss through the training path: the term `--loss` and its options build
    /// (the case's `params` set the options through the loss's spec), given the case's global counts.
    static func check(_ c: LossCase, index: String) -> Outcome {
        let label = c.loss + (c.classWeights.map { " (weights \($0))" } ?? "")
        func fail(_ text: String) -> Outcome { Outcome(index: index, kind: label, error: text) }
        guard let kind = LossKind.allCases.first(where: { $0.goldenName == c.loss }) else {
            return fail("unknown loss \"\(c.loss)\"")
        }
        var settings = Settings()
        settings.loss = kind
        if let unknown = settings.apply(golden: c.params, kind.spec.golden) { return fail("unknown parameter \"\(unknown)\" of \(c.loss)") }
        guard c.n >= 1, c.k >= 2, c.d >= 0, c.globalCounts.count == c.k, c.logits.count == c.n, c.logits.allSatisfy({ $0.count == c.k }),
              c.h.count == c.n, c.h.allSatisfy({ $0.count == c.d }), c.target.count == c.n, c.target.allSatisfy({ (0..<c.k).contains($0) }),
              c.expected.dlogits.count == c.n, c.expected.dh.count == c.n else {
            return fail("shapes: expected n x k logits, n x d features, n targets in 0..<k, k global counts")
        }

        // Class weights from the global counts, checked against the file's.
        var weights: [Double]?
        if let name = c.classWeights {
            guard let weighting = ClassWeighting(rawValue: name) else { return fail("unknown class weights \"\(name)\"") }
            do {
                weights = try ClassWeights.compute(weighting, counts: c.globalCounts)
            } catch {
                return fail("class weights: \(error)")
            }
            if let want = c.weight, let w = weights, let e = gradientError(w, want) {
                return fail("class weights differ by \(e)")
            }
        }
        let term = kind.spec.make(settings, c.k, c.d)
        if let problem = term.problem(counts: c.globalCounts) { return fail(problem) }
        let logits = Tensor(shape: [c.n, c.k], values: c.logits.flatMap { $0.map(Float.init) })
        let features = Tensor(shape: [c.n, c.d], values: c.h.flatMap { $0.map(Float.init) })
        let dz = Tensor(shape: [c.n, c.k]), dh = Tensor(shape: [c.n, c.d])
        let targets = c.target.map(Int32.init)
        let normalizer = term.needs.weightedMean ? weights.map { w in c.target.reduce(0.0) { $0 + w[$1] } } ?? Double(c.n) : Double(c.n)
        let value = targets.withUnsafeBufferPointer { t in
            term.accumulate(LossBatch(scores: logits, features: features, targets: t.baseAddress!, count: c.n, weights: weights,
                                      omega: ClassWeights.omega(counts: c.globalCounts), counts: c.globalCounts,
                                      normalizer: normalizer, share: 1),
                            scoresGradient: dz, featureGradient: dh)
        }
        var problems: [String] = []
        if let e = valueError(value, c.expected.loss) { problems.append("loss \(value) vs \(c.expected.loss) (error \(e))") }
        if let e = gradientError(dz.array.map(Double.init), c.expected.dlogits.flatMap { $0 }) { problems.append("dlogits max error \(e)") }
        if let e = gradientError(dh.array.map(Double.init), c.expected.dh.flatMap { $0 }) { problems.append("dh max error \(e)") }
        return problems.isEmpty ? Outcome(index: index, kind: label, error: nil) : fail(problems.joined(separator: "; "))
    }

    /// Post-hoc adjusted logits as evaluation computes them (float32 logits plus the offsets).
    static func check(_ c: PosthocCase, index: String) -> Outcome {
        let k = c.globalCounts.count
        guard c.logits.allSatisfy({ $0.count == k }), c.expected.count == c.logits.count else {
            return Outcome(index: index, kind: "posthoc", error: "shapes: expected rows of \(k) logits (one per global count) and as many expected rows")
        }
        let offsets = PosthocAdjustment.offsets(counts: c.globalCounts, tau: c.tau).map(Float.init)
        let got = c.logits.flatMap { row in row.enumerated().map { Double(Float($0.element) + offsets[$0.offset]) } }
        let error = gradientError(got, c.expected.flatMap { $0 }).map { "adjusted logits max error \($0)" }
        return Outcome(index: index, kind: "posthoc (tau \(c.tau))", error: error)
    }

    static func check(_ c: WeightCase, index: String) -> Outcome {
        var problems: [String] = []
        do {
            if let e = gradientError(try ClassWeights.compute(.ib, counts: c.counts), c.ib) { problems.append("ib weights error \(e)") }
            if let e = gradientError(try ClassWeights.compute(.cb, counts: c.counts), c.cb) { problems.append("cb weights error \(e)") }
        } catch {
            problems.append("\(error)")
        }
        if let e = valueError(ClassWeights.omega(counts: c.counts), c.crlOmega) { problems.append("omega error \(e)") }
        return Outcome(index: index, kind: "class weights", error: problems.isEmpty ? nil : problems.joined(separator: "; "))
    }

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
            return Outcome(index: index, kind: c.loss, error: "shapes: expected n x d embeddings and n targets in 0..<k")
        }
        // Through the training path: the term on the batch as one rank's whole global batch.
        let term = spec.term(settings, classes: c.k, featureDimension: c.d)
        let center = term as? CenterLoss
        if let center {
            let centers = (c.centers ?? []).flatMap { $0 }
            guard centers.count == c.k * c.d else {
                return Outcome(index: index, kind: c.loss, error: "centers has \(centers.count) values, expected \(c.k) x \(c.d)")
            }
            for (i, v) in centers.enumerated() { center.centers.data[i] = Float(v) }
        }
        let (value, dh) = applyGathered(term, c)
        term.stepTaken()
        var problems: [String] = []
        if let e = valueError(value, c.expected.loss) { problems.append("loss \(value) vs \(c.expected.loss) (error \(e))") }
        if let e = gradientError(dh.array.map(Double.init), c.expected.dembeddings.flatMap { $0 }) { problems.append("dembeddings max error \(e)") }
        if let center {
            if let want = c.expected.centersAfter {
                if let e = gradientError(center.centers.array.map(Double.init), want.flatMap { $0 }) { problems.append("centers_after max error \(e)") }
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
            return Outcome(index: index, kind: label, error: "expected loss triplet and a miner of \(Miner.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let n = c.embeddings.count, d = c.embeddings.first?.count ?? 0
        guard n >= 1, d >= 1, c.embeddings.allSatisfy({ $0.count == d }), c.labels.count == n, c.grad.count == n,
              c.labels.allSatisfy({ $0 >= 0 && $0 < Dataset.maxClasses }) else {
            return Outcome(index: index, kind: label, error: "shapes: expected n x d embeddings, n labels and an n x d gradient")
        }
        var settings = Settings()
        settings.embeddingLoss = .triplet
        settings.miner = miner
        settings.tripletMargin = c.margin
        let term = EmbeddingLossSpec.triplet.term(settings, classes: (c.labels.max() ?? 0) + 1, featureDimension: d)
        let metric = MetricCase(loss: c.loss, params: [:], n: n, k: (c.labels.max() ?? 0) + 1, d: d, embeddings: c.embeddings,
                                target: c.labels, expected: .init(loss: c.value, dembeddings: c.grad))
        let (value, dh) = applyGathered(term, metric)
        var problems: [String] = []
        if let mined = (term as? EmbeddingLoss)?.objective.minedTriplets, mined != c.minedTriplets {
            problems.append("mined \(mined) triplets, expected \(c.minedTriplets)")
        }
        if let e = valueError(value, c.value) { problems.append("loss \(value) vs \(c.value) (error \(e))") }
        if let e = gradientError(dh.array.map(Double.init), c.grad.flatMap { $0 }) { problems.append("dembeddings max error \(e)") }
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
                term.accumulate(LossBatch(scores: scores, features: x, targets: t.baseAddress!, count: c.n, weights: nil, omega: 0,
                                          normalizer: Double(c.n), share: 1,
                                          global: GlobalBatch(rows: x.data, width: c.d, labels: t.baseAddress!, count: c.n,
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
              c.embeddings.allSatisfy({ $0.count == c.d }), c.target.count == c.n, c.target.allSatisfy({ (0..<c.k).contains($0) }) else {
            return Outcome(index: index, kind: c.loss, error: "shapes: expected n x d embeddings, n targets in 0..<k and W of \(c.d) x \(c.k * subCenters) values")
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
            loss.accumulate(LossBatch(scores: cosines, features: x, targets: t.baseAddress!, count: c.n, weights: nil, omega: 0,
                                      normalizer: Double(c.n), share: 1),
                            scoresGradient: dCos, featureGradient: dh)
        }
        let dx = head.backward(dCos)
        let dEmbeddings = (0..<(c.n * c.d)).map { Double(dx.data[$0]) + Double(dh.data[$0]) }
        let dW = (0..<w.count).map { Double(store.gradients[head.parameterOffset! + $0]) }
        var problems: [String] = []
        if let e = valueError(value, c.expected.loss) { problems.append("loss \(value) vs \(c.expected.loss) (error \(e))") }
        if let e = gradientError(dEmbeddings, c.expected.dembeddings.flatMap { $0 }) { problems.append("dembeddings max error \(e)") }
        if let want = c.expected.dW, let e = gradientError(dW, want.flatMap { $0 }) { problems.append("dW max error \(e)") }
        return Outcome(index: index, kind: c.loss, error: problems.isEmpty ? nil : problems.joined(separator: "; "))
    }

    static func check(_ c: LongTailCase, index: String) -> Outcome {
        var problems: [String] = []
        for (profile, want) in [(ImbalanceProfile.exp, c.exp), (.step, c.step)] {
            let got = LongTail.counts(nMax: c.perClass, classes: c.classes, ratio: c.ratio, profile: profile)
            if got != want { problems.append("\(profile.rawValue): got \(got), want \(want)") }
        }
        return Outcome(index: index, kind: "long tail \(c.perClass) x \(c.classes), ratio \(c.ratio)",
                       error: problems.isEmpty ? nil : problems.joined(separator: "; "))
    }
}

/// A golden file that cannot be used.
public struct VerificationError: Error, CustomStringConvertible {
    public var description: String
    init(_ text: String) { description = text }
}
