import Settings

/// `--metric-loss`: a loss on the features `h` added to the classification loss.
public enum EmbeddingLossKind: String, Codable, CaseIterable, Sendable, OptionEnum {
    case none, contrastive, triplet, npairs, quadruplet, center

    /// The loss's spec, nil for none. Each spec is in the loss's own file.
    public var spec: EmbeddingLossSpec? {
        switch self {
        case .none: nil
        case .contrastive: .contrastive
        case .triplet: .triplet
        case .npairs: .npairs
        case .quadruplet: .quadruplet
        case .center: .center
        }
    }

    /// Every embedding loss's options once, in the order of the losses (`--help`).
    public static var allOptions: [any AnyOption] {
        var seen = Set<String>()
        return allCases.flatMap { $0.spec?.options() ?? [] }.filter { seen.insert($0.name).inserted }
    }
}

/// What an embedding loss (`--metric-loss NAME`) is: its options, its default weight lambda,
/// how a golden file's parameters set its options, and the factory of its `LossTerm`.
public struct EmbeddingLossSpec: Sendable {
    public var options: @Sendable () -> [any AnyOption]
    /// lambda when `--metric-weight` is not given.
    public var defaultWeight = 1.0
    public var golden: [GoldenParameter] = []
    /// The term for `classes` classes and features of dimension `featureDimension`, weighted by `weight`.
    public var make: @Sendable (_ settings: Settings, _ classes: Int, _ featureDimension: Int,
                                _ weight: Double) -> LossTerm

    public init(options: @escaping @Sendable () -> [any AnyOption], defaultWeight: Double = 1,
                golden: [GoldenParameter] = [],
                make: @escaping @Sendable (Settings, Int, Int, Double) -> LossTerm) {
        self.options = options
        self.defaultWeight = defaultWeight
        self.golden = golden
        self.make = make
    }

    /// The term `settings` describe (lambda from `--metric-weight` or the default).
    public func term(_ settings: Settings, classes: Int, featureDimension d: Int) -> LossTerm {
        make(settings, classes, d, settings.embeddingWeight ?? defaultWeight)
    }
}

extension Options {
    public var embeddingLoss: Option<EmbeddingLossKind> { Option("metric-loss", EmbeddingLossKind.none,
                                                                 "Embedding loss on the features h over the global " +
                                                                 "batch, added to the classification loss: L = loss " +
                                                                 "+ lambda * metric(h).") }
    public var embeddingWeight: Option<Double?> { Option("metric-weight", nil, "lambda, the embedding loss's weight.",
                                                         defaultText: EmbeddingLossSpec.defaultWeightsText,
                                                         check: OptionCheck.atLeast(0).whenSet) }
}

extension EmbeddingLossSpec {
    /// "center 0.01, 1 otherwise" from the specs.
    static var defaultWeightsText: String {
        let special = EmbeddingLossKind.allCases.compactMap { k in k.spec.flatMap { $0.defaultWeight != 1
            ? "\(k.rawValue) \($0.defaultWeight)" : nil } }
        return (special + ["1 otherwise"]).joined(separator: ", ")
    }
}
