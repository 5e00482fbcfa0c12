/// The values of a set of options; an option not set has its default.
///
/// `settings.lr` reads the option `Options().lr` (by key path), so code reads
/// settings by the option's Swift name and the option is defined in one place.
@dynamicMemberLookup
public struct Settings: Sendable {
    /// Values set explicitly, by option name.
    var values: [String: any OptionValue] = [:]

    public init() {}

    public subscript<Value>(option: Option<Value>) -> Value {
        get { values[option.name] as? Value ?? option.defaultValue }
        set { values[option.name] = newValue }
    }

    public subscript<Value>(dynamicMember path: KeyPath<Options, Option<Value>>) -> Value {
        get { self[Options()[keyPath: path]] }
        set { self[Options()[keyPath: path]] = newValue }
    }
}
