import Tensor

/// The explanation methods of `ddp-train explain --method` (docs/explain.md). Each method's
/// `ExplainMethodSpec` and maps are in the method's own file; adding one is a case here, its
/// line in `spec`, and its file.
public enum ExplainMethod: String, CaseIterable, Sendable {
    case saliency, cam, gradcam
    case gradcamPlusPlus = "gradcam++"
    case lime
    case deconvnet
    case guidedBackprop = "guided-backprop"
    case guidedGradcam = "guided-gradcam"
    case integratedGradients = "integrated-gradients"
    case smoothgrad, occlusion, scorecam, layercam, xgradcam, hirescam

    public var spec: ExplainMethodSpec {
        switch self {
        case .saliency: .saliency
        case .cam: .cam
        case .gradcam: .gradcam
        case .gradcamPlusPlus: .gradcamPlusPlus
        case .lime: .lime
        case .deconvnet: .deconvnet
        case .guidedBackprop: .guidedBackprop
        case .guidedGradcam: .guidedGradcam
        case .integratedGradients: .integratedGradients
        case .smoothgrad: .smoothgrad
        case .occlusion: .occlusion
        case .scorecam: .scorecam
        case .layercam: .layercam
        case .xgradcam: .xgradcam
        case .hirescam: .hirescam
        }
    }

    /// Why `explainer` cannot make this method's maps, or nil: the one check of a request,
    /// for `explain` and `verify-explanations` alike.
    /// - layerGiven: whether the user chose the layer (`--layer`)
    public func problem(_ explainer: Explainer, layerGiven: Bool) -> String? {
        let model = explainer.model
        if spec.needsFeatureMap, explainer.target == nil {
            return "--method \(rawValue) needs a feature map (a convolutional layer's output); " +
                   "\(model.architecture.rawValue) has none: use --method saliency or lime"
        }
        if spec.needsLinearHead {
            guard model.linearClassifierWeights != nil else {
                return "--method \(rawValue) needs a linear last layer; this model has a cosine head: use gradcam"
            }
            guard !layerGiven || explainer.target == model.lastFeatureMap else {
                return "--method \(rawValue) weighs the feature map the average pool feeds to the last " +
                       "layer; give no --layer"
            }
        }
        return nil
    }
}

/// The methods' settings (`explain`'s options; the golden file's `settings`).
public struct ExplainSettings: Sendable, Equatable {
    /// Integrated gradients: Gauss-Legendre steps from the zero baseline (captum's default 50).
    public var steps = 50
    /// SmoothGrad: noisy copies per image and the noise's standard deviation (captum's
    /// `NoiseTunnel` defaults 5 and 1.0), and the seed of the noise.
    public var noiseSamples = 5
    public var noiseStdev = 1.0
    public var seed: UInt64 = 0
    /// Occlusion: the square window's side and its stride, in pixels.
    public var window = 4
    public var stride = 2
    /// Faithfulness: the deletion and insertion curves' steps (`Faithfulness`).
    public var faithfulnessSteps = 20

    public init() {}

    /// Why these settings cannot be used, or nil.
    public var problem: String? {
        if !(1...10_000).contains(steps) { return "--steps \(steps): expected 1 to 10000" }
        if !(1...10_000).contains(noiseSamples) { return "--noise-samples \(noiseSamples): expected 1 to 10000" }
        if !(noiseStdev >= 0 && noiseStdev <= 100) { return "--noise-stdev \(noiseStdev): expected 0 to 100" }
        if !(1...4096).contains(window) || !(1...4096).contains(stride) { return "--window \(window) and --stride " +
            "\(stride): expected 1 to 4096 pixels" }
        if !(1...1000).contains(faithfulnessSteps) { return "--faithfulness-steps " +
                                                            "\(faithfulnessSteps): expected 1 to 1000" }
        return nil
    }
}

/// What a method's maps are made of: the images, each image's class, the exact gradient pass
/// (logits, target feature map and its gradient, input gradient) and the settings.
public struct ExplainInput {
    /// The images in the model's input layout.
    public var input: Tensor
    public var classes: [Int]
    public var pass: Explainer.Pass
    public var settings: ExplainSettings

    public init(input: Tensor, classes: [Int], pass: Explainer.Pass, settings: ExplainSettings) {
        self.input = input
        self.classes = classes
        self.pass = pass
        self.settings = settings
    }
}

/// What an explanation method is: what it needs of the model, how its maps come from the
/// images and the pass (nil for LIME, which `explain` runs over the ranks itself), and the
/// maps a golden file holds for it.
public struct ExplainMethodSpec: Sendable {
    public typealias Maps = @Sendable (Explainer, ExplainInput) -> [ExplanationMap]
    /// A feature map (a convolutional layer's output): `--layer`, or the last one.
    public var needsFeatureMap = false
    /// A linear last layer whose class weights weigh the last feature map (CAM).
    public var needsLinearHead = false
    /// Whether the map is signed (an attribution) rather than scaled to [0, 1].
    public var signed = false
    /// Each image's map for its class.
    public var maps: Maps?
    /// The golden file's keys for this method (`saliency`, `cam_raw` and `cam`, ...).
    public var golden: [GoldenMaps] = []

    public init(needsFeatureMap: Bool = false, needsLinearHead: Bool = false, signed: Bool = false, maps: Maps?,
                golden: [GoldenMaps] = []) {
        self.needsFeatureMap = needsFeatureMap
        self.needsLinearHead = needsLinearHead
        self.signed = signed
        self.maps = maps
        self.golden = golden
    }

    /// A method whose maps are checked under one key: `golden(key)` computes what `maps` does.
    init(key: String, tolerance: Double, relative: Bool, needsFeatureMap: Bool = false, signed: Bool = false,
         maps: @escaping Maps) {
        self.init(needsFeatureMap: needsFeatureMap, signed: signed, maps: maps,
                  golden: [GoldenMaps(key, tolerance: tolerance, relative: relative, maps)])
    }
}

/// Maps of a golden file's case under one key, how to compute them and their tolerance
/// (docs/explain.md): `|got - want| <= tolerance`, times `max(1, max |want|)` when relative.
public struct GoldenMaps: Sendable {
    public var key: String
    public var tolerance: Double
    public var relative: Bool
    public var compute: ExplainMethodSpec.Maps

    public init(_ key: String, tolerance: Double, relative: Bool, _ compute: @escaping ExplainMethodSpec.Maps) {
        self.key = key
        self.tolerance = tolerance
        self.relative = relative
        self.compute = compute
    }
}
