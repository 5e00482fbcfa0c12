/// A type an option can hold: parsed from the command line, coded in JSON, shown in `--help`.
public protocol OptionValue: Codable, Sendable, Equatable {
    /// The value of `--name V...` (one string unless `arity` is `.list`; `["true"]`/`["false"]` for flags).
    static func parse(_ values: [String]) -> Self?
    /// What the value must be, for messages ("a number", "one of ce, focal").
    static var expected: String { get }
    static var arity: OptionArity { get }
    /// The value as the command line writes it ("" for none).
    var text: String { get }
}

extension OptionValue {
    public static var arity: OptionArity { .one }
}

extension Double: OptionValue {
    public static func parse(_ values: [String]) -> Double? { values.count == 1 ? Double(values[0]) : nil }
    public static var expected: String { "a number" }
    public var text: String { "\(self)" }
}

extension Int: OptionValue {
    public static func parse(_ values: [String]) -> Int? { values.count == 1 ? Int(values[0]) : nil }
    public static var expected: String { "an integer" }
    public var text: String { "\(self)" }
}

extension String: OptionValue {
    public static func parse(_ values: [String]) -> String? { values.count == 1 ? values[0] : nil }
    public static var expected: String { "a text" }
    public var text: String { self }
}

extension Bool: OptionValue {
    public static func parse(_ values: [String]) -> Bool? { values.count == 1 ? Bool(values[0]) : nil }
    public static var expected: String { "true or false" }
    public static var arity: OptionArity { .flag }
    public var text: String { "\(self)" }
}

extension Optional: OptionValue where Wrapped: OptionValue {
    public static func parse(_ values: [String]) -> Self? { Wrapped.parse(values).map { .some($0) } }
    public static var expected: String { Wrapped.expected }
    public static var arity: OptionArity { Wrapped.arity }
    public var text: String { map(\.text) ?? "" }
}

extension Array: OptionValue where Element: OptionValue {
    public static func parse(_ values: [String]) -> [Element]? {
        var out: [Element] = []
        for v in values {
            guard let e = Element.parse([v]) else { return nil }
            out.append(e)
        }
        return out
    }
    public static var expected: String { "a list of \(Element.expected == "an integer" ? "integers" : "values")" }
    public static var arity: OptionArity { .list }
    public var text: String { map(\.text).joined(separator: " ") }
}

/// Enumerations whose raw values are the option's values.
public protocol OptionEnum: OptionValue, RawRepresentable<String>, CaseIterable {}

extension OptionEnum {
    public static func parse(_ values: [String]) -> Self? { values.count == 1 ? Self(rawValue: values[0]) : nil }
    public static var expected: String { "one of " + allCases.map(\.rawValue).joined(separator: ", ") }
    public var text: String { rawValue }
}
