import Settings
import Tensor

/// Which passes of which convolutions run bfloat16 (`--conv-precision`): what `--precision bf16`
/// and `auto` measure before training (`ConvolutionPrecisionPlan.measure`), recorded in
/// config.json and checkpoints so that a resumed run uses the same kernels. Its text is one
/// `NAME:FDW` per convolution run in bfloat16 somewhere, F, D and W each `b` (bfloat16) or `f`
/// (float32) for forward, backward data and backward weights (`layer1.0.conv1:bfb,conv1:bff`);
/// `none` when every pass runs float32.
public struct ConvolutionPrecisionPlan: OptionValue, Sendable, Equatable {
    /// (convolution name, its bfloat16 passes), in the model's order; convolutions not listed
    /// run float32.
    public var entries: [Entry]

    public struct Entry: Sendable, Equatable {
        public var name: String
        public var passes: ConvolutionPasses
        public init(name: String, passes: ConvolutionPasses) {
            self.name = name
            self.passes = passes
        }
    }

    public init(entries: [Entry]) { self.entries = entries.filter { !$0.passes.isEmpty } }

    public static func parse(_ values: [String]) -> ConvolutionPrecisionPlan? {
        guard values.count == 1 else { return nil }
        if values[0] == "none" { return ConvolutionPrecisionPlan(entries: []) }
        var entries: [Entry] = []
        for item in values[0].split(separator: ",", omittingEmptySubsequences: false) {
            let parts = item.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, let passes = ConvolutionPasses(letters: parts[1]),
                  !entries.contains(where: { $0.name == parts[0] }) else { return nil }
            entries.append(Entry(name: String(parts[0]), passes: passes))
        }
        return ConvolutionPrecisionPlan(entries: entries)
    }

    public static var expected: String {
        "none, or NAME:FDW per convolution (F, D, W: b or f for forward, backward data, backward weights), " +
            "comma-separated (layer1.0.conv1:bfb)"
    }

    public var text: String {
        entries.isEmpty ? "none" : entries.map { "\($0.name):\($0.passes.letters)" }.joined(separator: ",")
    }

    public init(from decoder: Decoder) throws {
        guard let plan = Self.parse([try String(from: decoder)]) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                                                    debugDescription: "expected \(Self.expected)"))
        }
        self = plan
    }

    public func encode(to encoder: Encoder) throws { try text.encode(to: encoder) }

    /// Sets every convolution of `model` to its passes (float32 for those not listed). A name the
    /// model lacks is an error naming it.
    public func apply(to model: Model) throws(OptionError) {
        let convolutions = model.convolutions
        for entry in entries where !convolutions.contains(where: { $0.name == entry.name }) {
            throw OptionError("--conv-precision: the model has no convolution '\(entry.name)' (it has " +
                              "\(convolutions.prefix(3).map(\.name).joined(separator: ", ")), ...)")
        }
        for c in convolutions { c.bfloat16Passes = entries.first { $0.name == c.name }?.passes ?? [] }
    }

    /// "bfloat16 in forward 10, backward data 3, backward weights 31 of 31 convolutions".
    public func summary(convolutions: Int) -> String {
        let counts = ConvolutionPasses.ordered.map { pass in entries.filter { $0.passes.contains(pass) }.count }
        if counts.allSatisfy({ $0 == 0 }) { return "float32 in all \(convolutions) convolutions" }
        return "bfloat16 in " + zip(ConvolutionPasses.names, counts).map { "\($0) \($1)" }.joined(separator: ", ") +
            " of \(convolutions) convolutions (float32 elsewhere)"
    }
}

/// A layer made of convolutions (and other layers).
public protocol ConvolutionHolder {
    /// Its convolutions, in the order they run.
    var convolutions: [Conv2d] { get }
}

extension Conv2d: ConvolutionHolder { public var convolutions: [Conv2d] { [self] } }
extension BasicBlock: ConvolutionHolder { public var convolutions: [Conv2d] { [conv1, conv2] } }
extension ResidualBlock: ConvolutionHolder {
    public var convolutions: [Conv2d] { convs + (downsample.map { [$0.conv] } ?? []) }
}

extension Model {
    /// Every convolution of the features, in the order they run.
    public var convolutions: [Conv2d] { features.flatMap { ($0 as? ConvolutionHolder)?.convolutions ?? [] } }
}
