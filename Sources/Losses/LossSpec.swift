import Settings

/// What a classification loss (`--loss NAME`) is, in one value: its options, the model's last
/// layer, what `--class-weights auto` means for it, whether it trains in two phases, how a golden
/// file's parameters set its options, its cross-field checks and the factory of its `LossTerm`.
/// Each loss's spec lives in the loss's own file; `LossKind.spec` maps every case to one (an
/// exhaustive switch: a new case without a spec does not compile). The command line, `--help`,
/// `config.json`, validation and `verify-losses` all read the specs.
public struct LossSpec: Sendable {
    /// The loss's own options (shared ones, such as `--margin`, appear in several specs), in
    /// `--help` order. A closure, so that an option's help may itself read the specs.
    public var options: @Sendable () -> [any AnyOption]
    /// The model's last layer.
    public var head: LossHead = .linear
    /// What `--class-weights auto` resolves to.
    public var defaultWeighting: ClassWeighting = .none
    /// Plain cross-entropy before `--ib-start-epoch` (default: half the epochs), this loss after.
    public var twoPhase = false
    /// Defaults of the shared margin-head options when the user gives none.
    public var marginDefault: Double?
    public var scaleDefault: Double?
    /// How the golden files' `params` set this loss's options.
    public var golden: [GoldenParameter] = []
    /// Checks that involve other options (the option's own range is its `check`).
    public var problems: @Sendable (Settings) -> [String] = { _ in [] }
    /// The loss term for `classes` scores and features of dimension `featureDimension`.
    public var make: @Sendable (_ settings: Settings, _ classes: Int, _ featureDimension: Int) -> LossTerm

    public init(options: @escaping @Sendable () -> [any AnyOption], head: LossHead = .linear,
                defaultWeighting: ClassWeighting = .none,
                twoPhase: Bool = false, marginDefault: Double? = nil, scaleDefault: Double? = nil,
                golden: [GoldenParameter] = [],
                problems: @escaping @Sendable (Settings) -> [String] = { _ in [] },
                make: @escaping @Sendable (Settings, Int, Int) -> LossTerm) {
        self.options = options
        self.head = head
        self.defaultWeighting = defaultWeighting
        self.twoPhase = twoPhase
        self.marginDefault = marginDefault
        self.scaleDefault = scaleDefault
        self.golden = golden
        self.problems = problems
        self.make = make
    }
}

/// The model's last layer a loss trains.
public enum LossHead: Sendable, Equatable {
    /// A linear layer: logits.
    case linear
    /// The cosine head (`CosineClassifier`): cosines, one centre per class.
    case cosine
    /// The cosine head with `--sub-centers` centres per class.
    case cosineWithSubCenters
}

/// A golden file's parameter (`"gamma": 2`) and the option it sets.
public struct GoldenParameter: Sendable {
    public var name: String
    public var set: @Sendable (inout Settings, Double) -> Void

    public init(_ name: String, _ set: @escaping @Sendable (inout Settings, Double) -> Void) {
        self.name = name
        self.set = set
    }
}

extension LossKind {
    /// The name used in the golden files (`ib_focal`, `subcenter_arcface`).
    public var goldenName: String { rawValue.replacingOccurrences(of: "-", with: "_") }

    /// Every loss's options once, in the order of the losses and of each spec (`--help`).
    public static var allOptions: [any AnyOption] {
        var seen = Set<String>()
        return allCases.flatMap { $0.spec.options() }.filter { seen.insert($0.name).inserted }
    }
}

extension Settings {
    /// Applies a golden case's `params` through `parameters`; returns the first name none of
    /// them knows, or nil.
    public mutating func apply(golden params: [String: Double], _ parameters: [GoldenParameter]) -> String? {
        let known = Dictionary(parameters.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for (name, value) in params.sorted(by: { $0.key < $1.key }) {
            guard let parameter = known[name] else { return name }
            parameter.set(&self, value)
        }
        return nil
    }
}
