import ArgumentParser
import Distributed
import Foundation
import Losses
import NN
import Training

/// `ddp-train bench`: speed per model against the sgemm rate, exposed all-reduce, loss, data, checkpoints.
struct BenchCommand: ParsableCommand, JobCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure training speed (per rank and in total) of each model against the sgemm rate, exposed all-reduce time, loss, data loading and checkpoint throughput.",
        discussion: "Works alone and under mpirun. Allocations per step appear with LD_PRELOAD of benchmarks/malloc_count.so.")

    @Option(parsing: .upToNextOption, help: "Models to measure.")
    var models: [Architecture] = Architecture.allCases

    @Option(help: "Global batch size.")
    var batchSize: Int = 128

    @Option(help: "Timed steps for mlp (cnn and resnet32 take fewer).")
    var steps: Int = 200

    @Option(help: ArgumentHelp("Data directory.", valueName: "dir"))
    var data: String = "/usr/share/datasets/fashion-mnist"

    @Option(help: "BLAS threads per rank (default: cores on this host / ranks on this host).")
    var threads: Int?

    @Flag(help: "Print one JSON object.")
    var json = false

    @Flag(help: "Also time each layer's forward and backward.")
    var profile = false

    @Option(help: "Gradient buckets: auto, overlap or blocking (see train --help).")
    var bucketMode: BucketMode = .auto

    @Option(help: "Convolutions: auto, onednn or im2col (see train --help).")
    var convBackend: ConvolutionBackend = .auto

    @Option(help: "The loss of the measured steps (see train --help; ib runs its IB phase).")
    var loss: LossKind = .ib

    @Option(help: "An embedding loss on the features over the global batch (see train --help).")
    var metricLoss: MetricLossKind = .none

    @Flag(help: "Instead of the models: time a float32 all-reduce by message size (4 B to 64 MiB) and fit latency and bandwidth (docs/scaling.md).")
    var allreduce = false

    var blasThreads: Int? { threads }

    func run(comm: Communicator) throws -> Int32 {
        if allreduce {
            let result = try AllReduceBench.run(comm: comm)
            if comm.rank == 0 { print(json ? String(decoding: try RunDirectory.json(result), as: UTF8.self) : AllReduceBench.table(result)) }
            return 0
        }
        let log = Log(rank: comm.rank, worldSize: comm.size)
        log.quiet = json
        var base = TrainConfig()
        base.data = data
        base.batchSize = batchSize
        base.threads = threads
        base.bucketMode = bucketMode
        base.convBackend = convBackend
        base.loss = loss
        base.metricLoss = metricLoss
        let perModel: [Architecture: Int] = [.mlp: steps, .cnn: max(2, steps / 10), .resnet32: max(2, steps / 40)]
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
