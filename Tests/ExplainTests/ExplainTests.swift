import CZlib
import Foundation
import NN
import Tensor
import Testing
@testable import Explain

/// LIME on a model that looks at one patch only, OpenCV's bilinear resize, and the PNG encoding.
@Suite struct ExplainTests {
    /// An mlp whose only non-zero path is: the pixels of one 4 x 4 patch -> fc1 unit 0 -> fc2
    /// unit 0 -> the logit of class 3. Every pixel of the image is positive.
    func onePatchModel(patchRow: Int, patchColumn: Int) -> (Model, [Float]) {
        let model = Model.make(.mlp, inputShape: InputShape(channels: 1, height: 28, width: 28), classes: 10, seed: 1)
        let store = model.parameters
        store.values.update(repeating: 0, count: store.count)
        func set(_ name: String, _ index: Int,
                 _ value: Float) { store.values[store.entry(name)!.offset + index] = value }
        for y in 0..<4 {
            for x in 0..<4 { set("fc1.weight", (patchRow * 4 + y) * 28 + patchColumn * 4 + x, 1) }
        }
        set("fc2.weight", 0, 1)
        set("fc3.weight", 3 * 256, 1)
        var rng = RandomSource(seed: 7)
        let image = (0..<784).map { _ in Float(0.5) + Float(rng.next() >> 40) / Float(1 << 25) }
        return (model, image)
    }

    @Test(arguments: [(3, 4), (0, 0), (6, 6)])
    func limeRanksTheOnlyPatchTheModelSeesFirst(patch: (Int, Int)) throws {
        let (model, image) = onePatchModel(patchRow: patch.0, patchColumn: patch.1)
        let explainer = try Explainer(model: model)
        let map = Lime(samples: 500, patch: 4, seed: 3).explain(explainer, image: image, target: 3)
        // One coefficient per 4 x 4 patch: its top-left pixel.
        var coefficients: [Double] = []
        for p in 0..<49 {
            let row = p / 7, column = p % 7
            coefficients.append(map.values[row * 4 * 28 + column * 4])
        }
        let best = coefficients.indices.max { coefficients[$0] < coefficients[$1] }!
        #expect(best == patch.0 * 7 + patch.1)
        let others = coefficients.enumerated().filter { $0.offset != best }.map { abs($0.element) }
        #expect(coefficients[best] > 10 * (others.max() ?? 0))
    }

    @Test func limeIsSeeded() throws {
        let (model, image) = onePatchModel(patchRow: 2, patchColumn: 5)
        let explainer = try Explainer(model: model)
        let a = Lime(samples: 200, seed: 11).explain(explainer, image: image, target: 3)
        let b = Lime(samples: 200, seed: 11).explain(explainer, image: image, target: 3)
        let c = Lime(samples: 200, seed: 12).explain(explainer, image: image, target: 3)
        #expect(a == b)
        #expect(a != c)
    }

    @Test func bilinearResizeAsOpenCV() {
        // 2 -> 4: source coordinates -0.25, 0.25, 0.75, 1.25, clamped to the edges.
        let m = ExplanationMap(height: 1, width: 2, values: [0, 1])
        #expect(BilinearResize.resize(m, height: 1, width: 4).values == [0, 0.25, 0.75, 1])
        // 7 -> 28 keeps the corners and a constant map.
        let flat = ExplanationMap(height: 7, width: 7, values: Array(repeating: 0.5, count: 49))
        #expect(BilinearResize.resize(flat, height: 28, width: 28).values.allSatisfy { abs($0 - 0.5) < 1e-15 })
    }

    @Test func layerOutputsAreNamed() throws {
        let shape = InputShape(channels: 1, height: 28, width: 28)
        let cnn = Model.make(.cnn, inputShape: shape, classes: 10, seed: 0)
        #expect(cnn.tapNames.prefix(3) == ["conv1", "relu(conv1)", "maxpool(relu(conv1))"])
        #expect(cnn.lastFeatureMap == cnn.tapIndex(of: "relu(conv3)"))
        let resnet = Model.make(.resnet32, inputShape: shape, classes: 10, seed: 0)
        #expect(resnet.lastFeatureMap == resnet.tapIndex(of: "layer3"))
        #expect(resnet.tapIndex(of: "layer3") == resnet.tapIndex(of: "layer3.4"))
        #expect(resnet.tapIndex(of: "layer2") == resnet.tapIndex(of: "layer2.4"))
        #expect(resnet.tapIndex(of: "layer") == nil)
        let mlp = Model.make(.mlp, inputShape: shape, classes: 10, seed: 0)
        #expect(mlp.lastFeatureMap == nil)
        #expect(throws: ExplainError.self) { try Explainer(model: mlp, layer: "fc1") }
    }

    /// The tapped pass leaves training's state as it was: parameter gradients and the first
    /// layer's input-gradient switch.
    @Test func tappedPassLeavesTrainingAlone() throws {
        let model = Model.make(.cnn, inputShape: InputShape(channels: 1, height: 8, width: 8), classes: 3, seed: 2)
        for i in 0..<model.parameters.count { model.parameters.gradients[i] = Float(i % 7) }
        let input = Tensor(shape: [1, 2, 8, 8], values: (0..<128).map { Float($0 % 5) - 2 })
        let t = model.tappedPass(input, tap: model.lastFeatureMap) { logits in logits.map { _ in 1 } }
        #expect((0..<model.parameters.count).allSatisfy { model.parameters.gradients[$0] == Float($0 % 7) })
        #expect(model.features.first?.needsInputGradient == false)
        #expect(t.inputGradient.count == 128 && t.inputGradient.contains { $0 != 0 })
        #expect(t.outputShape == [128, 2, 2, 2])
    }

    @Test func pngDecodesToTheSamePixels() throws {
        let (w, h) = (5, 3)
        let pixels = (0..<(w * h * 3)).map { UInt8(($0 * 37) % 256) }
        let png = [UInt8](PNG.encode(width: w, height: h, rgb: pixels))
        #expect(Array(png[0..<8]) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        func u32(_ at: Int) -> Int { png[at..<(at + 4)].reduce(0) { $0 << 8 | Int($1) } }
        #expect(String(decoding: png[12..<16], as: UTF8.self) == "IHDR" && u32(16) == w && u32(20) == h)
        // IDAT follows the 13-byte IHDR and its CRC; inflate it back.
        let idat = 8 + 12 + 13
        let length = u32(idat)
        #expect(String(decoding: png[(idat + 4)..<(idat + 8)], as: UTF8.self) == "IDAT")
        var raw = [UInt8](repeating: 0, count: h * (1 + 3 * w))
        var size = uLong(raw.count)
        let compressed = Array(png[(idat + 8)..<(idat + 8 + length)])
        #expect(uncompress(&raw, &size, compressed, uLong(length)) == Z_OK)
        for y in 0..<h {
            #expect(raw[y * (1 + 3 * w)] == 0)
            #expect(Array(raw[(y * (1 + 3 * w) + 1)..<((y + 1) * (1 + 3 * w))]) == Array(pixels[(y * 3 * w)..<((y + 1)
                * 3 * w)]))
        }
    }
}
