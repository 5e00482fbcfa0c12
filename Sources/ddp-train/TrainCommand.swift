import ArgumentParser
import Distributed
import Foundation
import Settings
import Tools
import Training

/// `ddp-train train` (the default subcommand). Its training options are `TrainConfig`'s,
/// parsed and listed in `--help` from their one definition (`TrainOptions.groups`).
struct TrainCommand: ParsableCommand, JobCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a model (the default subcommand).",
        discussion: "Every training option, with its default: ddp-train train --help")

    @ArgumentParser.Option(help: ArgumentHelp("Preset: \(Recipes.names.joined(separator: ", ")).", valueName: "name"))
    var recipe: String?

    @ArgumentParser.Option(help: ArgumentHelp("Options from a JSON or TOML file with the options' names as keys.",
                                              valueName: "file"))
    var config: String?

    @ArgumentParser.Option(help: ArgumentHelp("Resume: auto (the newest valid checkpoint of --run-dir; a fresh start " +
                                              "if there is none) or a checkpoint path.", valueName: "auto|path"))
    var resume: String?

    @Argument(parsing: .allUnrecognized, help: .hidden)
    var options: [String] = []

    var blasThreads: Int? { (try? parsedConfig())?.threads ?? nil }

    func validate() throws {
        if let recipe, Recipes.arguments(recipe) == nil {
            throw ValidationError("unknown recipe '\(recipe)'; valid recipes: \(Recipes.names.joined(separator: ", "))")
        }
        let config: TrainConfig
        do {
            config = try parsedConfig()
        } catch {
            throw ValidationError("\(error)")
        }
        let problems = config.problems()
        if !problems.isEmpty { throw ValidationError(problems.joined(separator: "\n")) }
        if let resume, resume != "auto", !FileManager.default.fileExists(atPath: resume) {
            throw ValidationError("--resume \(resume): no such checkpoint (use auto or a checkpoint path)")
        }
    }

    /// The configuration the options describe (defaults not yet resolved).
    func parsedConfig() throws -> TrainConfig {
        var c = TrainConfig()
        try TrainConfig.parser.parse(options, into: &c.settings)
        return c
    }

    /// `ddp-train train --help`: the command's own options and every training option by group.
    static var helpText: String {
        var out = """
            OVERVIEW: Train a model (the default subcommand).

            Options may also come from --recipe NAME and --config FILE (JSON or TOML, keys named as
            the options); the command line overrides the file, which overrides the recipe.

            USAGE: ddp-train [train] [--recipe <name>] [--config <file>] [--resume <auto|path>] [<option> ...]

            PRESETS AND RESUMING:

            """
        out += OptionParser.format(label: "--recipe <name>", text: "Preset: \(Recipes.names.joined(separator: ", ")).",
                                   width: 80)
        out += OptionParser.format(label: "--config <file>",
                                   text: "Options from a JSON or TOML file with the options' names as keys.", width: 80)
        out += OptionParser.format(label: "--resume <auto|path>",
                                   text: "Resume: auto (the newest valid checkpoint of --run-dir; a fresh start if " +
                                         "there is none) or a checkpoint path.", width: 80)
        out += OptionParser.format(label: "-h, --help", text: "Show help information.", width: 80)
        return out + TrainConfig.parser.help()
    }

    func run(comm: Communicator) throws -> Int32 {
        let log = Log(rank: comm.rank, worldSize: comm.size)
        let trainer = try Trainer(config: try parsedConfig(), comm: comm, log: log, outputs: RunFiles())
        log.info("ddp-train: \(comm.size) rank\(comm.size == 1 ? "" : "s"), run directory \(trainer.run.path)")
        log.info("configuration: " + String(decoding: try RunDirectory.json(trainer.config), as: UTF8.self))
        log.info("data: \(trainer.dataset.layout.name) from \(trainer.config.data), " +
                 "\(trainer.dataset.globalTrainCount) training samples, class counts \(trainer.dataset.counts), " +
                 "\(trainer.dataset.test.count) test samples")
        if trainer.step.phases.phases.count > 1 { log.info("phases: " + trainer.step.phases.text) }
        switch trainer.step.sumPath {
        case .sharedParameters:
            log.info("parameters: one copy in shared memory for the \(comm.size) ranks of this host (more ranks than " +
                     "cores); each rank sums and updates 1/\(comm.size) of them")
        case .sharedMemory:
            log.info("gradients: summed in shared memory by the \(comm.size) ranks of this host; each rank sums " +
                     "1/\(comm.size) of them")
        case .single, .mpi:
            break
        }
        if resume == nil, comm.rank == 0, !trainer.run.checkpoints().isEmpty {
            log.warn("\(trainer.run.path) already holds checkpoints; starting fresh (pass --resume auto " +
                     "to continue that run)")
        }
        if let setting = resume {
            if let path = try trainer.resume(setting) {
                log.info("resumed from \(path) at epoch \(trainer.epoch + 1), step \(trainer.globalStep)")
            } else {
                log.info("no checkpoint to resume in \(trainer.run.checkpointDirectory): starting fresh")
            }
        }
        StopSignal.install()
        let summary = try trainer.train()
        guard let f = summary.final else { return StopSignal.exitStatus }
        for line in ResultText.lines(f.figures, head: "done",
                                     worstClass: ResultText.worstClass(f.figures, names: trainer.dataset.classNames),
                                     posthocTau: trainer.config.posthocTau,
                                     tauNorm: f.figures.tauChosen ?? trainer.config.tauNorm?.tau,
                                     trainCounts: f.training.classCounts) {
            log.info(line)
        }
        log.info(ResultText.selection(trainer.metricsLines, selectBy: trainer.config.selectBy,
                                      validated: trainer.dataset.val != nil))
        log.info("run directory: \(summary.runDirectory)")
        return 0
    }
}
