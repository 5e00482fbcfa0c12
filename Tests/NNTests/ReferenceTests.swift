import Testing
@testable import Tensor
@testable import NN

/// Layers against naive reference implementations and hand-computed values.
@Suite struct ReferenceTests {
    /// Direct convolution on NCHW data, the textbook loop.
    func naiveConv(x: [Float], b: Int, c: Int, h: Int, w: Int, weight: [Float], bias: [Float], outC: Int,
                   k: Int, s: Int, p: Int) -> [Float] {
        let oh = (h + 2 * p - k) / s + 1, ow = (w + 2 * p - k) / s + 1
        var y = [Float](repeating: 0, count: b * outC * oh * ow)
        for n in 0..<b { for o in 0..<outC { for i in 0..<oh { for j in 0..<ow {
            var acc = Double(bias[o])
            for ci in 0..<c { for u in 0..<k { for v in 0..<k {
                let iy = i * s - p + u, ix = j * s - p + v
                if iy < 0 || iy >= h || ix < 0 || ix >= w { continue }
                acc += Double(x[((n * c + ci) * h + iy) * w + ix]) * Double(weight[((o * c + ci) * k + u) * k + v])
            } } }
            y[((n * outC + o) * oh + i) * ow + j] = Float(acc)
        } } } }
        return y
    }

    /// NCHW -> CNHW
    func channelMajor(_ x: [Float], b: Int, c: Int, hw: Int) -> [Float] {
        var y = x
        for n in 0..<b { for ci in 0..<c { for i in 0..<hw { y[(ci * b + n) * hw + i] = x[(n * c + ci) * hw + i] } } }
        return y
    }

    @Test(arguments: [(3, 1, 1), (3, 2, 1), (1, 1, 0), (5, 1, 2), (2, 2, 0)], [ConvolutionBackend.onednn, .im2col])
    func convolutionMatchesDirectConvolution(geometry: (Int, Int, Int), backend: ConvolutionBackend) {
        let (k, s, p) = geometry
        let (b, c, h, w, outC) = (3, 2, 9, 7, 4)
        let store = ParameterStore()
        let conv = Conv2d("c", inChannels: c, outChannels: outC, kernel: k, stride: s, padding: p, bias: true,
                          store: store, workspace: Workspace(), backend: backend)
        store.allocate()
        store.initialize(seed: 8)
        let bias = randomValues(outC, seed: 9)
        for i in 0..<outC { store.values[outC * c * k * k + i] = bias[i] }
        let x = randomValues(b * c * h * w, seed: 10)
        let y = conv.forward(Tensor(shape: [c, b, h, w], values: channelMajor(x, b: b, c: c, hw: h * w)),
                             training: true)
        let want = naiveConv(x: x, b: b, c: c, h: h, w: w, weight: store.valuesOf("c.weight"), bias: bias,
                             outC: outC, k: k, s: s, p: p)
        let oh = y.shape[2], ow = y.shape[3]
        let wantCNHW = channelMajor(want, b: b, c: outC, hw: oh * ow)
        #expect(y.count == want.count)
        for i in 0..<y.count { #expect(abs(y[i] - wantCNHW[i]) <= 1e-5, "at \(i)") }
    }

    /// Batches larger than one chunk of columns (a workspace with a fixed chunk size, whatever the
    /// threads): forward against the direct convolution, backward by finite differences, for the
    /// "same" and the general unfolding.
    @Test(arguments: [(3, 1, 1), (3, 2, 1)])
    func convolutionAcrossChunks(k: Int, s: Int, p: Int) {
        let (b, c, h, w, outC) = (32, 8, 32, 32, 5)
        let workspace = Workspace(chunkFloats: 1 << 16)
        #expect(b * c * k * k * (h / s) * (w / s) > 4 * workspace.chunkFloats, "the batch must span several chunks")
        let store = ParameterStore()
        let conv = Conv2d("c", inChannels: c, outChannels: outC, kernel: k, stride: s, padding: p, bias: true,
                          store: store, workspace: workspace, backend: .im2col)
        store.allocate()
        store.initialize(seed: 8)
        let x = randomValues(b * c * h * w, seed: 10)
        let input = Tensor(shape: [c, b, h, w], values: channelMajor(x, b: b, c: c, hw: h * w))
        let y = conv.forward(input, training: true)
        let want = channelMajor(naiveConv(x: x, b: b, c: c, h: h, w: w, weight: store.valuesOf("c.weight"),
                                          bias: Array(repeating: 0, count: outC), outC: outC, k: k, s: s, p: p),
                                b: b, c: outC, hw: y.shape[2] * y.shape[3])
        #expect(y.count == want.count)
        var worst: Float = 0
        for i in 0..<y.count { worst = max(worst, abs(y[i] - want[i])) }
        #expect(worst <= 1e-4)
        // The convolution is linear: a central difference is exact for any step, so a large one
        // divides the rounding of the 164k summed outputs by the step. (With eps 1e-2 one input
        // coordinate missed by 1.01% under the Haswell kernel while BLASTests switched OpenBLAS
        // between 1 and 2 threads in parallel, which rounds every output a little differently.)
        checkLayer("conv across chunks k\(k) s\(s)", conv, store: store, input: input, eps: 0.25, tolerance: 1e-2)
    }

    @Test(arguments: [(3, 2, 1), (3, 1, 1), (5, 1, 2), (1, 1, 0), (3, 1, 0)])
    func col2imIsTheAdjointOfIm2col(k: Int, s: Int, p: Int) {
        // <im2col(x), c> == <x, col2im(c)> for every x, c.
        let (c, b, h, w) = (2, 3, 7, 5)
        let oh = (h + 2 * p - k) / s + 1, ow = (w + 2 * p - k) / s + 1
        let x = randomValues(c * b * h * w, seed: 1), cols = randomValues(c * k * k * b * oh * ow, seed: 2)
        var unfolded = [Float](repeating: 0, count: cols.count)
        var folded = [Float](repeating: 0, count: x.count)
        var scratch = cols
        x.withUnsafeBufferPointer { px in unfolded.withUnsafeMutableBufferPointer { pu in
            Kernels.im2col(px.baseAddress!, channels: c, batch: b, height: h, width: w, kernel: k, stride: s,
                           padding: p, into: pu.baseAddress!)
        } }
        scratch.withUnsafeMutableBufferPointer { pc in folded.withUnsafeMutableBufferPointer { pf in
            Kernels.col2im(pc.baseAddress!, channels: c, batch: b, height: h, width: w, kernel: k, stride: s,
                           padding: p, into: pf.baseAddress!)
        } }
        let lhs = zip(unfolded, cols).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        let rhs = zip(x, folded).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        #expect(abs(lhs - rhs) <= 1e-4 * max(1, abs(lhs)))
    }

    /// The contiguous-copy path for "same" convolutions gives what the general row-by-row path gives.
    @Test(arguments: [(3, 1), (5, 2), (1, 0)])
    func sameConvolutionFastPathMatchesGeneralPath(k: Int, p: Int) {
        let (c, b, h, w) = (3, 2, 6, 4)
        let x = randomValues(c * b * h * w, seed: 3)
        var fast = [Float](repeating: 9, count: c * k * k * b * h * w), general = fast
        x.withUnsafeBufferPointer { px in
            fast.withUnsafeMutableBufferPointer { Kernels.sameIm2col(px.baseAddress!, channels: c, batch: b, height: h,
                                                                     width: w, kernel: k, padding: p,
                                                                     channelStride: b * h * w, into: $0.baseAddress!) }
            general.withUnsafeMutableBufferPointer { Kernels.generalIm2col(px.baseAddress!, channels: c, batch: b,
                height: h, width: w, kernel: k, stride: 1, padding: p, channelStride: b * h * w,
                                                                           into: $0.baseAddress!) }
        }
        #expect(fast == general)
        var colsA = randomValues(fast.count, seed: 4), colsB = colsA
        var dxA = [Float](repeating: 0.5, count: x.count), dxB = dxA
        colsA.withUnsafeMutableBufferPointer { pc in dxA.withUnsafeMutableBufferPointer {
            Kernels.sameCol2im(pc.baseAddress!, channels: c, batch: b, height: h, width: w, kernel: k, padding: p,
                               channelStride: b * h * w, into: $0.baseAddress!) } }
        colsB.withUnsafeBufferPointer { pc in dxB.withUnsafeMutableBufferPointer {
            Kernels.generalCol2im(pc.baseAddress!, channels: c, batch: b, height: h, width: w, kernel: k, stride: 1,
                                  padding: p, channelStride: b * h * w, into: $0.baseAddress!) } }
        for i in 0..<dxA.count { #expect(abs(dxA[i] - dxB[i]) <= 1e-5, "at \(i)") }
    }

    @Test func batchNormMatchesPyTorchSemantics() {
        let (c, b, hw) = (2, 4, 3)
        let s = ParameterStore(), buf = ParameterStore(hasGradients: false)
        let bn = BatchNorm2d("bn", channels: c, store: s, buffers: buf)
        s.allocate(); buf.allocate()
        s.initialize(seed: 0); buf.initialize(seed: 0)
        s.values[0] = 2; s.values[1] = 0.5  // gamma
        s.values[2] = 1; s.values[3] = -1  // beta
        let x = randomValues(c * b * hw, seed: 3, scale: 3)
        let y = bn.forward(Tensor(shape: [c, b, 1, hw], values: x), training: true)
        for ch in 0..<c {
            let v = x[(ch * b * hw)..<((ch + 1) * b * hw)].map(Double.init)
            let mean = v.reduce(0, +) / Double(v.count)
            let biased = v.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(v.count)
            let unbiased = biased * Double(v.count) / Double(v.count - 1)
            for i in 0..<v.count {
                let want = Double(s.values[ch]) * (v[i] - mean) / (biased + 1e-5).squareRoot()
                    + Double(s.values[2 + ch])
                #expect(abs(Double(y[ch * b * hw + i]) - want) < 1e-4)
            }
            #expect(abs(Double(buf.values[ch]) - 0.1 * mean) < 1e-6)                  // running_mean
            #expect(abs(Double(buf.values[c + ch]) - (0.9 + 0.1 * unbiased)) < 1e-5)  // running_var
        }
        #expect(buf.values[2 * c] == 1)  // num_batches_tracked
        // Evaluation mode uses the running statistics.
        let e = bn.forward(Tensor(shape: [c, b, 1, hw], values: x), training: false)
        for ch in 0..<c {
            let rm = Double(buf.values[ch]), rv = Double(buf.values[c + ch])
            let want = Double(s.values[ch]) * (Double(x[ch * b * hw]) - rm) / (rv + 1e-5).squareRoot()
                + Double(s.values[2 + ch])
            #expect(abs(Double(e[ch * b * hw]) - want) < 1e-4)
        }
        #expect(buf.values[2 * c] == 1)
    }

    @Test func sgdMomentumStepsByHand() {
        var p: [Float] = [1.0, -2.0], g: [Float] = [0.5, 0.25]
        let opt = Optimizer(OptimizerConfig(kind: .sgd, momentum: 0.9, weightDecay: 0.1), parameterCount: 2)
        opt.step(parameters: &p, gradients: &g, lr: 0.1)
        // d = g + 0.1 p = [0.6, 0.05]; buf = d; p -= 0.1 d
        #expect(abs(p[0] - 0.94) < 1e-6 && abs(p[1] - (-2.005)) < 1e-6)
        opt.step(parameters: &p, gradients: &g, lr: 0.1)
        // d = [0.5 + 0.094, 0.25 - 0.2005] = [0.594, 0.0495]; buf = 0.9 [0.6, 0.05] + d = [1.134, 0.0945]
        #expect(abs(p[0] - (0.94 - 0.1134)) < 1e-6 && abs(p[1] - (-2.005 - 0.00945)) < 1e-6)
        #expect(abs(opt.state[0] - 1.134) < 1e-6)
    }

    /// Clearing the gradients in the update's pass changes nothing else, for every optimiser
    /// (the SIMD body and the tail of the momentum loop included).
    @Test(arguments: [OptimizerConfig(kind: .sgd, momentum: 0.9, weightDecay: 0.01),
                      OptimizerConfig(kind: .sgd, momentum: 0, weightDecay: 0.01),
                      OptimizerConfig(kind: .sgd, momentum: 0.9, nesterov: true, weightDecay: 0.01),
                      OptimizerConfig(kind: .adamw, weightDecay: 0.01)])
    func updateThatClearsGradients(config: OptimizerConfig) {
        let n = 21
        var p1 = (0..<n).map { Float($0) * 0.1 - 1 }, p2 = p1
        let plain = Optimizer(config, parameterCount: n), clearing = Optimizer(config, parameterCount: n)
        for step in 0..<3 {
            var g1 = (0..<n).map { Float(($0 * 7 + step) % 5) - 2 }, g2 = g1
            plain.step(parameters: &p1, gradients: &g1, lr: 0.1)
            clearing.step(parameters: &p2, gradients: &g2, lr: 0.1, zeroingGradients: true)
            #expect(p1 == p2)
            #expect(g2 == [Float](repeating: 0, count: n))
            #expect(g1 != g2)
        }
    }

    /// Ranks that share one parameter buffer and one state buffer (`adopt`), each updating its
    /// slice (`range`), give the whole update bit for bit, AdamW's second moment included.
    @Test(arguments: [OptimizerConfig(kind: .sgd, momentum: 0.9, weightDecay: 0.01),
                      OptimizerConfig(kind: .sgd, momentum: 0, weightDecay: 0.01),
                      OptimizerConfig(kind: .sgd, momentum: 0.9, nesterov: true, weightDecay: 0.01),
                      OptimizerConfig(kind: .adamw, weightDecay: 0.01)])
    func slicesOfSharedStateGiveTheWholeUpdate(config: OptimizerConfig) {
        let n = 37, ranks = 3
        var whole = (0..<n).map { Float($0) * 0.1 - 1 }
        let shared = UnsafeMutablePointer<Float>.allocate(capacity: n)
        shared.initialize(from: whole, count: n)
        defer { shared.deallocate() }
        let single = Optimizer(config, parameterCount: n)
        let state = UnsafeMutablePointer<Float>.allocate(capacity: single.state.count)
        state.initialize(repeating: 0, count: single.state.count)
        defer { state.deallocate() }
        let parts = (0..<ranks).map { _ in Optimizer(config, parameterCount: n) }
        for part in parts { part.adopt(state: state) }
        for step in 0..<4 {
            var g = (0..<n).map { Float(($0 * 7 + step) % 5) - 2 }
            single.step(parameters: &whole, gradients: &g, lr: 0.1)
            for (r, part) in parts.enumerated() {
                part.step(parameters: shared, gradients: &g, lr: 0.1, range: n * r / ranks ..< n * (r + 1) / ranks)
            }
            #expect(Array(UnsafeBufferPointer(start: shared, count: n)) == whole)
            #expect(Array(UnsafeBufferPointer(start: state, count: single.state.count)) == Array(single.state))
        }
    }

    @Test func sgdNesterovStepByHand() {
        var p: [Float] = [1.0], g: [Float] = [0.5]
        let opt = Optimizer(OptimizerConfig(kind: .sgd, momentum: 0.9, nesterov: true, weightDecay: 0),
                            parameterCount: 1)
        opt.step(parameters: &p, gradients: &g, lr: 0.1)
        // buf = 0.5; d = 0.5 + 0.9 * 0.5 = 0.95
        #expect(abs(p[0] - 0.905) < 1e-6)
    }

    @Test func adamWStepsByHand() {
        var p: [Float] = [1.0], g: [Float] = [0.5]
        let opt = Optimizer(OptimizerConfig(kind: .adamw, weightDecay: 0.01), parameterCount: 1)
        opt.step(parameters: &p, gradients: &g, lr: 0.1)
        // p *= 1 - 0.001; m = 0.05, v = 0.00025; m^ = 0.5, v^ = 0.25; p -= 0.1 * 0.5 / (0.5 + 1e-8)
        #expect(abs(p[0] - (0.999 - 0.1)) < 1e-6)
        g = [-0.25]
        opt.step(parameters: &p, gradients: &g, lr: 0.1)
        let m = 0.9 * 0.05 + 0.1 * -0.25, v = 0.999 * 0.00025 + 0.001 * 0.0625
        let mh = m / (1 - 0.81), vh = v / (1 - 0.999 * 0.999)
        let want = 0.899 * (1 - 0.001) - 0.1 * mh / (vh.squareRoot() + 1e-8)
        #expect(abs(Double(p[0]) - want) < 1e-5)
    }

    @Test func schedules() {
        // The IB losses' second phase runs at 0.01 of the schedule (TrainingPhases gives the factor).
        let ib = Schedule(kind: .ibPaper, baseLR: 0.1, epochs: 200, warmupEpochs: 5)
        let factor = { (epoch: Int) in epoch >= 100 ? 0.01 : 1 }
        let rate = { (epoch: Int) in ib.learningRate(epoch: epoch, phaseFactor: factor(epoch)) }
        #expect(abs(rate(0) - 0.02) < 1e-7)
        #expect(abs(rate(4) - 0.1) < 1e-7)
        #expect(rate(99) == 0.1)
        #expect(abs(rate(100) - 1e-3) < 1e-9)
        #expect(abs(rate(160) - 1e-5) < 1e-11)
        #expect(abs(rate(180) - 1e-7) < 1e-13)
        // The same floats as base x 1e-2, 1e-4 and 1e-6 written as single literals (earlier releases).
        #expect(rate(100) == Float(0.1) * Float(1e-2) && rate(160) == Float(0.1) * Float(1e-4)
            && rate(180) == Float(0.1) * Float(1e-6))
        let plain = Schedule(kind: .ibPaper, baseLR: 0.1, epochs: 200, warmupEpochs: 5)
        #expect(plain.learningRate(epoch: 150) == 0.1)
        #expect(abs(plain.learningRate(epoch: 160) - 1e-3) < 1e-9)
        #expect(abs(plain.learningRate(epoch: 199) - 1e-5) < 1e-11)
        let step = Schedule(kind: .step, baseLR: 1, epochs: 8, warmupEpochs: 0)
        #expect([0, 3, 4, 5, 6, 7].map { step.learningRate(epoch: $0) } == [1, 1, Float(0.1), Float(0.1),
                                                                            Float(0.1 * 0.1), Float(0.1 * 0.1)])
        let cosine = Schedule(kind: .cosine, baseLR: 1, epochs: 10, warmupEpochs: 0)
        #expect(cosine.learningRate(epoch: 0, step: 0, stepsPerEpoch: 10) == 1)
        #expect(abs(cosine.learningRate(epoch: 5, step: 0, stepsPerEpoch: 10) - 0.5) < 1e-6)
        #expect(Schedule(kind: .constant, baseLR: 0.05, epochs: 3, warmupEpochs: 0).learningRate(epoch: 2) == 0.05)
    }
}
