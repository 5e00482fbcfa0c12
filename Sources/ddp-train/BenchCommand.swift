import ArgumentParser
import Data
import Distributed
import Foundation
import Losses
import NN
import struct Settings.Options
import Tools
import Training

/// `ddp-train bench`: speed per model against the sgemm rate, exposed all-reduce, loss, data, checkpoints.
struct BenchCommand: ParsableCommand, JobCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure training speed (per rank and in total) of each model against the sgemm rate, exposed " +
                  "all-reduce time, loss, data loading and checkpoint throughput.",
        discussion: "Works alone and under mpirun. Allocations per step appear with LD_PRELOAD of " +
                    "benchmarks/malloc_count.so.")

    @Option(parsing: .upToNextOption, help: "Models to measure.")
    var models: [Architecture] = Architecture.allCases

    @Option(help: OptionBridge.help(Options().batchSize))
    var batchSize: Int = Options().batchSize.defaultValue

    @Option(help: "Timed steps for mlp (cnn and resnet32 take fewer).")
    var steps: Int = 200

    @Option(help: OptionBridge.help(Options().data))
    var data: String = Options().data.defaultValue

    @Option(help: OptionBridge.help(Options().imageSize))
    var imageSize: ImageSize?

    @Option(help: OptionBridge.help(Options().channels))
    var channels: Int?

    @Option(help: OptionBridge.help(Options().imbalanceRatio))
    var imbalanceRatio: Double = Options().imbalanceRatio.defaultValue

    @OptionGroup var threads: ThreadsOption

    @Flag(help: "Print one JSON object.")
    var json = false

    @Flag(help: "Also time each layer's forward and backward.")
    var profile = false

    @Option(help: OptionBridge.help(Options().bucketMode))
    var bucketMode: BucketMode = Options().bucketMode.defaultValue

    @Option(help: OptionBridge.help(Options().bucketFirstMib))
    var bucketFirstMib: Double = Options().bucketFirstMib.defaultValue

    @Option(help: OptionBridge.help(Options().bucketMib))
    var bucketMib: Double = Options().bucketMib.defaultValue

    @Option(help: OptionBridge.help(Options().gradCompression))
    var gradCompression: GradientCompression = Options().gradCompression.defaultValue

    @Option(help: OptionBridge.help(Options().convBackend))
    var convBackend: ConvolutionBackend = Options().convBackend.defaultValue

    @Option(help: OptionBridge.help(Options().precision))
    var precision: Precision = Options().precision.defaultValue

    @Option(help: OptionBridge.help(Options().loss, default: Options().loss.defaultValue.rawValue +
                                    "; a two-phase loss runs its second phase"))
    var loss: LossKind = Options().loss.defaultValue

    @Option(help: OptionBridge.help(Options().embeddingLoss))
    var metricLoss: EmbeddingLossKind = Options().embeddingLoss.defaultValue

    @Flag(help: ArgumentHelp("Instead of the models: time a float32 all-reduce by message size (4 B to 64 MiB) and " +
                             "fit latency and bandwidth (docs/scaling.md)."))
    var allreduce = false

    var blasThreads: Int? { threads.threads }

    func validate() throws {
        try OptionBridge.check(Options().batchSize, batchSize)
        try OptionBridge.check(Options().channels, channels)
        try OptionBridge.check(Options().imbalanceRatio, imbalanceRatio)
        var buckets = TrainConfig()
        buckets.bucketFirstMib = bucketFirstMib
        buckets.bucketMib = bucketMib
        if let problem = buckets.problems().first { throw ValidationError(problem) }
        if let problem = precision.machineProblem { throw ValidationError(problem) }
    }

    func run(comm: Communicator) throws -> Int32 {
        if allreduce {
            let result = try AllReduceBench.run(comm: comm)
            if comm.rank == 0 { print(json ? String(decoding: try RunDirectory.json(result),
                                                    as: UTF8.self) : AllReduceBench.table(result)) }
            return 0
        }
        let log = Log(rank: comm.rank, worldSize: comm.size)
        log.quiet = json
        var base = TrainConfig()
        base.data = data
        base.imageSize = imageSize
        base.channels = channels
        base.imbalanceRatio = imbalanceRatio
        base.batchSize = batchSize
        base.threads = threads.threads
        base.bucketMode = bucketMode
        base.bucketFirstMib = bucketFirstMib
        base.bucketMib = bucketMib
        base.gradCompression = gradCompression
        base.convBackend = convBackend
        base.precision = precision
        base.loss = loss
        base.embeddingLoss = metricLoss
        var perModel: [Architecture: Int] = [.mlp: steps, .cnn: max(2, steps / 10), .resnet32: max(2, steps / 40)]
        for a in Architecture.allCases where a.torchvisionBlocks != nil { perModel[a] = max(2, steps / 200) }
        let report = try Bench.run(comm: comm, base: base, models: models, steps: perModel, profile: profile, log: log)
        if comm.rank == 0 {
            if json {
                print(String(decoding: try RunDirectory.json(report), as: UTF8.self))
            } else {
                print(Bench.table(report))
            }
        }
        return 0
    }
}
