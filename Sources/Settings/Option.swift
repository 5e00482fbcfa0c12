/// A setting of a training run: its option name, default and help, defined once.
///
/// Options are members of `Options`, declared next to the code that reads them
/// (`extension Options { public var lr: Option<Double> { Option("lr", 0.1, "Base learning rate.") } }`);
/// `Settings` reads and writes them by key path (`settings.lr`). The command line
/// (`--lr 0.1`), config files, `config.json` and checkpoints all use `name`.
public struct Option<Value: OptionValue>: AnyOption {
    public let name: String
    public let defaultValue: Value
    public let help: String
    /// Shown instead of the default value in `--help` (a default that depends on other options).
    public let defaultText: String?
    /// The placeholder in `--help` (`--data <dir>`), the option name when nil.
    public let valueName: String?
    /// The values it accepts (nil: any value of its type).
    public let check: OptionCheck<Value>?

    public init(_ name: String, _ defaultValue: Value, _ help: String, defaultText: String? = nil,
                valueName: String? = nil,
                check: OptionCheck<Value>? = nil) {
        self.name = name
        self.defaultValue = defaultValue
        self.help = help
        self.defaultText = defaultText
        self.valueName = valueName
        self.check = check
    }

    /// What is wrong with its value in `settings` ("--lr must be a positive finite number, got -1"), or nil.
    public func problem(in settings: Settings) -> String? {
        check?.test(settings[self]).map { "--\(name) \($0)" }
    }

    public var arity: OptionArity { Value.arity }
    public var expected: String { Value.expected }

    public var helpDefault: String? {
        if let defaultText { return defaultText }
        return defaultValue.text.isEmpty ? nil : defaultValue.text
    }

    public func parse(_ values: [String], into settings: inout Settings) throws {
        guard let value = Value.parse(values) else {
            let given = values.count == 1 ? "'\(values[0])'" : "\(values)"
            throw OptionError("--\(name): expected \(Value.expected), got \(given)")
        }
        settings.values[name] = value
    }

    public func encode(_ settings: Settings, into container: inout KeyedEncodingContainer<OptionKey>) throws {
        try container.encode(settings[self], forKey: OptionKey(name))
    }

    public func decode(from container: KeyedDecodingContainer<OptionKey>, into settings: inout Settings) throws {
        let key = OptionKey(name)
        guard container.contains(key) else { return }
        do {
            settings.values[name] = try container.decode(Value.self, forKey: key)
        } catch {
            throw OptionError("'\(name)': expected \(Value.expected)")
        }
    }

    public func text(in settings: Settings) -> String { settings[self].text }
}

/// How many command-line values an option takes.
public enum OptionArity: Sendable {
    /// `--name` / `--no-name`
    case flag
    /// `--name VALUE`
    case one
    /// `--name V1 V2 ...` up to the next option
    case list
}

/// An option whatever its value type: what parsing, help and coding need.
public protocol AnyOption: Sendable {
    var name: String { get }
    var help: String { get }
    var arity: OptionArity { get }
    var expected: String { get }
    var helpDefault: String? { get }
    var valueName: String? { get }
    func parse(_ values: [String], into settings: inout Settings) throws
    func encode(_ settings: Settings, into container: inout KeyedEncodingContainer<OptionKey>) throws
    func decode(from container: KeyedDecodingContainer<OptionKey>, into settings: inout Settings) throws
    func text(in settings: Settings) -> String
    /// What is wrong with its value in `settings`, or nil (`Option.check`).
    func problem(in settings: Settings) -> String?
}

/// Every option, each declared where it is used as a member of an extension. (Members of an
/// instance, not static ones: key paths to static members cross modules badly in Swift 6.3
/// debug builds.)
public struct Options: Sendable {
    public init() {}
}

/// A titled list of options, in the order `--help` shows them.
public struct OptionGroup: Sendable {
    public let title: String
    public let options: [any AnyOption]

    public init(_ title: String, _ options: [any AnyOption]) {
        self.title = title
        self.options = options
    }
}

/// A bad option value or name: the message names the option and what was expected.
public struct OptionError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A JSON key that is an option's name.
public struct OptionKey: CodingKey, Sendable {
    public let stringValue: String
    public var intValue: Int? { nil }
    public init(_ name: String) { stringValue = name }
    public init?(stringValue: String) { self.stringValue = stringValue }
    public init?(intValue: Int) { nil }
}
