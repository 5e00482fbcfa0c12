import Testing
import Tensor
@testable import NN

@Suite struct LayerGradientTests {
    @Test func linear() {
        let s = ParameterStore()
        let layer = Linear("fc", inFeatures: 7, outFeatures: 5, store: s)
        s.allocate()
        s.initialize(seed: 1)
        for i in 0..<s.count where s.entries[1].offset <= i { s.values[i] = Float(i % 3) * 0.1 }  // non-zero bias
        checkLayer("linear", layer, store: s, input: Tensor(shape: [4, 7], values: randomValues(28, seed: 2)))
    }

    @Test func relu() {
        // In place: forward rectifies its input, backward masks its gradient.
        let x = randomValues(60, seed: 3).map { $0 >= 0 ? $0 + 0.1 : $0 - 0.1 }
        let dy = randomValues(60, seed: 4)
        let relu = ReLU()
        let input = Tensor(shape: [3, 20], values: x)
        let y = relu.forward(input, training: true)
        #expect(y === input)
        #expect(y.array == x.map { max($0, 0) })
        let gradient = Tensor(shape: [3, 20], values: dy)
        let dx = relu.backward(gradient)
        #expect(dx === gradient)
        #expect(dx.array == zip(x, dy).map { $0 > 0 ? $1 : 0 })
        // The derivative by finite differences, on fresh copies of the input.
        let r = randomValues(60, seed: 5)
        let point = Tensor(shape: [3, 20], values: x)
        let loss = { () -> Double in
            let y = ReLU().forward(Tensor(shape: [3, 20], values: point.array), training: true)
            return withExtendedLifetime(y) { dotDouble(y.data, r) }
        }
        let analytic = zip(x, r).map { $0 > 0 ? $1 : 0 }
        expectGradientsMatch("relu", point: point.data, count: 60, analytic: analytic, loss: loss)
    }

    @Test(arguments: [(3, 1, 1), (3, 2, 1), (1, 1, 0), (5, 2, 2), (3, 1, 0)], [ConvolutionBackend.onednn, .im2col])
    func conv2d(geometry: (Int, Int, Int), backend: ConvolutionBackend) {
        let (kernel, stride, padding) = geometry
        let s = ParameterStore()
        let conv = Conv2d("conv", inChannels: 3, outChannels: 4, kernel: kernel, stride: stride, padding: padding,
                          bias: true, store: s, workspace: Workspace(), backend: backend)
        s.allocate()
        s.initialize(seed: 4)
        checkLayer("conv k\(kernel) s\(stride) p\(padding) \(backend)", conv, store: s,
                   input: Tensor(shape: [3, 2, 7, 6], values: randomValues(3 * 2 * 7 * 6, seed: 5)))
    }

    /// Grouped convolutions (ResNeXt): gradients by finite differences, and each group the
    /// ungrouped convolution of its own channels.
    @Test(arguments: [(2, 3, 1, 1), (4, 3, 2, 1), (2, 1, 1, 0), (4, 1, 2, 0)])
    func groupedConv2d(geometry: (Int, Int, Int, Int)) {
        let (groups, kernel, stride, padding) = geometry
        let s = ParameterStore()
        let conv = Conv2d("conv", inChannels: 8, outChannels: 4 * groups, kernel: kernel, stride: stride,
                          padding: padding, groups: groups, bias: true, store: s, workspace: Workspace())
        s.allocate()
        s.initialize(seed: 4)
        let x = Tensor(shape: [8, 2, 7, 6], values: randomValues(8 * 2 * 7 * 6, seed: 5))
        checkLayer("conv g\(groups) k\(kernel) s\(stride) p\(padding)", conv, store: s, input: x)
        let y = Array(conv.forward(x, training: false).buffer)
        let inG = 8 / groups, plane = 2 * 7 * 6
        for g in 0..<groups {
            let one = ParameterStore()
            let single = Conv2d("one", inChannels: inG, outChannels: 4, kernel: kernel, stride: stride,
                                padding: padding, bias: true, store: one, workspace: Workspace(), backend: .im2col)
            one.allocate()
            let w = s.valuesOf("conv.weight"), b = s.valuesOf("conv.bias"), per = inG * kernel * kernel
            for (i, v) in w[(g * 4 * per)..<((g + 1) * 4 * per)].enumerated() { one.values[i] = v }
            for (i, v) in b[(g * 4)..<(g * 4 + 4)].enumerated() { one.values[4 * per + i] = v }
            let start: Int = g * inG * plane, end: Int = start + inG * plane
            let part = Tensor(shape: [inG, 2, 7, 6], values: Array(x.buffer[start..<end]))
            let expected: [Float] = Array(single.forward(part, training: false).buffer)
            let n = expected.count
            let got: [Float] = Array(y[(g * n)..<((g + 1) * n)])
            var worst: Float = 0
            for i in 0..<n { worst = max(worst, abs(got[i] - expected[i]) / max(1, abs(expected[i]))) }
            #expect(worst <= 1e-5, "group \(g): \(worst)")
        }
    }

    @Test(arguments: [(2, 2, 0), (3, 2, 1), (3, 1, 1)])
    func maxPool(geometry: (Int, Int, Int)) {
        let (kernel, stride, padding) = geometry
        // Distinct values so that the maximum of each window is unique.
        var values: [Float] = (0..<180).map { (i: Int) -> Float in Float(i) * 0.01 - 1 }
        var rng = RandomSource(seed: 6)
        rng.shuffle(&values)
        checkLayer("maxpool k\(kernel) s\(stride) p\(padding)",
                   MaxPool2d(kernel: kernel, stride: stride, padding: padding), store: nil,
                   input: Tensor(shape: [2, 3, 6, 5], values: values))
    }

    @Test func globalAveragePool() {
        checkLayer("gap", GlobalAvgPool(), store: nil,
                   input: Tensor(shape: [3, 2, 4, 5], values: randomValues(120, seed: 7)))
    }

    @Test(arguments: [true, false])
    func batchNorm(training: Bool) {
        let s = ParameterStore(), b = ParameterStore(hasGradients: false)
        let bn = BatchNorm2d("bn", channels: 3, store: s, buffers: b)
        s.allocate(); b.allocate()
        s.initialize(seed: 1); b.initialize(seed: 1)
        for i in 0..<3 { s.values[i] = 0.5 + Float(i); s.values[3 + i] = Float(i)
            * 0.2; b.values[i] = 0.1; b.values[3 + i] = 1.5 }
        checkLayer("bn training=\(training)", bn, store: s,
                   input: Tensor(shape: [3, 4, 3, 2], values: randomValues(72, seed: 9, scale: 2)), training: training)
    }

    // The strided block's 32 -> 32 convolution runs Winograd's algorithm on AVX-512, whose float32
    // rounding (about 1e-5 relative) is more than finite differences resolve on 3 x 3 maps: that
    // block runs im2col here, and OneDNNConvolutionTests holds Winograd's gradients to im2col's.
    @Test(arguments: [(16, 16, 1, ConvolutionBackend.auto), (16, 32, 2, .im2col)])
    func basicBlock(inChannels: Int, planes: Int, stride: Int, backend: ConvolutionBackend) {
        let s = ParameterStore(), b = ParameterStore(hasGradients: false)
        let block = BasicBlock("block", inChannels: inChannels, planes: planes, stride: stride,
                               store: s, buffers: b, workspace: Workspace(), backend: backend)
        s.allocate(); b.allocate()
        s.initialize(seed: 2); b.initialize(seed: 2)
        let x = Tensor(shape: [inChannels, 2, 6, 6], values: randomValues(inChannels * 72, seed: 10))
        // Both modes; two ReLUs make a few sampled coordinates cross a kink.
        for training in [false, true] {
            let out = block.forward(x, training: training)
            let r = randomValues(out.count, seed: 11)
            s.zeroGradients()
            let dx = block.backward(Tensor(shape: out.shape, values: r)).array
            let dp = s.gradientArray
            let loss = { dotDouble(block.forward(x, training: training).data, r) }
            expectMostGradientsMatch("block input, training \(training)", point: x.data, count: x.count, analytic: dx,
                                     loss: loss)
            expectMostGradientsMatch("block parameters, training \(training)", point: s.values, count: s.count,
                                     analytic: dp, loss: loss)
        }
    }
}
