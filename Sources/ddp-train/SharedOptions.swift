import ArgumentParser
import Data
import NN
import struct Settings.Options
import Training

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

    @ArgumentParser.Option(help: ArgumentHelp("The model of a .safetensors file without a card (another program's, " +
                                              "such as a torchvision state_dict)."))
    var model: Architecture?

    @ArgumentParser.Option(help: "The classes of a .safetensors file without a card (default: the data's).")
    var classes: Int?

    @ArgumentParser.Option(help: ArgumentHelp("The normalisation a .safetensors file without a card was trained " +
                                              "with: dataset, imagenet or none (default: dataset)."))
    var normalization: NormalizationKind?

    @ArgumentParser.Option(help: ArgumentHelp("The image size of a .safetensors file without a card, for image " +
                                              "folders and tar shards (default: the first test image's).",
                                              valueName: "HxW"))
    var imageSize: ImageSize?

    /// What a card-less file is assumed to hold.
    var cardless: CardlessModel {
        CardlessModel(model: model, classes: classes, normalization: normalization, imageSize: imageSize)
    }

    func validate() throws {
        if let classes { try OptionBridge.check(Options().classes, classes) }
    }
}
