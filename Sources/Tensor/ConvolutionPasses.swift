import COneDNN

/// The three passes of a convolution, as a set: which of them read bfloat16 (`--precision bf16`
/// chooses them per convolution, `ConvolutionPrecisionPlan`).
public struct ConvolutionPasses: OptionSet, Sendable, Hashable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    public static let forward = ConvolutionPasses(rawValue: Int(DDP_BF16_FORWARD))
    public static let backwardData = ConvolutionPasses(rawValue: Int(DDP_BF16_BACKWARD_DATA))
    public static let backwardWeights = ConvolutionPasses(rawValue: Int(DDP_BF16_BACKWARD_WEIGHTS))
    public static let all: ConvolutionPasses = [.forward, .backwardData, .backwardWeights]

    /// The passes in the order of their letters: forward, backward data, backward weights.
    public static let ordered: [ConvolutionPasses] = [.forward, .backwardData, .backwardWeights]
    /// Their names, in that order.
    public static let names = ["forward", "backward data", "backward weights"]

    /// Three letters, one per pass in `ordered`'s order: `b` bfloat16, `f` float32 (`bfb`).
    public var letters: String { String(Self.ordered.map { contains($0) ? "b" : "f" }) }

    /// The passes of `letters` (three of `b` and `f`), nil for anything else.
    public init?(letters: some StringProtocol) {
        guard letters.count == 3, letters.allSatisfy({ $0 == "b" || $0 == "f" }) else { return nil }
        var passes: ConvolutionPasses = []
        for (letter, pass) in zip(letters, Self.ordered) where letter == "b" { passes.insert(pass) }
        self = passes
    }
}
