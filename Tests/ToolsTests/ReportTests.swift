import Foundation
import Testing
@testable import Tools
@testable import Training

/// report.html shows the retrieval figures of the runs that have them, and only those.
@Suite struct ReportTests {
    func line(_ event: String, epoch: Int, retrieval: Bool) -> EpochMetrics {
        let counts = [600, 300, 100, 60]
        let test = AccuracyFigures(confusion: [[9, 1, 0, 0], [1, 7, 2, 0], [0, 4, 6, 0], [1, 2, 3, 4]], accuracy: 0.7,
                                   perClass: [0.9, 0.7, 0.6, 0.4], balanced: 0.65, many: 0.9, medium: 0.6, few: 0.4)
        let training = TrainingFigures(trainLoss: 1.0 / Double(epoch + 1), lossPhase: "ce", classCounts: counts,
                                       classWeights: [1, 1, 1, 1],
                                       omega: 0, samplesPerS: 1000, epochSeconds: 1, skippedSteps: 0,
                                       exposedCommSeconds: 0, worldSize: 1)
        var m = EpochMetrics(event: event, epoch: epoch, step: 10 * (epoch + 1), lr: 0.1, training: training,
                             figures: TestFigures(test: test))
        if retrieval {
            m.figures.retrieval = RetrievalMetrics(precisionAt1: 0.8125 + 0.01 * Double(epoch), rPrecision: 0.5,
                                                   mapAtR: 0.375,
                                                   precisionAt1PerClass: [0.95, 0.85, 0.75, 0.3125],
                                                   rPrecisionPerClass: [],
                                                   mapAtRPerClass: [])
        }
        return m
    }

    @Test func retrievalShownWhenMeasured() throws {
        let metrics = (0..<3).map { line("epoch", epoch: $0, retrieval: true) } + [line("done", epoch: 2,
                                                                                        retrieval: true)]
        let html = Report.html(metrics: metrics, config: TrainConfig())
        #expect(html.contains("Retrieval on the test features"))
        #expect(html.contains("83.25% / 50.00% / 37.50%"))  // the final line's precision@1 / R-precision / MAP@R
        #expect(html.contains("few-class precision@1</th><td>31.25%"))  // the one class of the bottom 30%
        #expect(html.contains("retrieval precision@1</text>"))
        #expect(html.contains(">31.25%</text>"))  // the per-class bar of the last class
    }

    @Test func noRetrievalInOlderRuns() throws {
        let metrics = (0..<3).map { line("epoch", epoch: $0, retrieval: false) } + [line("done", epoch: 2,
                                                                                         retrieval: false)]
        let html = Report.html(metrics: metrics, config: TrainConfig())
        // (the configuration table names the option retrieval-every, so look for the parts)
        #expect(!html.contains("Retrieval"))
        #expect(!html.contains("retrieval:") && !html.contains("retrieval precision@1"))
        #expect(html.contains("Per-class accuracy and training counts"))
    }

    /// `--retrieval-every 2`: epochs without retrieval between measured ones; the final figures
    /// and the curve come from the measured epochs.
    @Test func retrievalOfSomeEpochs() throws {
        let metrics = (0..<4).map { line("epoch", epoch: $0, retrieval: $0 % 2 == 1) } + [line("done", epoch: 3,
                                                                                               retrieval: true)]
        let html = Report.html(metrics: metrics, config: TrainConfig())
        #expect(html.contains("Retrieval on the test features"))
        #expect(html.contains("84.25% / 50.00% / 37.50%"))  // the done line's (epoch 3)
        #expect(!html.contains("NaN") && !html.contains("nan,"))
    }

    @Test func classesNamedWhenKnown() throws {
        let metrics = (0..<2).map { line("epoch", epoch: $0, retrieval: false) } + [line("done", epoch: 1,
                                                                                         retrieval: false)]
        let named = Report.html(metrics: metrics, config: TrainConfig(),
                                classNames: ["cat", "dog", "<b>bird</b>", "fish"])
        #expect(named.contains(">3 fish</text>") && named.contains(">2 &lt;b&gt;bird&lt;/b&gt;</text>"))
        #expect(named.contains("worst class</th><td>3 fish (40.00%)"))
        // Names that do not fit the classes are not shown.
        let wrong = Report.html(metrics: metrics, config: TrainConfig(), classNames: ["cat", "dog"])
        #expect(!wrong.contains("cat") && wrong.contains(">class 3</text>"))
    }

    @Test func posthocShownWhenOn() throws {
        var done = line("done", epoch: 1, retrieval: false)
        done.figures.posthoc = AccuracyFigures(confusion: [[8, 2, 0, 0], [1, 7, 2, 0], [0, 2, 8, 0], [0, 1, 1, 8]],
                                               trainCounts: [600, 300, 100, 60])
        var config = TrainConfig()
        config.posthocTau = 1
        let html = Report.html(metrics: [line("epoch", epoch: 0, retrieval: false), done], config: config)
        #expect(html.contains("post-hoc adjusted (tau 1): accuracy / balanced</th><td>77.50% / 77.50%"))
        #expect(html.contains("post-hoc adjusted: many / medium / few</th><td>80.00% / 75.00% / 80.00%"))
        #expect(!Report.html(metrics: [line("done", epoch: 0, retrieval: false)], config: config).contains("post-hoc"))
    }
}
