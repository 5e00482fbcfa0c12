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
    /// `posthoc_logit_adjustment`, `lws` and `tau_norm`.
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
        outcomes += (file.lws ?? []).enumerated().map { check($0.element, index: "lws[\($0.offset)]") }
        outcomes += (file.tauNorm ?? []).enumerated().map { check($0.element, index: "tau_norm[\($0.offset)]") }
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
        if let unknown = settings.apply(golden: c.params, kind.spec.golden) {
            return fail("unknown parameter \"\(unknown)\" of \(c.loss)")
        }
        guard c.n >= 1, c.k >= 2, c.d >= 0, c.globalCounts.count == c.k, c.logits.count == c.n,
              c.logits.allSatisfy({ $0.count == c.k }), c.h.count == c.n, c.h.allSatisfy({ $0.count == c.d }),
              c.target.count == c.n, c.target.allSatisfy({ (0..<c.k).contains($0) }),
              c.expected.dlogits.count == c.n, c.expected.dh.count == c.n else {
            return fail("shapes: expected n x k logits, n x d features, n targets in 0..<k, k global counts")
        }

        // Class weights from the global counts, checked against the file's.
        var weights: [Double]?
        if let name = c.classWeights {
            guard let weighting = ClassWeighting(rawValue: name) else {
                return fail("unknown class weights \"\(name)\"")
            }
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
        let normalizer = term.needs.weightedMean ? weights.map { w in c.target.reduce(0.0) { $0 + w[$1] } }
            ?? Double(c.n) : Double(c.n)
        let value = targets.withUnsafeBufferPointer { t in
            term.accumulate(LossBatch(scores: logits, features: features, targets: t.baseAddress!, count: c.n,
                                      weights: weights,
                                      omega: ClassWeights.omega(counts: c.globalCounts), counts: c.globalCounts,
                                      normalizer: normalizer, share: 1),
                            scoresGradient: dz, featureGradient: dh)
        }
        var problems: [String] = []
        if let e = valueError(value,
                              c.expected.loss) { problems.append("loss \(value) vs \(c.expected.loss) (error \(e))") }
        if let e = gradientError(dz.array.map(Double.init),
                                 c.expected.dlogits.flatMap { $0 }) { problems.append("dlogits max error \(e)") }
        if let e = gradientError(dh.array.map(Double.init),
                                 c.expected.dh.flatMap { $0 }) { problems.append("dh max error \(e)") }
        return problems.isEmpty ? Outcome(index: index, kind: label,
                                          error: nil) : fail(problems.joined(separator: "; "))
    }

    /// Post-hoc adjusted logits as evaluation computes them (float32 logits plus the offsets).
    static func check(_ c: PosthocCase, index: String) -> Outcome {
        let k = c.globalCounts.count
        guard c.logits.allSatisfy({ $0.count == k }), c.expected.count == c.logits.count else {
            return Outcome(index: index, kind: "posthoc",
                           error: "shapes: expected rows of \(k) logits (one per global count) and " +
                                  "as many expected rows")
        }
        let offsets = PosthocAdjustment.offsets(counts: c.globalCounts, tau: c.tau).map(Float.init)
        let got = c.logits.flatMap { row in row.enumerated().map { Double(Float($0.element) + offsets[$0.offset]) } }
        let error = gradientError(got, c.expected.flatMap { $0 }).map { "adjusted logits max error \($0)" }
        return Outcome(index: index, kind: "posthoc (tau \(c.tau))", error: error)
    }

    static func check(_ c: WeightCase, index: String) -> Outcome {
        var problems: [String] = []
        do {
            if let e = gradientError(try ClassWeights.compute(.ib, counts: c.counts),
                                     c.ib) { problems.append("ib weights error \(e)") }
            if let e = gradientError(try ClassWeights.compute(.cb, counts: c.counts),
                                     c.cb) { problems.append("cb weights error \(e)") }
        } catch {
            problems.append("\(error)")
        }
        if let e = valueError(ClassWeights.omega(counts: c.counts), c.crlOmega) { problems.append("omega error \(e)") }
        return Outcome(index: index, kind: "class weights",
                       error: problems.isEmpty ? nil : problems.joined(separator: "; "))
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
