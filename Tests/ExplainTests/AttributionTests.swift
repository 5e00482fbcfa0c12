import Foundation
import NN
import Tensor
import Testing
@testable import Explain

/// Properties of the attribution methods that hold whatever the weights (the golden file
/// checks their values against captum and pytorch-grad-cam).
@Suite struct AttributionTests {
    func setup(_ architecture: Architecture, seed: UInt64) throws -> (Explainer, Tensor, Int) {
        let model = Model.make(architecture, inputShape: InputShape(channels: 1, height: 28, width: 28), classes: 10,
                               seed: seed,
                               convolutions: .im2col)
        var rng = RandomSource(seed: seed &+ 9)
        let image = (0..<784).map { _ in Float(rng.nextNormal()) }
        let input = Tensor(shape: model.inputLayout == .rows ? [1, 784] : [1, 1, 28, 28], values: image)
        return (try Explainer(model: model), input, Int(seed % 10))
    }

    func request(_ e: Explainer, _ input: Tensor, _ target: Int,
                 _ settings: ExplainSettings = ExplainSettings()) -> ExplainInput {
        ExplainInput(input: input, classes: [target], pass: e.pass(input, classes: [target]), settings: settings)
    }

    /// Gauss-Legendre on [0, 1]: n = 2 is 0.5 -+ 0.5/sqrt(3) with weights 1/2; 50 points
    /// integrate polynomials up to degree 99 exactly.
    @Test func gaussLegendreNodes() {
        let (x2, w2) = Explainer.gaussLegendre(2)
        #expect(abs(x2[0] - (0.5 - 0.5 / 3.0.squareRoot())) < 1e-14
            && abs(x2[1] - (0.5 + 0.5 / 3.0.squareRoot())) < 1e-14)
        #expect(abs(w2[0] - 0.5) < 1e-14 && abs(w2[1] - 0.5) < 1e-14)
        let (x, w) = Explainer.gaussLegendre(50)
        #expect(zip(x, x.dropFirst()).allSatisfy { $0 < $1 } && x.first! > 0 && x.last! < 1)
        for degree in [0, 7, 60, 99] {
            let integral = zip(x, w).reduce(0.0) { $0 + $1.1 * pow($1.0, Double(degree)) }
            #expect(abs(integral - 1 / Double(degree + 1)) < 1e-12, "degree \(degree): \(integral)")
        }
    }

    /// Completeness: the attributions add up to z_c(x) - z_c(0) (up to the quadrature's error
    /// at the ReLUs' kinks).
    @Test(arguments: [(Architecture.mlp, UInt64(1)), (.cnn, 2)])
    func integratedGradientsAddUpToTheLogitChange(architecture: Architecture, seed: UInt64) throws {
        let (e, input, target) = try setup(architecture, seed: seed)
        let attribution = e.integratedGradients(request(e, input, target))[0].values.reduce(0, +)
        let zero = Tensor(shape: input.shape)
        let change = Double(e.model.forward(input, training: false).logits.data[target])
            - Double(e.model.forward(zero, training: false).logits.data[target])
        #expect(abs(attribution - change) <= 0.02 * max(abs(change), 1e-3),
                "sum \(attribution), logit change \(change)")
    }

    /// SmoothGrad without noise is the saliency; with noise it is seeded.
    @Test func smoothGradWithoutNoiseIsSaliency() throws {
        let (e, input, target) = try setup(.cnn, seed: 3)
        var settings = ExplainSettings()
        settings.noiseStdev = 0
        settings.noiseSamples = 3
        let smooth = e.smoothGrad(request(e, input, target, settings))[0].values
        let saliency = e.saliency(e.pass(input, classes: [target]))[0].values
        #expect(zip(smooth, saliency).allSatisfy { abs($0 - $1) <= 1e-12 * max(1, abs($1)) })
        settings.noiseStdev = 0.5
        let a = e.smoothGrad(request(e, input, target, settings)), b = e.smoothGrad(request(e, input, target, settings))
        settings.seed = 1
        let c = e.smoothGrad(request(e, input, target, settings))
        #expect(a == b && a != c)
    }

    /// A window as large as the image occludes it all: every pixel gets z_c(x) - z_c(0).
    @Test func occlusionOfTheWholeImage() throws {
        let (e, input, target) = try setup(.cnn, seed: 4)
        var settings = ExplainSettings()
        settings.window = 28
        settings.stride = 28
        let map = e.occlusion(request(e, input, target, settings))[0]
        let change = Double(e.model.forward(input, training: false).logits.data[target])
            - Double(e.model.forward(Tensor(shape: input.shape), training: false).logits.data[target])
        #expect(map.values.allSatisfy { abs($0 - change) <= 1e-5 * max(1, abs(change)) })
    }

    /// Guided backpropagation and deconvnet change how the ReLUs pass the gradient back, for
    /// their pass only: the next exact pass gives the gradient again.
    @Test func modifiedGradientsRestoreTheModel() throws {
        let (e, input, target) = try setup(.cnn, seed: 5)
        let before = e.pass(input, classes: [target]).inputGradient
        let guided = e.pass(input, classes: [target], reluGradient: .guided).inputGradient
        let deconvnet = e.pass(input, classes: [target], reluGradient: .deconvnet).inputGradient
        #expect(guided != before && deconvnet != before && guided != deconvnet)
        // The pass restores the exact rule: the next gradient is the first one again.
        #expect(e.pass(input, classes: [target]).inputGradient == before)
    }

    /// The CAM family's maps are shown in [0, 1] with a maximum of 1 (or all zero).
    @Test(arguments: [ExplainMethod.xgradcam, .hirescam, .layercam, .scorecam])
    func camFamilyMapsAreScaled(method: ExplainMethod) throws {
        let (e, input, target) = try setup(.cnn, seed: 6)
        let map = method.spec.maps!(e, request(e, input, target))[0]
        #expect(map.height == 28 && map.width == 28)
        #expect(map.values.allSatisfy { $0 >= 0 && $0 <= 1 })
        #expect(map.values.allSatisfy { $0 == 0 } || abs((map.values.max() ?? 0) - 1) < 1e-6)
    }
}

/// Deletion and insertion: a map that ranks the pixels the model uses first is more faithful
/// (smaller deletion area, larger insertion area) than one that ranks them last.
@Suite struct FaithfulnessTests {
    @Test func areaOfEvenlySampledCurves() {
        #expect(Faithfulness.area([0.3, 0.3, 0.3]) == 0.3)
        #expect(abs(Faithfulness.area([1, 0.75, 0.5, 0.25, 0]) - 0.5) < 1e-15)
    }

    @Test func theMapOfTheUsedPatchIsTheFaithfulOne() throws {
        let (model, image) = ExplainTests().onePatchModel(patchRow: 3, patchColumn: 2)
        var right = ExplanationMap(height: 28, width: 28, values: [Double](repeating: 0, count: 784))
        for y in 12..<16 { for x in 8..<12 { right.values[y * 28 + x] = 1 } }
        let wrong = ExplanationMap(height: 28, width: 28, values: right.values.map { 1 - $0 })
        let good = Faithfulness.measure(model, image: image, map: right, target: 3, steps: 28)
        let bad = Faithfulness.measure(model, image: image, map: wrong, target: 3, steps: 28)
        #expect(good.deletion.count == 29 && good.insertion.count == 29)
        #expect(good.deletion.first == bad.deletion.first && good.insertion.first == bad.insertion.first)
        #expect(good.deletionArea < bad.deletionArea - 0.1, "deletion \(good.deletionArea) vs \(bad.deletionArea)")
        #expect(good.insertionArea > bad.insertionArea + 0.1, "insertion \(good.insertionArea) vs \(bad.insertionArea)")
    }
}

/// The visualisation of intermediate layers: channels ranked by their mean activation, and the
/// first layer's filters as a grid.
@Suite struct FeatureViewTests {
    @Test func strongestChannelsComeFirst() throws {
        let model = Model.make(.cnn, inputShape: InputShape(channels: 1, height: 28, width: 28), classes: 10, seed: 8,
                               convolutions: .im2col)
        var rng = RandomSource(seed: 9)
        let input = Tensor(shape: [1, 2, 28, 28], values: (0..<(2 * 784)).map { _ in Float(rng.nextNormal()) })
        let explainer = try Explainer(model: model)
        let views = FeatureView.strongest(explainer, input: input, images: 2, count: 5)
        #expect(views.count == 2 && views.allSatisfy { $0.count == 5 })
        for channels in views {
            #expect(zip(channels, channels.dropFirst()).allSatisfy { $0.mean >= $1.mean })
            for c in channels { #expect(abs(c.map.values.reduce(0, +) / Double(c.map.values.count) - c.mean) < 1e-9) }
        }
        let filters = try #require(FeatureView.filters(model))
        #expect(filters.count == 32 && filters.rgb.count == filters.height * filters.width * 3)
    }
}
