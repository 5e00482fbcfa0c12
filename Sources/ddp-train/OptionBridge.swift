import struct ArgumentParser.ArgumentHelp
import struct ArgumentParser.ValidationError
import Settings

/// Subcommands' options that are training options take their help, default and check from the
/// one definition (`Options`), not from literals of their own.
enum OptionBridge {
    /// The option's help (ArgumentParser adds the default of a property that has one; `default`
    /// says it for one that has none).
    static func help<Value>(_ option: Option<Value>, default text: String? = nil) -> ArgumentHelp {
        ArgumentHelp(option.help + (text.map { " (default: \($0))" } ?? ""), valueName: option.valueName)
    }

    /// Refuses a value the option's check refuses, with its message.
    static func check<Value>(_ option: Option<Value>, _ value: Value) throws {
        var settings = Settings()
        settings[option] = value
        if let problem = option.problem(in: settings) { throw ValidationError(problem) }
    }
}
