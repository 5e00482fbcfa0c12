/// Command-line parsing and `--help` text for a list of option groups.
public struct OptionParser: Sendable {
    public let groups: [OptionGroup]
    let byName: [String: any AnyOption]

    public init(_ groups: [OptionGroup]) {
        self.groups = groups
        var byName: [String: any AnyOption] = [:]
        for group in groups {
            for option in group.options {
                precondition(byName[option.name] == nil, "option --\(option.name) defined twice")
                byName[option.name] = option
            }
        }
        self.byName = byName
    }

    public var options: [any AnyOption] { groups.flatMap(\.options) }

    public func option(named name: String) -> (any AnyOption)? { byName[name] }

    /// Applies `--name value`, `--name=value`, `--flag`, `--no-flag` and `--list v1 v2` in order
    /// (a later one overrides an earlier one).
    public func parse(_ arguments: [String], into settings: inout Settings) throws {
        var i = 0
        while i < arguments.count {
            let argument = arguments[i]
            guard argument.hasPrefix("--"), argument.count > 2 else {
                throw OptionError("unexpected argument '\(Self.clip(argument))'; options are written --name value")
            }
            var name = String(argument.dropFirst(2))
            var attached: String?
            if let eq = name.firstIndex(of: "=") {
                attached = String(name[name.index(after: eq)...])
                name = String(name[..<eq])
            }
            i += 1
            if let option = byName[name] {
                switch option.arity {
                case .flag:
                    if let attached { throw OptionError("--\(name) is a flag and takes no value, got " +
                                                        "'\(Self.clip(attached))'") }
                    try option.parse(["true"], into: &settings)
                case .one:
                    if let attached {
                        try option.parse([attached], into: &settings)
                    } else {
                        guard i < arguments.count, !Self.isOptionName(arguments[i]) else {
                            throw OptionError("--\(name): missing value (expected \(option.expected))")
                        }
                        try option.parse([arguments[i]], into: &settings)
                        i += 1
                    }
                case .list:
                    var values = attached.map { [$0] } ?? []
                    while i < arguments.count, !Self.isOptionName(arguments[i]) {
                        values.append(arguments[i])
                        i += 1
                    }
                    try option.parse(values, into: &settings)
                }
            } else if name.hasPrefix("no-"), let option = byName[String(name.dropFirst(3))], option.arity == .flag,
                attached == nil {
                try option.parse(["false"], into: &settings)
            } else {
                throw OptionError("unknown option '--\(Self.clip(name))'" + suggestion(for: name))
            }
        }
    }

    /// `--name` (not a negative number, which is a value).
    static func isOptionName(_ s: String) -> Bool {
        guard s.hasPrefix("-"), s.count > 1 else { return false }
        let rest = s.dropFirst()
        return !(rest.first.map { $0.isNumber || $0 == "." } ?? false) && !["inf", "infinity",
                                                                            "nan"].contains(rest.lowercased())
    }

    func suggestion(for name: String) -> String {
        let close = byName.keys.filter { $0.hasPrefix(String(name.prefix(3))) }.sorted()
        return close.isEmpty ? "; see --help" : "; did you mean "
            + close.prefix(4).map { "--" + $0 }.joined(separator: ", ") + "?"
    }

    public static func clip(_ s: String) -> String { s.count > 80 ? String(s.prefix(80)) + "..." : s }

    /// The options section of `--help`, in ArgumentParser's layout: groups in capitals, each
    /// option with its help, its values and its default.
    public func help(width: Int = 80) -> String {
        var out = ""
        for group in groups {
            out += "\n\(group.title.uppercased()):\n"
            for option in group.options {
                let label: String
                switch option.arity {
                case .flag: label = "--\(option.name)/--no-\(option.name)"
                case .one: label = "--\(option.name) <\(option.valueName ?? option.name)>"
                case .list: label = "--\(option.name) <\(option.valueName ?? option.name)> ..."
                }
                var text = option.help
                var notes: [String] = []
                if option.expected.hasPrefix("one of ") { notes.append("values: " + option.expected.dropFirst(7)) }
                if let d = option.helpDefault { notes.append("default: "
                    + (option.arity == .flag ? (d == "true" ? "--\(option.name)" : "--no-\(option.name)") : d)) }
                if !notes.isEmpty { text += " (" + notes.joined(separator: "; ") + ")" }
                out += Self.format(label: label, text: text, width: width)
            }
        }
        return out
    }

    public static func format(label: String, text: String, width: Int) -> String {
        let indent = 26
        var lines: [String] = []
        var line = ""
        for word in text.split(separator: " ") {
            if !line.isEmpty, line.count + 1 + word.count > width - indent {
                lines.append(line)
                line = ""
            }
            line += (line.isEmpty ? "" : " ") + word
        }
        if !line.isEmpty { lines.append(line) }
        let pad = String(repeating: " ", count: indent)
        var out = ""
        let head = "  " + label
        if head.count < indent - 1 {
            out = head + String(repeating: " ", count: indent - head.count) + (lines.first ?? "") + "\n"
            lines = Array(lines.dropFirst())
        } else {
            out = head + "\n"
        }
        for l in lines { out += pad + l + "\n" }
        return out
    }
}
