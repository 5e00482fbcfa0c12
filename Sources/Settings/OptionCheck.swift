/// What values an option accepts: a test that returns what is wrong with a value ("must be in
/// 0...10, got 11"), nil when it is fine. Declared with the option (`Option(..., check: .atLeast(0))`),
/// so its range lives beside its name, default and help; `TrainConfig.problems()` applies every one.
/// NaN and infinity fail every numeric check.
public struct OptionCheck<Value>: Sendable {
    public let test: @Sendable (Value) -> String?

    public init(_ test: @escaping @Sendable (Value) -> String?) { self.test = test }

    /// A check of the value when one is set (an optional option unset passes).
    public var whenSet: OptionCheck<Value?> {
        let test = test
        return OptionCheck<Value?> { value in value.flatMap(test) }
    }
}

extension OptionCheck where Value == Double {
    /// `lo <= v <= hi`: "must be in [lo, hi], got v" (`note` is added inside, e.g. "0: off").
    public static func closed(_ lo: Double, _ hi: Double, note: String? = nil) -> Self {
        Self { v in v >= lo && v <= hi ? nil : "must be in [\(format(lo)), " +
                                               "\(format(hi))]\(note.map { " (\($0))" } ?? ""), got \(v)" }
    }
    /// A finite number of at least `lo`.
    public static func atLeast(_ lo: Double) -> Self {
        Self { v in v >= lo && v.isFinite ? nil : "must be a finite number of at least \(format(lo)), got \(v)" }
    }
    /// A finite number above zero.
    public static var positive: Self { Self { v in v > 0 && v.isFinite
        ? nil : "must be a positive finite number, got \(v)" } }

    static func format(_ x: Double) -> String { x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : "\(x)" }
}

extension OptionCheck where Value == Int {
    /// `lo...hi`: "must be in lo...hi, got v".
    public static func range(_ lo: Int, _ hi: Int) -> Self {
        Self { v in v >= lo && v <= hi ? nil : "must be in \(lo)...\(hi), got \(v)" }
    }
    /// At least `lo`: "must be at least lo, got v" ("must not be negative" for 0).
    public static func atLeast(_ lo: Int) -> Self {
        Self { v in v >= lo ? nil : (lo == 0 ? "must not be negative, got \(v)" : "must be at least \(lo), got \(v)") }
    }
}
