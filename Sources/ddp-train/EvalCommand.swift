import ArgumentParser
import Checkpoint
import Data
import Distributed
import Foundation
import Losses
import struct Settings.Options
import Tools
import Training

/// `ddp-train eval CKPT`: test metrics of a checkpoint (sharded over ranks under mpirun).
struct EvalCommand: ParsableCommand, JobCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Test metrics of a checkpoint: accuracy, balanced accuracy, many/medium/few, per class.")

    @Argument(help: "The checkpoint file.")
    var checkpoint: String

    @OptionGroup var data: ModelDataOption

    @Option(help: OptionBridge.help(Options().posthocTau, default: "the checkpoint's"))
    var posthocTau: Double?

    @Option(help: OptionBridge.help(Options().tauNorm, default: "the checkpoint's"))
    var tauNorm: TauNormSetting?

    @Flag(help: "Print one JSON object.")
    var json = false

    @Option(help: ArgumentHelp("Also write the test samples' logits (N x classes, float32, test-set order) to this " +
                               ".npy file.", valueName: "file"))
    var logits: String?

    @OptionGroup var threads: ThreadsOption

    var blasThreads: Int? { threads.threads }

    func validate() throws {
        if let t = posthocTau { try OptionBridge.check(Options().posthocTau, t) }
        if let t = tauNorm { try OptionBridge.check(Options().tauNorm, t) }
    }

    func run(comm: Communicator) throws -> Int32 {
        let log = Log(rank: comm.rank, worldSize: comm.size)
        let loaded = try ModelLoader.load(checkpoint, data: data.data, testList: data.testList,
                                          cardless: data.cardless, comm: comm, log: log)
        var config = loaded.config
        if let posthocTau { config.posthocTau = posthocTau }
        // A search needs the run's validation split, which eval does not have.
        if config.tauNorm == .search { config.tauNorm = nil }
        if tauNorm == .search {
            throw ValidationError("--tau-norm search chooses tau on a run's validation split, which eval does not " +
                                  "have; give tau (a run's metrics.jsonl says which it chose: tau_norm_chosen)")
        }
        if let tauNorm { config.tauNorm = tauNorm }
        if config.tauNorm != nil, loaded.model.classifierRows == nil {
            throw ValidationError("--tau-norm rescales a linear classifier's rows, and \(checkpoint) has a cosine head")
        }
        let evaluator = Evaluator(model: loaded.model, test: loaded.test, unseen: loaded.unseenTest,
                                  mean: loaded.statistics.mean,
                                  std: loaded.statistics.std,
                                  batchSize: config.evalBatchSize, trainingBatch: config.batchSize, comm: comm)
        evaluator.keepLogits = logits != nil
        evaluator.thresholds = config.shotThresholds
        let e = try evaluator.evaluate(trainCounts: loaded.trainCounts, posthocTau: config.posthocTau,
                                       tauNorm: config.tauNorm?.tau)
        if comm.rank == 0, let file = logits, let values = e.logits {
            let k = loaded.model.classes
            try NPYWriter.write(values.withUnsafeBytes { NPYWriter.bytes(descr: "<f4",
                shape: [values.count / max(k, 1), k], body: $0) }, to: file)
        }
        if comm.rank == 0 {
            let f = e.figures
            if json {
                var numbers: [String: Double] = [:]
                if f.posthoc != nil { numbers["posthoc_tau"] = config.posthocTau }
                if f.taunorm != nil { numbers["tau_norm"] = config.tauNorm?.tau }
                print(try ResultText.json(f, extra: ["checkpoint": checkpoint], numbers: numbers))
            } else {
                for line in ResultText.lines(f, head: checkpoint, classLabel: loaded.statistics.label,
                                             posthocTau: config.posthocTau, tauNorm: config.tauNorm?.tau,
                                             trainCounts: loaded.trainCounts) {
                    print(line)
                }
            }
        }
        return 0
    }
}
