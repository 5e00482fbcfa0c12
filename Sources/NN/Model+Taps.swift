import Tensor

/// Looking inside a model (explanations): the named outputs of its layers, and one pass in
/// evaluation mode that records a layer's output, the gradient there and the gradient of the
/// input. Training never takes this path: its forward and backward are unchanged.
extension Model {
    /// The name of each layer's output, in `features` order: `conv1`, `relu(conv1)`,
    /// `maxpool(relu(conv1))`, ..., `layer3.4`, `avgpool(layer3.4)`.
    public var tapNames: [String] {
        var names: [String] = []
        for layer in features { names.append(layer.outputName(input: names.last ?? "input")) }
        return names
    }

    /// The layer whose output `name` names; a block's stage (`layer3`) names its last block
    /// (`layer3.4`), as PyTorch's `model.layer3` does.
    public func tapIndex(of name: String) -> Int? {
        let names = tapNames
        if let i = names.firstIndex(of: name) { return i }
        return names.lastIndex { $0.hasPrefix(name + ".") && !$0.dropFirst(name.count + 1).contains(".") }
    }

    /// Which outputs are spatial feature maps (C, B, H, W).
    public var tapIsFeatureMap: [Bool] {
        var spatial = inputLayout == .channelMajor
        return features.map { layer in
            spatial = layer.outputIsFeatureMap(input: spatial)
            return spatial
        }
    }

    /// The last feature map before the pooling that makes the features `h` (CAM's and
    /// Grad-CAM's layer), nil without one (mlp).
    public var lastFeatureMap: Int? { tapIsFeatureMap.lastIndex(of: true) }

    /// The last layer's weights (K, D) when it is linear (CAM), nil for a cosine head.
    public var linearClassifierWeights: UnsafePointer<Float>? {
        guard head == .linear, let offset = classifier.parameterOffset else { return nil }
        return UnsafePointer(parameters.values + offset)
    }

    /// What `tappedPass` records.
    public struct Tapped {
        /// (B, K)
        public var logits: [Float]
        /// The tapped layer's output and its shape; empty without a tap.
        public var output: [Float]
        public var outputShape: [Int]
        /// dL/d(output), same layout.
        public var outputGradient: [Float]
        /// dL/dx in the input's layout.
        public var inputGradient: [Float]
    }

    /// One pass in evaluation mode over `input`: the logits, then back-propagation of
    /// `logitsGradient(logits)` (B, K) to the input, recording layer `tap`'s output and the
    /// gradient there. Parameter gradients are left as they were.
    /// - reluGradient: how every ReLU passes the gradient back (`.exact` but for guided
    ///   backpropagation and deconvnet); restored after the pass
    public func tappedPass(_ input: Tensor, tap: Int?, reluGradient: ReLUGradient = .exact,
                           logitsGradient: ([Float]) -> [Float]) -> Tapped {
        setReLUGradient(reluGradient)
        // Ties of max pooling as in exact arithmetic: equal patches must give equal outputs.
        let exact = features.contains { $0 is MaxPool2d }
        setExactConvolutions(exact)
        defer {
            setReLUGradient(.exact)
            setExactConvolutions(false)
        }
        var t = input
        var output: [Float] = [], shape: [Int] = []
        for (i, layer) in features.enumerated() {
            t = layer.forward(t, training: false)
            if i == tap {
                output = plainArray(t)  // copied: a ReLU after it rectifies in place
                shape = t.shape
            }
        }
        let logitsTensor = classifier.forward(t, training: false)
        let logits = Array(logitsTensor.buffer)
        let seed = Tensor(shape: logitsTensor.shape, values: logitsGradient(logits))

        // The first layer skips its input gradient in training; parameter gradients are restored.
        let saved = Array(UnsafeBufferPointer(start: parameters.gradients, count: parameters.count))
        let first = features.first, firstNeeded = first?.needsInputGradient ?? false
        first?.needsInputGradient = true
        defer {
            first?.needsInputGradient = firstNeeded
            saved.withUnsafeBufferPointer { parameters.gradients.update(from: $0.baseAddress!, count: saved.count) }
        }
        var g = classifier.backward(seed)
        var outputGradient: [Float] = []
        for (i, layer) in features.enumerated().reversed() {
            if i == tap { outputGradient = plainArray(g) }  // before the layer masks it in place
            g = layer.backward(g)
        }
        return Tapped(logits: logits, output: output, outputShape: shape, outputGradient: outputGradient,
                      inputGradient: plainArray(g))
    }

    /// A tensor's elements in the plain layout (explanations read (C, B, H, W) rows).
    private func plainArray(_ t: Tensor) -> [Float] {
        guard t.layout != .plain else { return Array(t.buffer) }
        let copy = Tensor(shape: [1])
        t.copyPlain(into: copy)
        return copy.array
    }
}

extension Model {
    /// Sets how every ReLU of the model, blocks' included, passes the gradient back.
    func setReLUGradient(_ rule: ReLUGradient) {
        for layer in features {
            if let relu = layer as? ReLU { relu.gradient = rule }
            if let block = layer as? BasicBlock { block.reluGradient = rule }
            if let block = layer as? ResidualBlock { block.reluGradient = rule }
        }
    }
}

extension Model {
    /// Sets `exactForward` of every convolution (explanations through max pooling).
    func setExactConvolutions(_ exact: Bool) {
        for layer in features {
            if let conv = layer as? Conv2d { conv.exactForward = exact }
        }
    }
}
