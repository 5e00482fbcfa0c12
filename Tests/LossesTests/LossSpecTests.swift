import Settings
import Tensor
import Testing
@testable import Losses

/// Every loss's spec builds a term that fits what the spec says of it.
@Suite struct LossSpecTests {
    @Test(arguments: LossKind.allCases)
    func specBuildsItsTerm(kind: LossKind) {
        var settings = Settings()
        settings.loss = kind
        let spec = kind.spec
        let term = spec.make(settings, 4, 3)
        // The long-tail family is the four `AdjustedSoftmaxLoss` losses; the margin heads and
        // LDAM train the cosine head.
        let adjusted = term is AdjustedSoftmaxLoss, margin = term is MarginLoss
        #expect(adjusted == [.ldam, .balancedSoftmax, .logitAdjusted, .vs].contains(kind))
        #expect((spec.head != .linear) == (margin || kind == .ldam))
        #expect(spec.twoPhase == [.ib, .ibFocal].contains(kind))
        #expect(term.needs.features == [.ib, .ibFocal, .sphereface].contains(kind))
        // Each golden parameter sets an option of the loss.
        for parameter in spec.golden {
            var s = settings
            parameter.set(&s, 2)
            let changed = (spec.options() + [Options().loss]).contains { $0.text(in: s) != $0.text(in: settings) }
            #expect(changed, "\(kind.rawValue): golden parameter \(parameter.name) sets none of its options")
        }
        #expect(settings.apply(golden: ["no_such_parameter": 1], spec.golden) == "no_such_parameter")
    }

    @Test func defaultsOfSharedOptionsComeFromTheSpecs() {
        let margins = "arcface 28.6, cosface 0.35, sphereface 4, subcenter-arcface 28.6, ldam 0.5"
        #expect(Options().margin.helpDefault == margins)
        #expect(Options().embeddingWeight.helpDefault == "center 0.01, 1 otherwise")
        #expect(ClassWeightSetting.auto.resolved(for: .focal) == .ib
            && ClassWeightSetting.auto.resolved(for: .ce) == .none)
    }

    @Test(arguments: EmbeddingLossKind.allCases)
    func embeddingSpecBuildsItsTerm(kind: EmbeddingLossKind) {
        guard let spec = kind.spec else {
            #expect(kind == .none)
            return
        }
        var settings = Settings()
        settings.embeddingLoss = kind
        let term = spec.term(settings, classes: 3, featureDimension: 2)
        #expect(term.needs.features)
        #expect((term is CenterLoss) == (kind == .center))
    }

    @Test func optionChecksRejectWhatTheyShould() {
        var s = Settings()
        #expect(Options().focalGamma.problem(in: s) == nil)
        s.focalGamma = .nan
        #expect(Options().focalGamma.problem(in: s) == "--focal-gamma must be a finite number of at least 0, got nan")
        s.scale = 0
        #expect(Options().scale.problem(in: s)?.hasPrefix("--scale must be in (0, 10000]") == true)
        s.scale = nil
        #expect(Options().scale.problem(in: s) == nil)
        s.loss = .sphereface
        s.margin = 2.5
        let problem = "--margin of sphereface is an integer multiplier in 1...16, got 2.5"
        #expect(LossKind.sphereface.spec.problems(s) == [problem])
    }
}
