import Tensor

extension Model {
    /// Builds `architecture` for inputs of `inputShape` and `classes` outputs,
    /// with parameters allocated and initialised from `seed`.
    ///
    /// - mlp: input -> 512 -> ReLU -> 256 -> ReLU (= h) -> K
    /// - cnn: conv3x3(C->32) ReLU maxpool2, conv3x3(32->64) ReLU maxpool2, conv3x3(64->128) ReLU,
    ///   global average pool (= h, 128) -> K
    /// - resnet32: the CIFAR ResNet-32 of the IB and LDAM-DRW papers (3 stages of 5 basic blocks,
    ///   16/32/64 channels, option-A shortcuts, global average pool = h, 64) -> K
    ///
    /// - resnet10, resnet18, resnet34, resnet50, resnext50_32x4d: torchvision's (`ResidualBlock`),
    ///   its names, the `stem` (`auto`: imagenet from 64 px), features h = the pooled vector before `fc`
    ///
    /// With `classScales` a linear classifier has a scale per class on its logits (`X.scales`,
    /// ones: learnable weight scaling's). Convolutions run on `convolutions` (`auto`: oneDNN where it
    /// is found, else im2col), in
    /// `precision` on oneDNN.
    public static func make(_ architecture: Architecture, inputShape: InputShape, classes: Int, seed: UInt64,
                            head: Head = .linear, convolutions: ConvolutionBackend = .auto,
                            precision: Precision = .fp32, classScales: Bool = false, stem: Stem = .auto) -> Model {
        let store = ParameterStore()
        let buffers = ParameterStore(hasGradients: false)
        let workspace = Workspace()
        var layers: [Layer] = []
        var norms: [BatchNorm2d] = []
        let classifier: Layer
        let dimension: Int
        let layout: InputLayout
        var builtStem = Stem.auto
        // The last layer: a linear layer named as the architecture names it, or the cosine head.
        func top(_ name: String, _ d: Int) -> Layer {
            switch head {
            case .linear: return Linear(name, inFeatures: d, outFeatures: classes, scales: classScales, store: store)
            case .cosine(let s): return CosineClassifier("head", inFeatures: d, classes: classes, subCenters: s,
                                                         store: store)
            }
        }

        switch architecture {
        case .mlp:
            layout = .rows
            layers = [
                Linear("fc1", inFeatures: inputShape.count, outFeatures: 512, store: store), ReLU(),
                Linear("fc2", inFeatures: 512, outFeatures: 256, store: store), ReLU(),
            ]
            dimension = 256
            classifier = top("fc3", dimension)
        case .cnn:
            layout = .channelMajor
            let c = inputShape.channels
            layers = [
                Conv2d("conv1", inChannels: c, outChannels: 32, kernel: 3, padding: 1, bias: true, store: store,
                       workspace: workspace, backend: convolutions, precision: precision),
                ReLU(), MaxPool2d(kernel: 2),
                Conv2d("conv2", inChannels: 32, outChannels: 64, kernel: 3, padding: 1, bias: true, store: store,
                       workspace: workspace, backend: convolutions, precision: precision),
                ReLU(), MaxPool2d(kernel: 2),
                Conv2d("conv3", inChannels: 64, outChannels: 128, kernel: 3, padding: 1, bias: true, store: store,
                       workspace: workspace, backend: convolutions, precision: precision),
                ReLU(), GlobalAvgPool(),
            ]
            dimension = 128
            classifier = top("fc", dimension)
        case .resnet32:
            layout = .channelMajor
            // Parameters are registered in forward order: the flat buffer's layout.
            let stem = Conv2d("conv1", inChannels: inputShape.channels, outChannels: 16, kernel: 3, padding: 1,
                              bias: false,
                              store: store, workspace: workspace, backend: convolutions, precision: precision)
            // From the stem to the pooling the activations stay in oneDNN's blocked layout where it
            // runs the convolutions: the blocks take and give it (`BasicBlock`).
            stem.outputLayout = stem.backend == .onednn ? .preferredBlocked(channels: 16) : .plain
            let bn = BatchNorm2d("bn1", channels: 16, store: store, buffers: buffers)
            norms.append(bn)
            layers = [stem, bn, ReLU()]
            var inChannels = 16
            for (stage, planes) in [16, 32, 64].enumerated() {
                for index in 0..<5 {
                    let block = BasicBlock("layer\(stage + 1).\(index)", inChannels: inChannels, planes: planes,
                                           stride: index == 0 && stage > 0 ? 2 : 1,
                                           store: store, buffers: buffers, workspace: workspace, backend: convolutions,
                                           precision: precision)
                    norms += block.batchNorms
                    layers.append(block)
                    inChannels = planes
                }
            }
            layers.append(GlobalAvgPool())
            dimension = 64
            classifier = top("linear", dimension)
        case .resnet10, .resnet18, .resnet34, .resnet50, .resnext50_32x4d:
            layout = .channelMajor
            let (kind, depths) = architecture.torchvisionBlocks!
            let imagenet = stem.resolved(side: min(inputShape.height, inputShape.width)) == .imagenet
            builtStem = imagenet ? .imagenet : .cifar
            let conv1 = Conv2d("conv1", inChannels: inputShape.channels, outChannels: 64, kernel: imagenet ? 7 : 3,
                               stride: imagenet ? 2 : 1, padding: imagenet ? 3 : 1, bias: false, store: store,
                               workspace: workspace, backend: convolutions, precision: precision)
            // Blocked from the stem on, but for max pooling, which reads plain rows (the first block
            // then takes them and gives blocked ones).
            conv1.outputLayout = conv1.backend == .onednn && !imagenet ? .preferredBlocked(channels: 64) : .plain
            let bn = BatchNorm2d("bn1", channels: 64, store: store, buffers: buffers)
            norms.append(bn)
            layers = [conv1, bn, ReLU()] + (imagenet ? [MaxPool2d(kernel: 3, stride: 2, padding: 1)] : [])
            var inChannels = 64
            for (stage, depth) in depths.enumerated() {
                for index in 0..<depth {
                    let block = ResidualBlock("layer\(stage + 1).\(index)", kind: kind, inChannels: inChannels,
                                              planes: 64 << stage, stride: index == 0 && stage > 0 ? 2 : 1,
                                              store: store, buffers: buffers, workspace: workspace,
                                              backend: convolutions, precision: precision)
                    norms += block.batchNorms
                    layers.append(block)
                    inChannels = block.outChannels
                }
            }
            layers.append(GlobalAvgPool())
            dimension = inChannels
            classifier = top("fc", dimension)
        }
        store.allocate()
        buffers.allocate()
        store.initialize(seed: seed)
        buffers.initialize(seed: seed)
        return Model(architecture: architecture, inputShape: inputShape, classes: classes, inputLayout: layout,
                     parameters: store, buffers: buffers, features: layers, classifier: classifier, head: head,
                     featureDimension: dimension, batchNorms: norms, workspace: workspace, stem: builtStem)
    }
}
