import Tensor
import Testing
@testable import NN

/// Max pooling sends the gradient to the first maximum of its window in scan order, as
/// PyTorch's; explanations' passes compute convolutions so that values equal in exact
/// arithmetic (a uniform background) are equal floats, so the rule holds for them too.
@Suite struct MaxPoolTieTests {
    func gradient(_ values: [Float], training: Bool) -> (output: Float, gradient: [Float]) {
        let pool = MaxPool2d(kernel: 2)
        let input = Tensor(shape: [1, 1, 2, 2], values: values)
        let output = pool.forward(input, training: training)
        let dx = pool.backward(Tensor(shape: [1, 1, 1, 1], values: [1]))
        return (output.data[0], Array(dx.buffer))
    }

    @Test func firstMaximumInScanOrder() {
        for training in [false, true] {
            #expect(gradient([0.5, 1.0, 0.2, 1.0], training: training).gradient == [0, 1, 0, 0])  // a tie: the first
            // one ulp more: the true maximum
            #expect(gradient([0.5, 1.0, 0.2, Float(1).nextUp], training: training).gradient == [0, 0, 0, 1])
        }
    }

    /// The exact forward gives bit-equal outputs for equal input patches, on every backend.
    @Test(arguments: [ConvolutionBackend.im2col, .onednn])
    func exactForwardMakesEqualPatchesEqual(backend: ConvolutionBackend) {
        let store = ParameterStore(), workspace = Workspace()
        let conv = Conv2d("c", inChannels: 64, outChannels: 128, kernel: 3, padding: 1, bias: true, store: store,
                          workspace: workspace,
                          backend: backend)
        store.allocate()
        store.initialize(seed: 3)
        var rng = RandomSource(seed: 4)
        for i in 0..<store.count { store.values[i] = Float(rng.nextNormal()) * 0.1 }
        // A uniform background per channel with one bright square.
        let (c, h, w) = (64, 7, 7)
        let input = Tensor(shape: [c, 2, h, w])
        for ch in 0..<c {
            let level = Float(rng.nextNormal())
            for i in 0..<(2 * h * w) { input.data[ch * 2 * h * w + i] = level }
            input.data[ch * 2 * h * w + 3 * w + 3] = level + 2
        }
        conv.exactForward = true
        let out = conv.forward(input, training: false)
        // Interior positions whose 3x3 patch is all background: (1...5)^2 minus the square's neighbours.
        for ch in 0..<128 {
            var values = Set<Float>()
            for b in 0..<2 {
                for y in 1..<6 {
                    for x in 1..<6 where abs(y - 3) > 1
                        || abs(x - 3) > 1 { values.insert(out.data[((ch * 2 + b) * h + y) * w + x]) }
                }
            }
            #expect(values.count == 1, "channel \(ch): equal patches gave \(values.count) different outputs")
        }
    }

    /// The exact forward is, bit for bit, each output's double sum in its stated order (bias, then
    /// channel, kernel row, kernel column, skipping the padding), for strides and paddings that
    /// leave columns and rows of the kernel outside the image.
    @Test(arguments: [(1, 3, 1), (2, 3, 1), (2, 5, 2), (3, 3, 0), (1, 5, 3), (2, 1, 0)])
    func exactForwardIsTheOrderedDoubleSum(stride: Int, kernel: Int, padding: Int) {
        let (inC, outC, b, h, w) = (3, 4, 2, 9, 7)
        let store = ParameterStore(), workspace = Workspace()
        let conv = Conv2d("c", inChannels: inC, outChannels: outC, kernel: kernel, stride: stride, padding: padding,
                          bias: true,
                          store: store, workspace: workspace, backend: .im2col)
        store.allocate()
        var rng = RandomSource(seed: UInt64(stride * 100 + kernel * 10 + padding))
        for i in 0..<store.count { store.values[i] = Float(rng.nextNormal()) }
        let input = Tensor(shape: [inC, b, h, w])
        for i in 0..<input.count { input.data[i] = Float(rng.nextNormal()) }
        conv.exactForward = true
        let out = conv.forward(input, training: false)
        let (oh, ow) = ((h + 2 * padding - kernel) / stride + 1, (w + 2 * padding - kernel) / stride + 1)
        #expect(out.shape == [outC, b, oh, ow])
        let weights = store.values, bias = store.values + outC * inC * kernel * kernel
        var mismatches = 0
        for o in 0..<outC { for n in 0..<b { for y in 0..<oh { for x in 0..<ow {
            var sum = Double(bias[o])
            for c in 0..<inC { for ky in 0..<kernel { for kx in 0..<kernel {
                let (iy, ix) = (y * stride - padding + ky, x * stride - padding + kx)
                guard iy >= 0, iy < h, ix >= 0, ix < w else { continue }
                sum += Double(weights[((o * inC + c) * kernel + ky) * kernel + kx])
                    * Double(input.data[((c * b + n) * h + iy) * w + ix])
            } } }
            if out.data[((o * b + n) * oh + y) * ow + x] != Float(sum) { mismatches += 1 }
        } } } }
        #expect(mismatches == 0, "\(mismatches) of \(outC * b * oh * ow) outputs differ from the ordered double sum")
    }

    /// The cnn's saliency on images with flat regions and random weights equals a double-precision
    /// reference that applies the first-maximum rule to exact values.
    @Test(arguments: [(ConvolutionBackend.im2col, UInt64(1)), (.onednn, 2), (.im2col, 3), (.onednn, 4)])
    func cnnSaliencyFollowsExactTies(backend: ConvolutionBackend, seed: UInt64) {
        let (h, w) = (28, 28)
        let model = Model.make(.cnn, inputShape: InputShape(channels: 1, height: h, width: w), classes: 10, seed: seed,
                               convolutions: backend)
        var rng = RandomSource(seed: seed &+ 100)
        var image = [Float](repeating: -0.81, count: h * w)  // Fashion-MNIST's normalised background
        for y in 8..<20 { for x in 6..<22 { image[y * w + x] = 1.2 } }  // a flat object
        for _ in 0..<20 { image[Int(rng.nextUniform() * Float(h * w - 1))] = Float(rng.nextNormal()) }
        let target = Int(seed % 10)
        let tapped = model.tappedPass(Tensor(shape: [1, 1, h, w], values: image), tap: nil) { logits in
            var seedGradient = [Float](repeating: 0, count: logits.count)
            seedGradient[target] = 1
            return seedGradient
        }
        let reference = ReferenceCNN(model: model).inputGradient(image, height: h, width: w, target: target)
        let scale = max(1e-12, reference.map(abs).max() ?? 0)
        let worst = zip(tapped.inputGradient, reference).map { abs(Double($0) - $1) }.max() ?? 0
        #expect(worst <= 1e-4 * scale, "largest difference \(worst) of \(scale)")
    }
}

/// The cnn in double precision, naively: 3x3 convolutions with padding 1, ReLU, 2x2 max pooling
/// (first maximum in scan order), global average pooling, the linear layer; the input gradient
/// of one logit.
struct ReferenceCNN {
    let model: Model

    func parameter(_ name: String) -> [Double] {
        let e = model.parameters.entry(name)!
        return (0..<e.count).map { Double(model.parameters.values[e.offset + $0]) }
    }

    func inputGradient(_ image: [Float], height: Int, width: Int, target: Int) -> [Double] {
        typealias Map = (c: Int, h: Int, w: Int, v: [Double])
        func conv(_ x: Map, _ name: String, out: Int) -> Map {
            let wt = parameter(name + ".weight"), bias = parameter(name + ".bias")
            var y = [Double](repeating: 0, count: out * x.h * x.w)
            for o in 0..<out { for i in 0..<(x.h * x.w) {
                let oy = i / x.w, ox = i % x.w
                var s = bias[o]
                for c in 0..<x.c { for ky in 0..<3 { for kx in 0..<3 {
                    let iy = oy + ky - 1, ix = ox + kx - 1
                    if iy >= 0, iy < x.h, ix >= 0,
                        ix < x.w { s += wt[((o * x.c + c) * 3 + ky) * 3 + kx] * x.v[(c * x.h + iy) * x.w + ix] }
                } } }
                y[o * x.h * x.w + i] = s
            } }
            return (out, x.h, x.w, y)
        }
        func convBackward(_ x: Map, _ dy: [Double], _ name: String, out: Int) -> [Double] {
            let wt = parameter(name + ".weight")
            var dx = [Double](repeating: 0, count: x.v.count)
            for o in 0..<out { for i in 0..<(x.h * x.w) where dy[o * x.h * x.w + i] != 0 {
                let oy = i / x.w, ox = i % x.w
                for c in 0..<x.c { for ky in 0..<3 { for kx in 0..<3 {
                    let iy = oy + ky - 1, ix = ox + kx - 1
                    if iy >= 0, iy < x.h, ix >= 0,
                        ix < x.w { dx[(c * x.h + iy) * x.w + ix] += wt[((o * x.c + c) * 3 + ky) * 3 + kx]
                        * dy[o * x.h * x.w + i] }
                } } }
            } }
            return dx
        }
        func relu(_ x: Map) -> Map { (x.c, x.h, x.w, x.v.map { max($0, 0) }) }
        func pool(_ x: Map) -> (Map, [Int]) {
            let oh = x.h / 2, ow = x.w / 2
            var y = [Double](repeating: 0, count: x.c * oh * ow), at = [Int](repeating: 0, count: y.count)
            for c in 0..<x.c { for oy in 0..<oh { for ox in 0..<ow {
                var best = -Double.infinity, index = 0
                for ky in 0..<2 { for kx in 0..<2 {
                    let i = (c * x.h + 2 * oy + ky) * x.w + 2 * ox + kx
                    if x.v[i] > best { best = x.v[i]; index = i }
                } }
                y[(c * oh + oy) * ow + ox] = best
                at[(c * oh + oy) * ow + ox] = index
            } } }
            return ((x.c, oh, ow, y), at)
        }
        let input: Map = (1, height, width, image.map(Double.init))
        let a1 = conv(input, "conv1", out: 32), r1 = relu(a1), (p1, at1) = pool(r1)
        let a2 = conv(p1, "conv2", out: 64), r2 = relu(a2), (p2, at2) = pool(r2)
        let a3 = conv(p2, "conv3", out: 128), r3 = relu(a3)
        let fc = parameter("fc.weight"), plane = r3.h * r3.w
        // Backward from logit `target`.
        var d3 = [Double](repeating: 0, count: r3.v.count)
        for c in 0..<128 { for i in 0..<plane where a3.v[c * plane
            + i] > 0 { d3[c * plane + i] = fc[target * 128 + c] / Double(plane) } }
        var dp2 = convBackward(p2, d3, "conv3", out: 128)
        var dr2 = [Double](repeating: 0, count: r2.v.count)
        for (o, i) in at2.enumerated() { dr2[i] += dp2[o] }
        for i in dr2.indices where a2.v[i] <= 0 { dr2[i] = 0 }
        let dp1 = convBackward(p1, dr2, "conv2", out: 64)
        var dr1 = [Double](repeating: 0, count: r1.v.count)
        for (o, i) in at1.enumerated() { dr1[i] += dp1[o] }
        for i in dr1.indices where a1.v[i] <= 0 { dr1[i] = 0 }
        dp2 = []
        return convBackward(input, dr1, "conv1", out: 32)
    }
}
