/// An epoch given as a number (`160`) or as a share of the run's epochs (`80%`): what a recipe
/// says when it should hold whatever `--epochs` is.
public enum EpochPoint: OptionValue, Hashable {
    case epoch(Int)
    case percent(Double)

    public static func parse(_ values: [String]) -> EpochPoint? {
        guard values.count == 1 else { return nil }
        let v = values[0]
        if v.hasSuffix("%") { return Double(v.dropLast()).map(EpochPoint.percent) }
        return Int(v).map(EpochPoint.epoch)
    }

    public static var expected: String { "an epoch number or a share of the epochs such as 80%" }

    public var text: String {
        switch self {
        case .epoch(let e): return "\(e)"
        case .percent(let p): return (p == p.rounded() && abs(p) < 1e15 ? "\(Int(p))" : "\(p)") + "%"
        }
    }

    /// The 0-based epoch in a run of `epochs` epochs (a share rounds down).
    public func epoch(of epochs: Int) -> Int {
        switch self {
        case .epoch(let e): return e
        case .percent(let p): return Int((p / 100 * Double(epochs)).rounded(.down))
        }
    }

    /// Why the value is out of range, or nil.
    public var problem: String? {
        switch self {
        case .epoch(let e): return e >= 0 && e <= 1_000_000 ? nil : "must be in 0...1000000, got \(e)"
        case .percent(let p): return p >= 0 && p <= 100 ? nil : "must be a share in 0%...100%, got \(text)"
        }
    }

    // An integer in JSON (as config files of older versions have it), or a text such as "80%".
    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let e = try? c.decode(Int.self) {
            self = .epoch(e)
            return
        }
        let text = try c.decode(String.self)
        guard let value = Self.parse([text]) else {
            throw DecodingError.dataCorruptedError(in: c,
                                                   debugDescription: "expected \(Self.expected), got \"\(text)\"")
        }
        self = value
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .epoch(let e): try c.encode(e)
        case .percent: try c.encode(text)
        }
    }
}
