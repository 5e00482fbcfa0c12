/// The explanation methods of `ddp-train explain --method` (docs/explain.md). Each method's
/// `ExplainMethodSpec` and maps are in the method's own file; adding one is a case here, its
/// line in `spec`, and its file.
public enum ExplainMethod: String, CaseIterable, Sendable {
    case saliency, cam, gradcam
    case gradcamPlusPlus = "gradcam++"
    case lime

    public var spec: ExplainMethodSpec {
        switch self {
        case .saliency: .saliency
        case .cam: .cam
        case .gradcam: .gradcam
        case .gradcamPlusPlus: .gradcamPlusPlus
        case .lime: .lime
        }
    }

    /// Why `explainer` cannot make this method's maps, or nil: the one check of a request,
    /// for `explain` and `verify-explanations` alike.
    /// - layerGiven: whether the user chose the layer (`--layer`)
    public func problem(_ explainer: Explainer, layerGiven: Bool) -> String? {
        let model = explainer.model
        if spec.needsFeatureMap, explainer.target == nil {
            return "--method \(rawValue) needs a feature map (a convolutional layer's output); \(model.architecture.rawValue) has none: use --method saliency or lime"
        }
        if spec.needsLinearHead {
            guard model.linearClassifierWeights != nil else {
                return "--method \(rawValue) needs a linear last layer; this model has a cosine head: use gradcam"
            }
            guard !layerGiven || explainer.target == model.lastFeatureMap else {
                return "--method \(rawValue) weighs the feature map the average pool feeds to the last layer; give no --layer"
            }
        }
        return nil
    }
}

/// What an explanation method is: what it needs of the model, how its maps come from one
/// gradient pass (nil for a perturbation method, which `explain` runs over the ranks itself),
/// and the maps a golden file holds for it.
public struct ExplainMethodSpec: Sendable {
    /// A feature map (a convolutional layer's output): `--layer`, or the last one.
    public var needsFeatureMap = false
    /// A linear last layer whose class weights weigh the last feature map (CAM).
    public var needsLinearHead = false
    /// Each image's map for its class, from one pass (`Explainer.pass`).
    public var maps: (@Sendable (Explainer, Explainer.Pass, [Int]) -> [ExplanationMap])?
    /// The golden file's keys for this method (`saliency`, `cam_raw` and `cam`, ...).
    public var golden: [GoldenMaps] = []

    public init(needsFeatureMap: Bool = false, needsLinearHead: Bool = false,
                maps: (@Sendable (Explainer, Explainer.Pass, [Int]) -> [ExplanationMap])?, golden: [GoldenMaps] = []) {
        self.needsFeatureMap = needsFeatureMap
        self.needsLinearHead = needsLinearHead
        self.maps = maps
        self.golden = golden
    }
}

/// Maps of a golden file's case under one key, how to compute them and their tolerance
/// (docs/explain.md): `|got - want| <= tolerance`, times `max(1, max |want|)` when relative.
public struct GoldenMaps: Sendable {
    public var key: String
    public var tolerance: Double
    public var relative: Bool
    public var compute: @Sendable (Explainer, Explainer.Pass, [Int]) -> [ExplanationMap]

    public init(_ key: String, tolerance: Double, relative: Bool, _ compute: @escaping @Sendable (Explainer, Explainer.Pass, [Int]) -> [ExplanationMap]) {
        self.key = key
        self.tolerance = tolerance
        self.relative = relative
        self.compute = compute
    }
}
