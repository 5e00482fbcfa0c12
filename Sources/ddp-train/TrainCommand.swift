import ArgumentParser
import Distributed
import Foundation
import Training

/// `ddp-train train` (the default subcommand).
struct TrainCommand: ParsableCommand, JobCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a model (the default subcommand).",
        discussion: """
            Options may also come from --recipe NAME and --config FILE (JSON or TOML, keys named as the options); \
            the command line overrides the file, which overrides the recipe.
            """)

    @Option(help: ArgumentHelp("Preset: \(Recipes.names.joined(separator: ", ")).", valueName: "name"))
    var recipe: String?

    @Option(help: ArgumentHelp("Options from a JSON or TOML file with the options' names as keys.", valueName: "file"))
    var config: String?

    @OptionGroup(title: "Data") var dataOptions: DataOptions
    @OptionGroup(title: "Model and loss") var modelOptions: ModelOptions
    @OptionGroup(title: "Optimisation") var optimization: OptimizationOptions
    @OptionGroup(title: "Running") var running: RunOptions

    var blasThreads: Int? { running.threads }

    func validate() throws {
        if let recipe, Recipes.arguments(recipe) == nil {
            throw ValidationError("unknown recipe '\(recipe)'; valid recipes: \(Recipes.names.joined(separator: ", "))")
        }
        let problems = trainConfig.problems()
        if !problems.isEmpty { throw ValidationError(problems.joined(separator: "\n")) }
        if let resume = running.resume, resume != "auto", !FileManager.default.fileExists(atPath: resume) {
            throw ValidationError("--resume \(resume): no such checkpoint (use auto or a checkpoint path)")
        }
    }

    /// The configuration the options describe (defaults not yet resolved).
    var trainConfig: TrainConfig {
        var c = TrainConfig()
        let d = dataOptions, m = modelOptions, o = optimization, r = running
        c.data = d.data
        c.imbalanceRatio = d.imbalanceRatio
        c.imbalanceProfile = d.imbalanceProfile
        c.classes = d.classes
        c.augment = d.augment
        c.dropLast = d.dropLast
        c.model = m.model
        c.loss = m.loss
        c.classWeights = m.classWeights
        c.cbBeta = m.cbBeta
        c.drwEpoch = m.drwEpoch
        c.focalGamma = m.focalGamma
        c.focalScale = m.focalScale
        c.ibAlpha = m.ibAlpha
        c.ibStartEpoch = m.ibStartEpoch
        c.crlEta = m.crlEta
        c.crlKappa = m.crlKappa
        c.crlMargin = m.crlMargin
        c.crlRho = m.crlRho
        c.crlMining = m.crlMining
        c.epochs = o.epochs
        c.batchSize = o.batchSize
        c.lr = o.lr
        c.momentum = o.momentum
        c.nesterov = o.nesterov
        c.weightDecay = o.weightDecay
        c.warmupEpochs = o.warmupEpochs
        c.schedule = o.schedule
        c.lrMilestones = o.lrMilestones.isEmpty ? nil : o.lrMilestones
        c.optimizer = o.optimizer
        c.seed = o.seed
        c.maxSteps = o.maxSteps
        c.syncBatchnorm = o.syncBatchnorm
        c.threads = r.threads
        c.bucketFirstMib = r.bucketFirstMib
        c.bucketMib = r.bucketMib
        c.bucketMode = r.bucketMode
        c.stallTimeout = r.stallTimeout
        c.evalBatchSize = r.evalBatchSize
        c.runDir = r.runDir ?? ""
        c.checkpointEvery = r.checkpointEvery
        c.checkpointEverySteps = r.checkpointEverySteps
        c.keepCheckpoints = r.keepCheckpoints
        c.checkpointLevel = r.checkpointLevel
        return c
    }

    func run(comm: Communicator) throws -> Int32 {
        let log = Log(rank: comm.rank, worldSize: comm.size)
        let trainer = try Trainer(config: trainConfig, comm: comm, log: log)
        log.info("ddp-train: \(comm.size) rank\(comm.size == 1 ? "" : "s"), run directory \(trainer.run.path)")
        log.info("configuration: " + String(decoding: try RunDirectory.json(trainer.config), as: UTF8.self))
        log.info("data: \(trainer.dataset.layout.name) from \(trainer.config.data), \(trainer.dataset.globalTrainCount) training samples, class counts \(trainer.dataset.counts), \(trainer.dataset.test.count) test samples")
        if running.resume == nil, comm.rank == 0, !trainer.run.checkpoints().isEmpty {
            log.warn("\(trainer.run.path) already holds checkpoints; starting fresh (pass --resume auto to continue that run)")
        }
        if let setting = running.resume {
            if let path = try trainer.resume(setting) {
                log.info("resumed from \(path) at epoch \(trainer.epoch + 1), step \(trainer.globalStep)")
            } else {
                log.info("no checkpoint to resume in \(trainer.run.checkpointDirectory): starting fresh")
            }
        }
        StopSignal.install()
        let summary = try trainer.train()
        guard let f = summary.final else { return StopSignal.exitStatus }
        log.info(String(format: "done: test accuracy %.2f%%, balanced %.2f%%, many/medium/few %.2f%%/%.2f%%/%.2f%%, worst class %d (%.2f%%)",
                        100 * f.testAcc, 100 * f.balancedAcc, 100 * f.many, 100 * f.medium, 100 * f.few,
                        summary.worstClass, 100 * f.perClassAcc[summary.worstClass]))
        log.info("run directory: \(summary.runDirectory)")
        return 0
    }
}
