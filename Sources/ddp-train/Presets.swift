import ArgumentParser
import Foundation
import Tools
import Training

/// Expands `--recipe NAME` and `--config FILE` of the train command into options.
enum Presets {
    /// Arguments with the recipe's and the file's options inserted before the user's own.
    static func expand(_ arguments: [String]) throws -> [String] {
        try attachNegativeValues(expandPresets(arguments))
    }

    /// `--lr -0.1` as `--lr=-0.1`: the argument parser would take "-0.1" for a flag and say the
    /// value is missing; attached, the option's own check gives the right reason.
    static func attachNegativeValues(_ arguments: [String]) -> [String] {
        var out: [String] = []
        var i = 0
        while i < arguments.count {
            let a = arguments[i]
            if a.hasPrefix("--"), !a.contains("="), i + 1 < arguments.count, looksNegative(arguments[i + 1]) {
                out.append(a + "=" + arguments[i + 1])
                i += 2
            } else {
                out.append(a)
                i += 1
            }
        }
        return out
    }

    static func looksNegative(_ s: String) -> Bool {
        guard s.hasPrefix("-"), s.count > 1 else { return false }
        let rest = s.dropFirst().lowercased()
        return rest.first.map { $0.isNumber || $0 == "." } == true || rest == "inf" || rest == "infinity"
            || rest == "nan"
    }

    static func expandPresets(_ arguments: [String]) throws -> [String] {
        let subcommands = Set(DDPTrain.configuration.subcommands.compactMap { $0.configuration.commandName })
        // Only train takes presets: the default subcommand, or "train" first.
        var start = 0
        if let first = arguments.first, subcommands.contains(first) {
            guard first == "train" else { return arguments }
            start = 1
        }
        let own = Array(arguments[start...])
        // Train's --help lists every training option from their definitions.
        let help = own.contains("--help") || own.contains("-h")
        if help, start == 1 || own.contains(where: { $0 != "--help" && $0 != "-h" }) {
            print(TrainCommand.helpText)
            exit(0)
        }
        var inserted: [String] = []
        if let name = value(of: "--recipe", in: own) {
            guard let preset = Recipes.arguments(name) else {
                throw ValidationError("unknown recipe '\(name)'; valid recipes: " +
                                      "\(Recipes.names.joined(separator: ", "))")
            }
            inserted += preset
        }
        if let path = value(of: "--config", in: own) {
            do {
                inserted += try ConfigFile.arguments(from: path, validKeys: validKeys)
            } catch {
                throw ValidationError("\(error)")
            }
        }
        return Array(arguments[..<start]) + inserted + own
    }

    /// The value of `--name X` or `--name=X`.
    static func value(of name: String, in arguments: [String]) -> String? {
        for (i, a) in arguments.enumerated() {
            if a == name, i + 1 < arguments.count { return arguments[i + 1] }
            if a.hasPrefix(name + "=") { return String(a.dropFirst(name.count + 1)) }
        }
        return nil
    }

    /// Keys a config file may use: the train options (config.json's keys) and resume.
    static var validKeys: Set<String> {
        var keys = Set(TrainConfig.parser.options.map(\.name))
        keys.insert("resume")
        return keys
    }
}
