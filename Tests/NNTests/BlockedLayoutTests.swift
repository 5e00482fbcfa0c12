import Foundation
import Testing
@testable import Tensor
@testable import NN

/// Activations in oneDNN's blocked layout (`ActivationLayout.blocked`) against the plain one: the
/// conversions, batch norm, the convolutions (oneDNN's where it is present, and the im2col path
/// given a blocked input) and a residual block that keeps its inner activations blocked.
struct BlockedLayoutTests {
    /// A tensor's values in the plain layout.
    func plainValues(_ t: Tensor) -> [Float] {
        let p = Tensor(shape: [1])
        t.copyPlain(into: p)
        return p.array
    }

    /// A copy of the plain `t` in `layout`.
    func copy(_ t: Tensor, _ layout: ActivationLayout) -> Tensor {
        let out = Tensor(shape: [1])
        t.copy(into: out, layout: layout)
        return out
    }

    /// Largest |a - b| over max(1, |b|).
    func worst(_ a: [Float], _ b: [Float]) -> Float {
        #expect(a.count == b.count)
        var m: Float = 0
        for i in 0..<min(a.count, b.count) { m = max(m, abs(a[i] - b[i]) / max(1, abs(b[i]))) }
        return m
    }

    /// `errorOfLargest` of two arrays.
    func ofLargest(_ a: [Float], _ b: [Float]) -> Float {
        #expect(a.count == b.count && !a.isEmpty)
        guard a.count == b.count, !a.isEmpty else { return .infinity }
        return a.withUnsafeBufferPointer { p in
            b.withUnsafeBufferPointer { q in errorOfLargest(p.baseAddress!, q.baseAddress!, p.count) }
        }
    }

    @Test(arguments: [8, 16])
    func conversionsPlaceEachElement(block: Int) {
        let (c, b, h, w) = (2 * block, 3, 2, 5)
        let x = Tensor(shape: [c, b, h, w], values: (0..<(c * b * h * w)).map(Float.init))
        let blocked = copy(x, .blocked(block))
        #expect(blocked.layout == .blocked(block) && blocked.shape == x.shape)
        for (ch, n, i) in [(0, 0, 0), (block + 3, 2, 7), (c - 1, 1, h * w - 1)] {
            // (B, C / k, P, k): sample n, block ch / k, position i, lane ch % k.
            let at = ((n * (c / block) + ch / block) * h * w + i) * block + ch % block
            #expect(blocked[at] == x[(ch * b + n) * h * w + i])
        }
        #expect(plainValues(blocked) == x.array)
    }

    /// Two norms over one parameter layout: one fed plain, one blocked, outputs, running
    /// statistics, input and parameter gradients alike, training and evaluating.
    @Test(arguments: [8, 16])
    func batchNormMatchesPlain(block: Int) {
        let c = 2 * block
        let stores = (0..<2).map { _ in (ParameterStore(), ParameterStore(hasGradients: false)) }
        let norms = stores.map { BatchNorm2d("bn", channels: c, store: $0.0, buffers: $0.1) }
        for (s, b) in stores {
            s.allocate(); b.allocate(); s.initialize(seed: 3); b.initialize(seed: 3)
            for i in 0..<s.count { s.values[i] = 1 + randomValues(s.count, seed: 4)[i] / 2 }
        }
        let x = Tensor(shape: [c, 3, 5, 7], values: randomValues(c * 105, seed: 5, scale: 3))
        let dy = Tensor(shape: x.shape, values: randomValues(x.count, seed: 6))
        for training in [true, false] {
            let plain = norms[0].forward(x, training: training)
            let blocked = norms[1].forward(copy(x, .blocked(block)), training: training)
            #expect(blocked.layout == .blocked(block))
            #expect(worst(plainValues(blocked), plain.array) < 1e-5, "output, training \(training)")
            #expect(worst(stores[1].1.valueArray, stores[0].1.valueArray) < 1e-6, "running statistics")
            for (s, _) in stores { s.zeroGradients() }
            let dxPlain = norms[0].backward(copy(dy, .plain)).array
            let dxBlocked = norms[1].backward(copy(dy, .blocked(block)))
            #expect(dxBlocked.layout == .blocked(block))
            #expect(worst(plainValues(dxBlocked), dxPlain) < 1e-5, "input gradient, training \(training)")
            #expect(worst(stores[1].0.gradientArray, stores[0].0.gradientArray) < 1e-5, "parameter gradients")
        }
    }

    /// A convolution given a blocked input and asked for a blocked output against one plain
    /// throughout, on each backend there is (the im2col path converts).
    @Test(arguments: [(16, 32, 2, 3, 1), (32, 16, 1, 3, 1), (64, 64, 2, 3, 16), (32, 64, 1, 1, 1)])
    func convolutionMatchesPlain(inChannels: Int, outChannels: Int, stride: Int, kernel: Int, groups: Int) {
        let block = ActivationLayout.preferredBlocked(channels: 16).block
        // oneDNN in the block it prefers and in the other (through its reorders); im2col converts.
        let runs: [(ConvolutionBackend, ActivationLayout)] = block > 0
            ? [(.onednn, .blocked(block)), (.onednn, .blocked(24 - block)), (.im2col, .blocked(block))]
            : [(.im2col, .blocked(16)), (.im2col, .blocked(8))]
        for (backend, layout) in runs {
            let stores = [ParameterStore(), ParameterStore()]
            let convs = stores.map {
                Conv2d("c", inChannels: inChannels, outChannels: outChannels, kernel: kernel, stride: stride,
                       padding: kernel / 2, groups: groups, bias: false, store: $0, workspace: Workspace(),
                       backend: backend)
            }
            for s in stores { s.allocate(); s.initialize(seed: 7) }
            convs[1].outputLayout = layout
            let x = Tensor(shape: [inChannels, 5, 9, 9], values: randomValues(inChannels * 405, seed: 8))
            let plain = convs[0].forward(x, training: true)
            let blocked = convs[1].forward(copy(x, layout), training: true)
            #expect(blocked.layout == (backend == .onednn ? layout : .plain), "\(backend) \(layout)")
            #expect(worst(plainValues(blocked), plain.array) < 1e-5, "\(backend) \(layout) output")
            let dy = Tensor(shape: plain.shape, values: randomValues(plain.count, seed: 9))
            let dxPlain = convs[0].backward(dy).array
            let dxBlocked = convs[1].backward(blocked.layout == .plain ? dy : copy(dy, layout))
            #expect(dxBlocked.layout == layout, "\(backend) \(layout): the input gradient in the input's layout")
            #expect(worst(plainValues(dxBlocked), dxPlain) < 1e-5, "\(backend) \(layout) input gradient")
            #expect(worst(stores[1].gradientArray, stores[0].gradientArray) < 1e-4,
                    "\(backend) \(layout) weight gradient")
        }
    }

    /// bfloat16 passes on blocked activations (oneDNN's reorders round them) against plain ones
    /// (the program's conversion where the CPU has AVX512_BF16, else oneDNN's): the same bits
    /// rounded, so the same results to float32's summation order. On AVX-512 only.
    @Test func bfloat16MatchesPlain() {
        guard OneDNN.isa.hasPrefix("avx512") else { return }
        let layout = ActivationLayout.blocked(16)
        let stores = [ParameterStore(), ParameterStore()]
        let convs = stores.map {
            Conv2d("c", inChannels: 32, outChannels: 32, kernel: 3, padding: 1, bias: false, store: $0,
                   workspace: Workspace(), backend: .onednn, precision: .bf16)
        }
        for s in stores { s.allocate(); s.initialize(seed: 17) }
        convs[1].outputLayout = layout
        let x = Tensor(shape: [32, 6, 7, 7], values: randomValues(32 * 294, seed: 18))
        let plain = convs[0].forward(x, training: true)
        let blocked = convs[1].forward(copy(x, layout), training: true)
        #expect(blocked.layout == layout && convs[1].backend == .onednn)
        #expect(ofLargest(plainValues(blocked), plain.array) < 1e-5, "output")
        let dy = Tensor(shape: plain.shape, values: randomValues(plain.count, seed: 19))
        let dxPlain = convs[0].backward(dy).array
        let dxBlocked = plainValues(convs[1].backward(copy(dy, layout)))
        #expect(ofLargest(dxBlocked, dxPlain) < 1e-5, "input gradient")
        #expect(ofLargest(stores[1].gradientArray, stores[0].gradientArray) < 1e-5, "weight gradient")
        // And bfloat16's rounding is there: float32 differs by more.
        let store = ParameterStore()
        let f32 = Conv2d("c", inChannels: 32, outChannels: 32, kernel: 3, padding: 1, bias: false, store: store,
                         workspace: Workspace(), backend: .onednn)
        store.allocate()
        store.initialize(seed: 17)
        #expect(ofLargest(f32.forward(x, training: true).array, plain.array) > 1e-4)
    }

    /// A residual block with its inner activations blocked against one plain throughout: the
    /// same output (plain), input gradient, parameter gradients and running statistics.
    @Test(arguments: [(16, 16, 1), (16, 32, 2)])
    func basicBlockMatchesPlain(inChannels: Int, planes: Int, stride: Int) {
        let stores = (0..<2).map { _ in (ParameterStore(), ParameterStore(hasGradients: false)) }
        let blocks = stores.map {
            BasicBlock("block", inChannels: inChannels, planes: planes, stride: stride, store: $0.0, buffers: $0.1,
                       workspace: Workspace())
        }
        for (s, b) in stores { s.allocate(); b.allocate(); s.initialize(seed: 12); b.initialize(seed: 12) }
        blocks[0].innerLayout = .plain
        blocks[1].innerLayout = .blocked(16)  // (plain where the convolutions run im2col)
        let x = Tensor(shape: [inChannels, 4, 8, 8], values: randomValues(inChannels * 256, seed: 13))
        for training in [true, false] {
            let outputs = blocks.map { $0.forward(x, training: training) }
            #expect(outputs[1].layout == .plain)
            #expect(worst(outputs[1].array, outputs[0].array) < 1e-5, "output, training \(training)")
            let dy = Tensor(shape: outputs[0].shape, values: randomValues(outputs[0].count, seed: 14))
            for (s, _) in stores { s.zeroGradients() }
            let dx = blocks.map { $0.backward(dy).array }
            #expect(worst(dx[1], dx[0]) < 1e-4, "input gradient, training \(training)")
            #expect(worst(stores[1].0.gradientArray, stores[0].0.gradientArray) < 1e-4, "parameter gradients")
            #expect(worst(stores[1].1.valueArray, stores[0].1.valueArray) < 1e-6, "running statistics")
        }
    }

    /// torchvision's blocks likewise, from a plain input and from a blocked one: basic and
    /// bottleneck (grouped), with the identity and the projection shortcut.
    @Test(arguments: [(ResidualBlock.Kind.basic, 64, 64, 1), (.basic, 64, 128, 2),
                      (.bottleneck(groups: 1, widthPerGroup: 64), 64, 16, 1),
                      (.bottleneck(groups: 4, widthPerGroup: 16), 64, 16, 2),
                      (.bottleneck(groups: 1, widthPerGroup: 64), 64, 32, 2)])
    func residualBlockMatchesPlain(kind: ResidualBlock.Kind, inChannels: Int, planes: Int, stride: Int) {
        let stores = (0..<2).map { _ in (ParameterStore(), ParameterStore(hasGradients: false)) }
        let blocks = stores.map {
            ResidualBlock("block", kind: kind, inChannels: inChannels, planes: planes, stride: stride, store: $0.0,
                          buffers: $0.1, workspace: Workspace())
        }
        for (s, b) in stores { s.allocate(); b.allocate(); s.initialize(seed: 12); b.initialize(seed: 12) }
        blocks[0].innerLayout = .plain
        let x = Tensor(shape: [inChannels, 4, 8, 8], values: randomValues(inChannels * 256, seed: 13))
        for input in [x, copy(x, .preferredBlocked(channels: inChannels))] {
            for training in [true, false] {
                let outputs = blocks.map { $0.forward($0 === blocks[0] ? x : input, training: training) }
                #expect(worst(plainValues(outputs[1]), outputs[0].array) < 1e-5, "output, training \(training)")
                let dy = Tensor(shape: outputs[0].shape, values: randomValues(outputs[0].count, seed: 14))
                for (s, _) in stores { s.zeroGradients() }
                let dx = [blocks[0].backward(dy).array,
                          plainValues(blocks[1].backward(outputs[1].layout == .plain ? dy : copy(dy, outputs[1].layout)))]
                #expect(worst(dx[1], dx[0]) < 1e-4, "input gradient, training \(training), \(input.layout)")
                #expect(ofLargest(stores[1].0.gradientArray, stores[0].0.gradientArray) < 1e-5, "parameter gradients")
            }
        }
    }

    /// A model with its activations blocked from the stem to the pooling (where oneDNN runs)
    /// against plain throughout: the same logits and parameter gradients after a training step's
    /// forward and backward, and the same tapped outputs and gradients (explanations' pass, in
    /// evaluation mode). resnet32; torchvision's ResNet-10 with the CIFAR stem, and with the
    /// ImageNet stem (max pooling reads plain rows, the first block takes them); ResNeXt's
    /// bottlenecks in evaluation mode only: in training, its last stage's batch norms over 64
    /// values a channel turn rounding differences into ReLUs that flip (parameter gradients 2%
    /// apart from the stage's first block down, the layers' own passes agreeing; its blocks are
    /// checked one by one in training mode above).
    @Test(arguments: [(Architecture.resnet32, 12, true), (.resnet10, 12, true), (.resnet10, 64, true),
                      (.resnext50_32x4d, 32, false)])
    func modelMatchesPlain(architecture: Architecture, side: Int, training: Bool) {
        let shape = InputShape(channels: 3, height: side, width: side)
        let models = (0..<2).map { _ in Model.make(architecture, inputShape: shape, classes: 5, seed: 3) }
        for layer in models[0].features {
            (layer as? BasicBlock)?.innerLayout = .plain
            (layer as? ResidualBlock)?.innerLayout = .plain
            (layer as? Conv2d)?.outputLayout = .plain
        }
        let inner = models[1].features.compactMap {
            ($0 as? BasicBlock)?.innerLayout ?? ($0 as? ResidualBlock)?.innerLayout
        }
        #expect(inner.allSatisfy { $0 == .preferredBlocked(channels: 16) } && !inner.isEmpty)
        let batch = 4, count = 3 * batch * side * side
        let x = Tensor(shape: [3, batch, side, side], values: randomValues(count, seed: 15))
        let outputs = models.map { $0.forward(x, training: training).logits }
        let logits = outputs.map(\.array), logitsShape = outputs[0].shape
        #expect(worst(logits[1], logits[0]) < 1e-4)
        let r = randomValues(logits[0].count, seed: 16)
        let gradients = models.map { model in
            model.parameters.zeroGradients()
            model.backward(logitsGradient: Tensor(shape: logitsShape, values: r), featureGradient: nil)
            return model.parameters.gradientArray
        }
        let error = ofLargest(gradients[1], gradients[0])
        #expect(error < 1e-4, "parameter gradients: \(error) of the largest")
        let layers = models[0].features.count
        for tap in [2, 3, layers / 2, layers - 2, layers - 1] {
            let passes = models.map { model in
                model.tappedPass(x, tap: tap) { logits in logits.map { $0 * 0.5 } }
            }
            #expect(passes[1].outputShape == passes[0].outputShape)
            #expect(ofLargest(passes[1].output, passes[0].output) < 1e-5, "tap \(tap) output")
            #expect(ofLargest(passes[1].outputGradient, passes[0].outputGradient) < 1e-5, "tap \(tap) gradient")
            #expect(ofLargest(passes[1].inputGradient, passes[0].inputGradient) < 1e-5, "tap \(tap) input gradient")
        }
    }
}
