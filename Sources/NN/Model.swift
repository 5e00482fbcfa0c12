import Settings
import Dispatch
import Tensor

/// The architectures the trainer builds.
public enum Architecture: String, Codable, CaseIterable, Sendable, OptionEnum {
    case mlp, cnn, resnet32
    /// torchvision's ImageNet ResNets (ResNet-10: basic blocks [1, 1, 1, 1], as OLTR's and the
    /// decoupling code's), with its parameter names.
    case resnet10, resnet18, resnet34, resnet50
    case resnext50_32x4d = "resnext50_32x4d"

    /// Smallest image height and width the architecture can take: the cnn's two 2x2 pools
    /// need 4; the ResNets' stride-2 convolutions and pools pad, so 1 will do.
    public var minimumSide: Int { self == .cnn ? 4 : 1 }

    /// A torchvision ResNet's block and blocks per stage; nil for the others.
    public var torchvisionBlocks: (kind: ResidualBlock.Kind, depths: [Int])? {
        switch self {
        case .resnet10: (.basic, [1, 1, 1, 1])
        case .resnet18: (.basic, [2, 2, 2, 2])
        case .resnet34: (.basic, [3, 4, 6, 3])
        case .resnet50: (.bottleneck(groups: 1, widthPerGroup: 64), [3, 4, 6, 3])
        case .resnext50_32x4d: (.bottleneck(groups: 32, widthPerGroup: 4), [3, 4, 6, 3])
        case .mlp, .cnn, .resnet32: nil
        }
    }
}

/// The first layers of a torchvision ResNet (`--stem`): ImageNet's 7x7 stride-2 convolution and
/// 3x3 stride-2 max pool, or CIFAR's 3x3 stride-1 convolution without a pool (same names).
public enum Stem: String, Codable, CaseIterable, Sendable, OptionEnum {
    /// imagenet for images of 64 px and more, cifar below.
    case auto, imagenet, cifar

    /// `auto` resolved for images whose smaller side is `side` pixels.
    public func resolved(side: Int) -> Stem { self != .auto ? self : side >= 64 ? .imagenet : .cifar }
}

/// How a model wants its input batch laid out.
public enum InputLayout: Sendable {
    /// (B, C*H*W): one sample per row (mlp).
    case rows
    /// (C, B, H, W): channel-major, the layout of the convolution stacks.
    case channelMajor
}

/// The shape of one input sample.
public struct InputShape: Codable, Sendable, Equatable {
    public var channels: Int, height: Int, width: Int
    public init(channels: Int, height: Int, width: Int) {
        self.channels = channels
        self.height = height
        self.width = width
    }
    public var count: Int { channels * height * width }
}

/// The model's last layer: features `h` (B, D) -> one score per class (B, K).
public enum Head: Sendable, Equatable {
    /// `h W^T + b` (PyTorch's Linear), the logits.
    case linear
    /// Cosines to the normalised columns of `head.W` (D, K*S), the best of S sub-centres per
    /// class: what the margin losses (ArcFace, CosFace, SphereFace, sub-center ArcFace) train.
    case cosine(subCenters: Int)
}

/// A classifier: features `h` (B, D) -> scores (B, K) by a linear layer or a cosine head.
///
/// `backward` takes both `dL/dlogits` and `dL/dh` (the IB loss sends a gradient
/// into the features), accumulates into `parameters.gradients`, and calls
/// `gradientsReady(offset)` after each layer: from then on every gradient at or
/// above `offset` in the flat buffer is final, so buckets can go out while the
/// layers below still compute.
public final class Model {
    public let architecture: Architecture
    public let inputShape: InputShape
    public let classes: Int
    public let inputLayout: InputLayout
    /// Trained parameters, in forward order.
    public let parameters: ParameterStore
    /// Batch-norm running statistics (not trained, not all-reduced per step).
    public let buffers: ParameterStore
    public let features: [Layer]
    public let classifier: Layer
    public let head: Head
    /// A torchvision ResNet's stem as built (`imagenet` or `cifar`); `auto` for the other models.
    public let stem: Stem
    /// Dimension D of the features `h`.
    public let featureDimension: Int
    public let batchNorms: [BatchNorm2d]
    public let workspace: Workspace
    /// Called with an offset after each layer's backward.
    public var gradientsReady: ((Int) -> Void)?
    /// When set, seconds spent in each layer are added here: forward of layer i at 2i,
    /// backward at 2i + 1, the classifier last (`bench --profile`).
    public var layerSeconds: [Double]?

    init(architecture: Architecture, inputShape: InputShape, classes: Int, inputLayout: InputLayout,
         parameters: ParameterStore, buffers: ParameterStore, features: [Layer], classifier: Layer, head: Head,
         featureDimension: Int, batchNorms: [BatchNorm2d], workspace: Workspace, stem: Stem = .auto) {
        self.stem = stem
        self.architecture = architecture
        self.inputShape = inputShape
        self.classes = classes
        self.inputLayout = inputLayout
        self.parameters = parameters
        self.buffers = buffers
        self.features = features
        self.classifier = classifier
        self.head = head
        self.featureDimension = featureDimension
        self.batchNorms = batchNorms
        self.workspace = workspace
        features.first?.needsInputGradient = false
    }

    /// Logits (B, K) and features h (B, D) for a batch laid out as `inputLayout` says. When
    /// `trains` leaves the features out, they run in evaluation mode (batch norm on its running
    /// statistics) even in training.
    public func forward(_ input: Tensor, training: Bool, trains: TrainableParts = .all) -> (logits: Tensor,
                                                                                              features: Tensor) {
        let featuresTrain = training && trains == .all
        if layerSeconds != nil { return profiledForward(input, training: training, featuresTrain: featuresTrain) }
        var t = input
        for layer in features { t = layer.forward(t, training: featuresTrain) }
        return (classifier.forward(t, training: training), t)
    }

    /// Back-propagates `dL/dlogits` (B, K) and, if given, `dL/dh` (B, D); through the classifier
    /// alone when `trains` leaves the features out (their gradients are left as they are, and
    /// reported final at once).
    public func backward(logitsGradient: Tensor, featureGradient: Tensor?, trains: TrainableParts = .all) {
        let t0 = layerSeconds == nil ? 0 : Self.now()
        var g = classifier.backward(logitsGradient)
        if layerSeconds != nil { layerSeconds![2 * features.count + 1] += Self.now() - t0 }
        guard trains == .all else {
            gradientsReady?(0)
            return
        }
        if let featureGradient {
            precondition(featureGradient.count == g.count,
                         "featureGradient \(featureGradient.shape) for features \(g.shape)")
            BLAS.axpy(count: g.count, alpha: 1, x: featureGradient.data, y: g.data)
        }
        gradientsReady?(classifier.parameterOffset ?? 0)
        for (i, layer) in features.enumerated().reversed() {
            let t = layerSeconds == nil ? 0 : Self.now()
            g = layer.backward(g)
            if layerSeconds != nil { layerSeconds![2 * i + 1] += Self.now() - t }
            if let offset = layer.parameterOffset { gradientsReady?(offset) }
        }
    }

    // MARK: - Profiling

    static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) * 1e-9 }

    /// Layer names for a profile, in `layerSeconds` order (forward and backward of each).
    public var layerNames: [String] {
        features.map { String(describing: type(of: $0)) } + ["\(type(of: classifier)) (classifier)"]
    }

    private func profiledForward(_ input: Tensor, training: Bool, featuresTrain: Bool) -> (logits: Tensor,
                                                                                          features: Tensor) {
        if layerSeconds!.count != 2 * (features.count + 1) { layerSeconds = Array(repeating: 0,
                                                                                  count: 2 * (features.count + 1)) }
        var t = input
        for (i, layer) in features.enumerated() {
            let t0 = Self.now()
            t = layer.forward(t, training: featuresTrain)
            layerSeconds![2 * i] += Self.now() - t0
        }
        let t0 = Self.now()
        let logits = classifier.forward(t, training: training)
        layerSeconds![2 * features.count] += Self.now() - t0
        return (logits, t)
    }

    /// Forward FLOPs per sample of the matrix products (one forward with batch 1).
    public func forwardFLOPsPerSample() -> Int {
        let x = inputLayout == .rows
            ? Tensor(shape: [1, inputShape.count])
            : Tensor(shape: [inputShape.channels, 1, inputShape.height, inputShape.width])
        _ = forward(x, training: false)  // evaluation mode leaves the running statistics alone
        return features.reduce(0) { $0 + $1.forwardFLOPs } + classifier.forwardFLOPs
    }

    /// Wires synchronised batch statistics into every batch-norm layer (nil: local).
    public func setBatchNormReducer(_ reducer: StatisticsReducer?) {
        for bn in batchNorms { bn.reducer = reducer }
    }
}
