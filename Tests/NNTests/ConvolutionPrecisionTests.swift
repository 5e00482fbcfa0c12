import Foundation
import Testing
@testable import NN
@testable import Tensor
import Settings

/// `--precision bf16` per convolution and pass: the plan's text, its application to a model,
/// each pass alone in bfloat16 against float32, and the start-up measurement.
struct ConvolutionPrecisionTests {
    @Test func planTextRoundTrips() throws {
        let plan = try #require(ConvolutionPrecisionPlan.parse(["layer1.0.conv1:bfb,conv1:bff"]))
        #expect(plan.entries == [.init(name: "layer1.0.conv1", passes: [.forward, .backwardWeights]),
                                 .init(name: "conv1", passes: [.forward])])
        #expect(plan.text == "layer1.0.conv1:bfb,conv1:bff")
        #expect(ConvolutionPrecisionPlan.parse(["none"])?.entries == [])
        // A convolution with every pass in float32 is not listed.
        #expect(ConvolutionPrecisionPlan.parse(["conv1:fff"])?.text == "none")
        let json = try JSONEncoder().encode(plan)
        #expect(try JSONDecoder().decode(ConvolutionPrecisionPlan.self, from: json) == plan)
        for bad in ["", "conv1", "conv1:bb", "conv1:bbx", ":bbb", "conv1:bbb,conv1:fff", "conv1:bbb,", "a:b:c"] {
            #expect(ConvolutionPrecisionPlan.parse([bad]) == nil, "\(bad)")
        }
        for passes in (0..<8).map({ ConvolutionPasses(rawValue: $0) }) {
            #expect(ConvolutionPasses(letters: passes.letters) == passes)
        }
    }

    @Test func planAppliesToTheModelsConvolutions() throws {
        let model = Model.make(.resnet10, inputShape: InputShape(channels: 3, height: 16, width: 16), classes: 4,
                               seed: 1, precision: .bf16)
        let names = model.convolutions.map(\.name)
        #expect(names.count == 12 && names.contains("conv1") && names.contains("layer2.0.downsample.0"))
        #expect(model.convolutions.allSatisfy { $0.bfloat16Passes == .all })
        let plan = try #require(ConvolutionPrecisionPlan.parse(["layer1.0.conv2:fbf,conv1:bff"]))
        try plan.apply(to: model)
        for c in model.convolutions {
            let expected: ConvolutionPasses = c.name == "conv1" ? .forward : c.name == "layer1.0.conv2" ? .backwardData
                : []
            #expect(c.bfloat16Passes == expected, "\(c.name)")
        }
        #expect(plan.summary(convolutions: names.count) ==
                "bfloat16 in forward 1, backward data 1, backward weights 0 of 12 convolutions (float32 elsewhere)")
        let wrong = try #require(ConvolutionPrecisionPlan.parse(["layer9.conv1:bbb"]))
        #expect(throws: OptionError.self) { try wrong.apply(to: model) }
    }

    /// Each pass alone in bfloat16: that pass's result carries bfloat16's rounding (about 1e-3
    /// of the largest value, below 1e-2), the others float32's (below 1e-5). Where oneDNN has no
    /// bfloat16 kernels (AVX2) the layer falls back to float32 im2col and says why.
    @Test(arguments: [ConvolutionPasses.forward, .backwardData, .backwardWeights])
    func onePassInBFloat16(pass: ConvolutionPasses) {
        let (c, k, side, batch) = (16, 32, 10, 4)
        let storeA = ParameterStore(), storeB = ParameterStore()
        let mixed = Conv2d("c", inChannels: c, outChannels: k, kernel: 3, padding: 1, bias: true, store: storeA,
                           workspace: Workspace(), backend: .onednn)
        mixed.bfloat16Passes = pass
        let reference = Conv2d("c", inChannels: c, outChannels: k, kernel: 3, padding: 1, bias: true, store: storeB,
                               workspace: Workspace(), backend: .im2col)
        for s in [storeA, storeB] {
            s.allocate()
            s.initialize(seed: 21)
            s.accumulatesGradients = false
        }
        let x = randomValues(c * batch * side * side, seed: 22)
        let a = mixed.forward(Tensor(shape: [c, batch, side, side], values: x), training: true)
        let b = reference.forward(Tensor(shape: [c, batch, side, side], values: x), training: true)
        let dy = randomValues(b.count, seed: 23)
        let dxA = mixed.backward(Tensor(shape: b.shape, values: dy))
        let dxB = reference.backward(Tensor(shape: b.shape, values: dy))
        let weights = c * k * 9  // the bias gradient (a sum of dy) never reads bfloat16
        let errors = [errorOfLargest(a.data, b.data, b.count), errorOfLargest(dxA.data, dxB.data, dxB.count),
                      errorOfLargest(storeA.gradients, storeB.gradients, weights)]
        guard OneDNN.isa.hasPrefix("avx512") else {
            #expect(mixed.backend == .im2col && mixed.fallbackReason != nil)
            return
        }
        #expect(mixed.backend == .onednn, "\(mixed.fallbackReason ?? "")")
        for (i, one) in ConvolutionPasses.ordered.enumerated() {
            if one == pass {
                #expect(errors[i] > 1e-5 && errors[i] < 1e-2, "\(ConvolutionPasses.names[i]) in bfloat16: \(errors)")
            } else {
                #expect(errors[i] < 1e-5, "\(ConvolutionPasses.names[i]) in float32: \(errors)")
            }
        }
    }

    /// The measurement times every convolution on oneDNN, leaves the running statistics and the
    /// parameters as they were, and plans no more time than float32 takes; its plan applies.
    @Test func measurementLeavesTheModelAlone() throws {
        let model = Model.make(.resnet10, inputShape: InputShape(channels: 3, height: 16, width: 16), classes: 4,
                               seed: 2, precision: .bf16)
        for i in 0..<model.buffers.count { model.buffers.values[i] = Float(i % 7) * 0.25 + 0.5 }
        let buffers = Array(UnsafeBufferPointer(start: model.buffers.values, count: model.buffers.count))
        let parameters = Array(UnsafeBufferPointer(start: model.parameters.values, count: model.parameters.count))
        let m = ConvolutionPrecisionPlan.measure(model, batch: 3, repeats: 2)
        #expect(Array(UnsafeBufferPointer(start: model.buffers.values, count: model.buffers.count)) == buffers)
        #expect(Array(UnsafeBufferPointer(start: model.parameters.values, count: model.parameters.count)) == parameters)
        let onOneDNN = model.convolutions.filter { $0.backend == .onednn }.count
        #expect(m.convolutions == onOneDNN)
        #expect(m.shapes <= m.convolutions && (onOneDNN == 0 || m.shapes > 0))
        #expect(m.plannedSeconds <= m.float32Seconds)
        #expect(m.plan.entries.allSatisfy { e in model.convolutions.contains { $0.name == e.name } })
        try m.plan.apply(to: model)
    }
}
