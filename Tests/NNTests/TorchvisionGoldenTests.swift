import Foundation
import Testing
import Tensor
@testable import NN

/// torchvision's ResNets against PyTorch (Tests/golden/torchvision/models.json, from
/// Tests/golden/generate/torchvision_models.py): weights and inputs from one formula both sides
/// compute, so no weights are committed; logits, loss and every parameter's gradient (sums and
/// samples) in training and evaluation mode at 64 px, and resnet50's forward at 224 px. Each
/// figure within 1e-4 relative, or, where PyTorch's own float32 is further from its float64, within
/// 4 times PyTorch's float32 error (`float32_error`): the training-mode gradients of the bottleneck
/// networks are ill-conditioned at batch 2 (sums that cancel; PyTorch's float32 is up to 15% of a
/// tensor's mean gradient off its float64 there). The convolutions run on im2col: oneDNN's Winograd
/// kernels, which the layer tests check against im2col, are about 1e-3 relative off float64 over
/// resnet34's depth.
@Suite struct TorchvisionGoldenTests {
    static let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../golden/torchvision/models.json").standardized.path

    struct Gradient: Decodable { var sum: Double, abs_sum: Double, samples: [[Double]] }
    struct Errors: Decodable { var logits: Double, loss: Double, gradients: Double? }
    struct Case: Decodable {
        var model: String, mode: String, size: Int, logits: [Double], loss: Double
        var gradients: [String: Gradient]?
        var float32_error: Errors
    }
    /// The tolerance of a figure whose PyTorch float32 error is `error`.
    static func tolerance(_ error: Double?) -> Double { max(1e-4, 4 * (error ?? 0)) }
    struct File: Decodable { var cases: [Case] }

    /// The generator's uniform-looking values in [-0.5, 0.5).
    static func u(_ i: Int, _ c: Int) -> Double {
        let v = sin(12.9898 * Double(i) + 78.233 * Double(c)) * 43758.5453
        return v - v.rounded(.down) - 0.5
    }

    /// The generator's formula for the tensor `name` of `shape`.
    static func formula(_ name: String, _ shape: [Int]) -> [Float] {
        let n = shape.reduce(1, *)
        let c = name.utf8.reduce(0) { $0 + Int($1) } % 97
        let fanIn = Double(shape.dropFirst().reduce(1, *))
        return (0..<n).map { i in
            let s = u(i, c)
            if name.hasSuffix("running_mean") { return Float(0.1 * s) }
            if name.hasSuffix("running_var") { return Float(1 + 0.5 * abs(s)) }
            if name.hasSuffix("weight"), shape.count == 1 { return Float(1 + 0.1 * s) }
            if name.hasSuffix("bias") { return Float(0.1 * s) }
            return Float(s * (24 / fanIn).squareRoot())
        }
    }

    static func load(_ store: ParameterStore) {
        for e in store.entries where !e.name.hasSuffix("num_batches_tracked") {
            for (i, v) in formula(e.name, e.shape).enumerated() { store.values[e.offset + i] = v }
        }
    }

    @Test func everyModelEqualsTorchvision() throws {
        let cases = try JSONDecoder().decode(File.self, from: Data(contentsOf: URL(fileURLWithPath: Self.path))).cases
        #expect(cases.count == 11)
        for g in cases {
            let label = "\(g.model) \(g.mode) \(g.size) px"
            let architecture = try #require(Architecture(rawValue: g.model))
            let size = g.size, batch = 2
            let model = Model.make(architecture, inputShape: InputShape(channels: 3, height: size, width: size),
                                   classes: 10, seed: 0, convolutions: .im2col)
            Self.load(model.parameters)
            Self.load(model.buffers)
            // torch's (B, C, H, W) input as (C, B, H, W).
            let plane = size * size
            var x = [Float](repeating: 0, count: batch * 3 * plane)
            for b in 0..<batch {
                for c in 0..<3 {
                    for p in 0..<plane {
                        x[(c * batch + b) * plane + p] = Float(2 * Self.u((b * 3 + c) * plane + p, 0))
                    }
                }
            }
            let (z, _) = model.forward(Tensor(shape: [3, batch, size, size], values: x), training: g.mode == "train")
            let logits = Array(z.buffer)
            let scale = g.logits.map(abs).max() ?? 1
            let worst = zip(logits, g.logits).map { abs(Double($0) - $1) }.max() ?? .infinity
            #expect(worst <= Self.tolerance(g.float32_error.logits) * scale,
                    "\(label): logits differ by \(worst) (largest \(scale))")
            // Mean cross-entropy over labels 1 and 3, and its gradient.
            var loss = 0.0
            var dz = [Float](repeating: 0, count: logits.count)
            for (b, y) in [1, 3].enumerated() {
                let row = logits[(b * 10)..<(b * 10 + 10)].map(Double.init)
                let m = row.max()!, sum = row.map { exp($0 - m) }.reduce(0, +)
                loss += (m + log(sum) - row[y]) / 2
                for k in 0..<10 { dz[b * 10 + k] = Float((exp(row[k] - m) / sum - (k == y ? 1 : 0)) / 2) }
            }
            #expect(abs(loss - g.loss) <= Self.tolerance(g.float32_error.loss) * abs(g.loss),
                    "\(label): loss \(loss), PyTorch \(g.loss)")
            guard let expected = g.gradients else { continue }
            model.parameters.zeroGradients()
            model.backward(logitsGradient: Tensor(shape: [batch, 10], values: dz), featureGradient: nil)
            #expect(Set(expected.keys) == Set(model.parameters.entries.map(\.name)), "\(label): parameter names")
            let tolerance = Self.tolerance(g.float32_error.gradients)
            for e in model.parameters.entries {
                guard let want = expected[e.name] else { continue }
                let grad = UnsafeBufferPointer(start: model.parameters.gradients + e.offset, count: e.count)
                let sum = grad.reduce(0.0) { $0 + Double($1) }
                let mean = want.abs_sum / Double(e.count)
                #expect(abs(sum - want.sum) <= tolerance * want.abs_sum + 1e-12,
                        "\(label) \(e.name): sum \(sum), \(want.sum)")
                for sample in want.samples {
                    let i = Int(sample[0]), v = Double(grad[i])
                    #expect(abs(v - sample[1]) <= tolerance * max(abs(sample[1]), mean) + 1e-12,
                            "\(label) \(e.name)[\(i)]: \(v), PyTorch \(sample[1])")
                }
            }
        }
    }
}
