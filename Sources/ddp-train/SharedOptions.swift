import ArgumentParser
import struct Settings.Options

/// `--threads` for every subcommand that runs a job (`train` has it among its options).
struct ThreadsOption: ParsableArguments {
    @ArgumentParser.Option(help: OptionBridge.help(Options().threads, default: Options().threads.helpDefault))
    var threads: Int?

    func validate() throws { try OptionBridge.check(Options().threads, threads) }
}

/// `--data` of a command that reads a trained model: another data directory than the model's.
struct ModelDataOption: ParsableArguments {
    @ArgumentParser.Option(help: OptionBridge.help(Options().data, default: "the checkpoint's; for a .safetensors " +
                                                   "file without a card, \(Options().data.defaultValue)"))
    var data: String?

    @ArgumentParser.Option(help: OptionBridge.help(Options().testList, default: "the checkpoint's"))
    var testList: String?
}
