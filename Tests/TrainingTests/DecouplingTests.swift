import Checkpoint
import Data
import Distributed
import Losses
import NN
import Tensor
import Testing
@testable import Training

/// Kang et al.'s decoupled classifiers as the training loop and evaluation use them: the phases
/// of a two-stage run, the parts of the parameters each trains, class scales folded into the
/// exported weights, and tau-normalised predictions in the evaluation.
@Suite struct DecouplingTests {
    static let shape = InputShape(channels: 1, height: 4, width: 4)

    @Test func aSecondStageIsTheLastPhase() throws {
        var config = TrainConfig()
        config.epochs = 6
        config.stage2 = .lws
        config.stage2Epochs = 3
        config.drwEpoch = .epoch(4)
        config.loss = .ce
        config.schedule = .cosine  // no phase of the schedule's own
        let phases = TrainingPhases(config)
        #expect(phases.phases.map(\.epochs) == [0..<4, 4..<6, 6..<9])
        #expect(phases.phases.map(\.stage) == [1, 1, 2])
        #expect(phases.phases.map(\.trains) == [.all, .all, .classScales])
        #expect(phases.phase(at: 7).sampler == .classBalanced && phases.phase(at: 7).weighting == .none)
        #expect(phases.index(at: 8) == 2 && config.totalEpochs == 9)
        #expect(phases.text.hasSuffix("epochs 7-9: ce, class-balanced sampling, class scales alone (stage 2: LWS)"))
        // The second stage's rate: its own half-cosine from --stage2-lr, not the first stage's decay.
        config.stage2LR = 0.4
        let second = phases.phase(at: 6)
        #expect(config.learningRate(epoch: 6, step: 0, stepsPerEpoch: 10, phase: second) == 0.4)
        #expect(abs(config.learningRate(epoch: 7, step: 5, stepsPerEpoch: 10, phase: second) - 0.2) < 1e-6)
    }

    @Test func thePartsOfTheParametersCoverTheClassifierWithoutOverlap() {
        let model = Model.make(.mlp, inputShape: Self.shape, classes: 5, seed: 1, classScales: true)
        let all = model.trainableRange(.all), classifier = model.trainableRange(.classifier)
        let scales = model.trainableRange(.classScales)
        #expect(all.lowerBound == 0 && all.upperBound == classifier.upperBound)
        #expect(classifier.upperBound == scales.lowerBound)
        #expect(scales == model.scalesRange && scales.count == 5 && scales.upperBound == model.parameters.count)
        #expect(classifier.count == 5 * 256 + 5)
        #expect((0..<5).allSatisfy { model.parameters.values[scales.lowerBound + $0] == 1 })
        // cRT's re-initialisation: a new draw of the same initialiser, within the given range only.
        let before = model.parameters.valueArray
        model.reinitializeClassifier(seed: 99, within: 0..<(classifier.lowerBound + 100))
        let after = model.parameters.valueArray
        #expect(after[..<classifier.lowerBound] == before[..<classifier.lowerBound])
        #expect(after[(classifier.lowerBound + 100)...] == before[(classifier.lowerBound + 100)...])
        #expect(after[classifier.lowerBound..<(classifier.lowerBound + 100)] != before[classifier.lowerBound..<(
            classifier.lowerBound + 100)])
        let plain = Model.make(.mlp, inputShape: Self.shape, classes: 5, seed: 1)
        #expect(plain.scalesRange.isEmpty && plain.trainableRange(.all) == 0..<plain.parameters.count)
    }

    @Test func classScalesFoldIntoTheExportedWeights() throws {
        let scaled = Model.make(.mlp, inputShape: Self.shape, classes: 4, seed: 2, classScales: true)
        for (j, s) in [0.5, 2, 1.25, 0.1].enumerated() {
            scaled.parameters.values[scaled.scalesRange.lowerBound + j] = Float(s)
        }
        let tensors = WeightsExport.tensors(of: scaled)
        #expect(!tensors.contains { $0.name.hasSuffix(".scales") })
        let plain = Model.make(.mlp, inputShape: Self.shape, classes: 4, seed: 7)
        for e in plain.parameters.entries {
            let t = try #require(tensors.first { $0.name == e.name })
            for i in 0..<e.count { plain.parameters.values[e.offset + i] = t.values[i] }
        }
        let x = Tensor(shape: [3, 16], values: (0..<48).map { Float(($0 * 7) % 11) / 11 })
        let a = scaled.forward(x, training: false).logits.array, b = plain.forward(x, training: false).logits.array
        #expect(zip(a, b).allSatisfy { abs($0 - $1) <= 1e-5 * max(1, abs($0)) })
    }

    @Test func tauNormalisedPredictionsDropTheBiasAndRescaleTheRows() throws {
        let k = 3, n = 60
        let model = Model.make(.mlp, inputShape: Self.shape, classes: k, seed: 3)
        // A bias that makes every raw prediction class 0: the tau-normalised ones ignore it.
        let bias = try #require(model.parameters.entry("fc3.bias"))
        model.parameters.values[bias.offset] = 1000
        let pixels = (0..<(n * 16)).map { Float(($0 * 37) % 101) / 101 }
        let labels = (0..<n).map { Int32($0 % k) }
        let test = Split(pixels: .floats(pixels), labels: labels, channels: 1, height: 4, width: 4)
        let evaluator = Evaluator(model: model, test: test, mean: [0], std: [1], batchSize: 7, trainingBatch: 7,
                                  comm: SingleProcessCommunicator())
        for tau in [0.0, 1.0, 2.0] {
            let e = try evaluator.evaluate(trainCounts: [50, 20, 5], posthocTau: 0, tauNorm: tau, retrieval: false)
            #expect(e.figures.test.perClass == [1, 0, 0])
            let q = try #require(e.figures.taunorm)
            // Expected: argmax_k h . w_k / ||w_k||^tau from the model's own features.
            let rows = TauNormalization.weights(try #require(model.classifierRows), classes: k, tau: tau)
            let h = model.forward(Tensor(shape: [n, 16], values: pixels), training: false).features.array
            var correct = [Int](repeating: 0, count: k)
            for i in 0..<n {
                let z = (0..<k).map { c in (0..<256).reduce(Float(0)) { $0 + h[i * 256 + $1] * rows[c * 256 + $1] } }
                if z.firstIndex(of: z.max()!) == Int(labels[i]) { correct[i % k] += 1 }
            }
            #expect(q.perClass == correct.map { Double($0) / Double(n / k) }, "tau \(tau)")
        }
        let off = try evaluator.evaluate(trainCounts: [50, 20, 5], posthocTau: 0, retrieval: false)
        #expect(off.figures.taunorm == nil)
    }
}
