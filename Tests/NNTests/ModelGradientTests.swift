import Testing
import Tensor
@testable import NN

/// Gradient checks of whole models, through both `dL/dlogits` and `dL/dh`.
@Suite struct ModelGradientTests {
    /// Loss = sum(logits * r1) + sum(h * r2); checks inputs are parameters only.
    func check(_ architecture: Architecture, shape: InputShape, batch: Int, training: Bool, strict: Bool,
               stem: Stem = .auto) {
        let model = Model.make(architecture, inputShape: shape, classes: 5, seed: 3, stem: stem)
        let dims = model.inputLayout == .rows ? [batch, shape.count] : [shape.channels, batch, shape.height,
                                                                        shape.width]
        let x = Tensor(shape: dims, values: randomValues(batch * shape.count, seed: 4))
        let (logits, h) = model.forward(x, training: training)
        let r1 = randomValues(logits.count, seed: 5), r2 = randomValues(h.count, seed: 6, scale: 0.5)
        model.parameters.zeroGradients()
        var readyOffsets: [Int] = []
        model.gradientsReady = { readyOffsets.append($0) }
        model.backward(logitsGradient: Tensor(shape: logits.shape, values: r1),
                       featureGradient: Tensor(shape: h.shape, values: r2))
        model.gradientsReady = nil
        #expect(readyOffsets == readyOffsets.sorted(by: >),
                "gradients must become ready from the top of the buffer down: \(readyOffsets)")
        #expect(readyOffsets.last == 0)
        let analytic = model.parameters.gradientArray
        let loss = { () -> Double in
            let (z, f) = model.forward(x, training: training)
            return dotDouble(z.data, r1) + dotDouble(f.data, r2)
        }
        let p = model.parameters
        if strict {
            expectGradientsMatch("\(architecture)", point: p.values, count: p.count, analytic: analytic,
                                 coordinates: 40, eps: 1e-3, tolerance: 2e-2, loss: loss)
        } else {
            expectMostGradientsMatch("\(architecture) training \(training)", point: p.values, count: p.count,
                                     analytic: analytic, loss: loss)
        }
        // The path from dL/dh alone: with r1 = 0 the classifier's gradients vanish but the layers below do not.
        p.zeroGradients()
        _ = model.forward(x, training: training)
        model.backward(logitsGradient: Tensor(shape: logits.shape), featureGradient: Tensor(shape: h.shape, values: r2))
        let onlyH = p.gradientArray
        let classifierOffset = model.classifier.parameterOffset!
        #expect(onlyH[classifierOffset...].allSatisfy { $0 == 0 })
        #expect(onlyH[..<classifierOffset].contains { $0 != 0 })
        let lossH = { () -> Double in dotDouble(model.forward(x, training: training).features.data, r2) }
        if strict {
            expectGradientsMatch("\(architecture) via h", point: p.values, count: classifierOffset, analytic: onlyH,
                                 coordinates: 40, eps: 1e-3, tolerance: 2e-2, loss: lossH)
        } else {
            expectMostGradientsMatch("\(architecture) via h", point: p.values, count: classifierOffset, analytic: onlyH,
                                     loss: lossH)
        }
    }

    @Test func mlp() {
        check(.mlp, shape: InputShape(channels: 1, height: 6, width: 6), batch: 3, training: true, strict: true)
    }

    @Test func cnn() {
        check(.cnn, shape: InputShape(channels: 1, height: 8, width: 8), batch: 2, training: true, strict: false)
        check(.cnn, shape: InputShape(channels: 3, height: 8, width: 8), batch: 2, training: true, strict: false)
    }

    /// Batch 4: at batch 2 the last stage's batch norms see 8 values a channel, and the float32
    /// loss is rough enough that the median error sits at the bound in training mode.
    @Test(arguments: [false, true])
    func resnet32(training: Bool) {
        check(.resnet32, shape: InputShape(channels: 3, height: 8, width: 8), batch: 4, training: training,
              strict: false)
    }

    /// torchvision's ResNets by finite differences in evaluation mode: basic blocks with projection
    /// shortcuts, the CIFAR stem and the ImageNet stem (max pool with padding); the bottleneck with
    /// grouped convolutions. In training mode, batch norm over the few values of a small batch's
    /// last stage makes the float32 loss too rough for finite differences at this depth (half the
    /// coordinates miss); TorchvisionGoldenTests checks training mode against PyTorch instead.
    @Test func resnet10() {
        check(.resnet10, shape: InputShape(channels: 3, height: 8, width: 8), batch: 2, training: false,
              strict: false)
        check(.resnet10, shape: InputShape(channels: 1, height: 32, width: 32), batch: 2, training: false,
              strict: false, stem: .imagenet)
    }

    @Test func resnext50() {
        check(.resnext50_32x4d, shape: InputShape(channels: 3, height: 8, width: 8), batch: 2, training: false,
              strict: false)
    }

    /// torchvision's parameter counts for 1000 classes (`sum(p.numel() for p in model.parameters())`).
    @Test(arguments: [(Architecture.resnet18, 11_689_512), (.resnet34, 21_797_672), (.resnet50, 25_557_032),
                      (.resnext50_32x4d, 25_028_904)])
    func torchvisionParameterCounts(architecture: Architecture, count: Int) {
        let model = Model.make(architecture, inputShape: InputShape(channels: 3, height: 224, width: 224),
                               classes: 1000, seed: 0)
        #expect(model.parameters.count == count)
        #expect(model.stem == .imagenet && model.featureDimension == (architecture == .resnet18
            || architecture == .resnet34 ? 512 : 2048))
        #expect(model.parameters.entry("layer2.0.downsample.0.weight") != nil)
        #expect(model.buffers.entry("layer4.0.downsample.1.running_var") != nil)
        #expect(model.tapNames[model.lastFeatureMap!].hasPrefix("layer4."))
    }

    @Test func shapesAndParameterCounts() {
        let fm = InputShape(channels: 1, height: 28, width: 28), cifar = InputShape(channels: 3, height: 32, width: 32)
        let mlp = Model.make(.mlp, inputShape: fm, classes: 10, seed: 0)
        #expect(mlp.parameters.count == 784 * 512 + 512 + 512 * 256 + 256 + 256 * 10 + 10)
        #expect(mlp.featureDimension == 256)
        let cnn = Model.make(.cnn, inputShape: fm, classes: 10, seed: 0)
        #expect(cnn.parameters.count == (9 * 32 + 32) + (288 * 64 + 64) + (576 * 128 + 128) + (128 * 10 + 10))
        #expect(cnn.featureDimension == 128)
        let resnet = Model.make(.resnet32, inputShape: cifar, classes: 10, seed: 0)
        #expect(resnet.parameters.count == 464_154)  // the CIFAR ResNet-32 of the LDAM-DRW code, 10 classes
        #expect(resnet.featureDimension == 64)
        #expect(resnet.parameters.entry("layer3.4.bn2.weight") != nil)
        #expect(resnet.buffers.entry("layer1.0.bn1.running_var") != nil)
        let x = Tensor(shape: [3, 4, 32, 32])
        let (z, h) = resnet.forward(x, training: false)
        #expect(z.shape == [4, 10] && h.shape == [4, 64])
    }

    @Test func initialisationIsSeededAndKaiming() {
        let shape = InputShape(channels: 1, height: 28, width: 28)
        let a = Model.make(.mlp, inputShape: shape, classes: 10, seed: 1)
        let b = Model.make(.mlp, inputShape: shape, classes: 10, seed: 1)
        let c = Model.make(.mlp, inputShape: shape, classes: 10, seed: 2)
        #expect(a.parameters.valueArray == b.parameters.valueArray)
        #expect(a.parameters.valueArray != c.parameters.valueArray)
        let w = a.parameters.valuesOf("fc1.weight")
        let variance = w.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(w.count)
        #expect(abs(variance - 2.0 / 784) < 0.05 * 2.0 / 784)
        #expect(a.parameters.valuesOf("fc1.bias").allSatisfy { $0 == 0 })
    }
}

@Suite struct OverwriteModeTests {
    /// The architectures with a layer kind of their own: the torchvision basic and bottleneck
    /// (grouped) blocks in their smallest models. The sanitizer runs (Tests/sanitizers/run.sh)
    /// take these and leave `deeperModelsOverwriteEveryGradient`, the same layers again 25 million
    /// parameters deep, to the release runs.
    static let eachKindOfLayer: [Architecture] = [.mlp, .cnn, .resnet32, .resnet10, .resnext50_32x4d]

    /// With `accumulatesGradients` false, backward writes every gradient: it equals the
    /// accumulated gradient from zero, and garbage (a NaN left by a skipped step) does not survive.
    @Test(arguments: eachKindOfLayer)
    func backwardOverwritesEveryGradient(architecture: Architecture) {
        checkOverwrites(architecture)
    }

    @Test(arguments: Architecture.allCases.filter { !eachKindOfLayer.contains($0) })
    func deeperModelsOverwriteEveryGradient(architecture: Architecture) {
        checkOverwrites(architecture)
    }

    func checkOverwrites(_ architecture: Architecture) {
        let shape = InputShape(channels: 3, height: 8, width: 8)
        let model = Model.make(architecture, inputShape: shape, classes: 4, seed: 5)
        let batch = 3
        let dims = model.inputLayout == .rows ? [batch, shape.count] : [shape.channels, batch, shape.height,
                                                                        shape.width]
        let x = Tensor(shape: dims, values: randomValues(batch * shape.count, seed: 6))
        let statistics = model.buffers.valueArray  // batch norm shifts its sums by the running mean
        let (logits, h) = model.forward(x, training: true)
        let dz = Tensor(shape: logits.shape, values: randomValues(logits.count, seed: 7))
        let dh = Tensor(shape: h.shape, values: randomValues(h.count, seed: 8))
        model.parameters.zeroGradients()
        model.backward(logitsGradient: dz, featureGradient: dh)
        let accumulated = model.parameters.gradientArray

        model.parameters.accumulatesGradients = false
        model.parameters.gradients.update(repeating: .nan, count: model.parameters.count)
        statistics.withUnsafeBufferPointer { model.buffers.values.update(from: $0.baseAddress!, count: $0.count) }
        _ = model.forward(x, training: true)
        model.backward(logitsGradient: dz, featureGradient: dh)
        let written = model.parameters.gradientArray
        #expect(written.allSatisfy { $0.isFinite }, "a NaN survived in \(architecture)")
        let worst = zip(written, accumulated).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? 0
        #expect(worst <= 1e-6, "\(architecture): largest difference \(worst)")
    }
}
