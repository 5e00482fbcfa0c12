import ArgumentParser
import Checkpoint
import Data
import Distributed
import Foundation
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

    @Flag(help: "Print one JSON object.")
    var json = false

    @Option(help: ArgumentHelp("Also write the test samples' logits (N x classes, float32, test-set order) to this .npy file.", valueName: "file"))
    var logits: String?

    @OptionGroup var threads: ThreadsOption

    var blasThreads: Int? { threads.threads }

    func validate() throws {
        if let t = posthocTau { try OptionBridge.check(Options().posthocTau, t) }
    }

    func run(comm: Communicator) throws -> Int32 {
        let log = Log(rank: comm.rank, worldSize: comm.size)
        let loaded = try ModelLoader.load(checkpoint, data: data.data, comm: comm, log: log)
        var config = loaded.config
        if let posthocTau { config.posthocTau = posthocTau }
        let evaluator = Evaluator(model: loaded.model, test: loaded.test, unseen: loaded.unseenTest, mean: loaded.statistics.mean,
                                  std: loaded.statistics.std,
                                  batchSize: config.evalBatchSize, trainingBatch: config.batchSize, comm: comm)
        evaluator.keepLogits = logits != nil
        let e = try evaluator.evaluate(trainCounts: loaded.trainCounts, posthocTau: config.posthocTau)
        if comm.rank == 0, let file = logits, let values = e.logits {
            let k = loaded.model.classes
            try NPYWriter.write(values.withUnsafeBytes { NPYWriter.bytes(descr: "<f4", shape: [values.count / max(k, 1), k], body: $0) }, to: file)
        }
        if comm.rank == 0 {
            if json {
                var object: [String: Any] = ["checkpoint": checkpoint, "test_acc": e.accuracy, "balanced_acc": e.balanced,
                                             "many": e.many, "medium": e.medium, "few": e.few, "per_class_acc": e.perClass,
                                             "confusion": e.confusion]
                if let p = e.posthoc {
                    object["posthoc_tau"] = config.posthocTau
                    object["test_acc_posthoc"] = p.accuracy
                    object["balanced_acc_posthoc"] = p.balanced
                    object["many_posthoc"] = p.many
                    object["medium_posthoc"] = p.medium
                    object["few_posthoc"] = p.few
                    object["per_class_acc_posthoc"] = p.perClass
                }
                if let u = e.unseenRetrieval {
                    object["unseen_precision_at_1"] = u.precisionAt1
                    object["unseen_r_precision"] = u.rPrecision
                    object["unseen_map_at_r"] = u.mapAtR
                }
                if let c = e.clusters {
                    object["nmi"] = c.nmi
                    object["ami"] = c.ami
                    object["variance_ratio"] = c.varianceRatio
                }
                if let r = e.retrieval {
                    object["precision_at_1"] = r.precisionAt1
                    object["r_precision"] = r.rPrecision
                    object["map_at_r"] = r.mapAtR
                }
                print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
            } else {
                print(String(format: "%@: test accuracy %.2f%%, balanced %.2f%%, many/medium/few %.2f%%/%.2f%%/%.2f%%",
                             checkpoint, 100 * e.accuracy, 100 * e.balanced, 100 * e.many, 100 * e.medium, 100 * e.few))
                print("per class: " + e.perClass.enumerated().map { loaded.statistics.label($0.offset) + String(format: ": %.1f%%", 100 * $0.element) }.joined(separator: ", "))
                if let p = e.posthoc {
                    print(String(format: "post-hoc adjusted (tau %g): test accuracy %.2f%%, balanced %.2f%%, many/medium/few %.2f%%/%.2f%%/%.2f%%",
                                 config.posthocTau, 100 * p.accuracy, 100 * p.balanced, 100 * p.many, 100 * p.medium, 100 * p.few))
                }
                if let r = e.retrieval {
                    print(String(format: "retrieval (test features): precision@1 %.2f%%, R-precision %.2f%%, MAP@R %.2f%%",
                                 100 * r.precisionAt1, 100 * r.rPrecision, 100 * r.mapAtR))
                }
                if let u = e.unseenRetrieval {
                    print(String(format: "unseen classes (held out of training): precision@1 %.2f%%, R-precision %.2f%%, MAP@R %.2f%%",
                                 100 * u.precisionAt1, 100 * u.rPrecision, 100 * u.mapAtR))
                }
                if let c = e.clusters {
                    print(String(format: "clusters (k-means of the test features): NMI %.3f, AMI %.3f, intra / inter-class variance %.3f",
                                 c.nmi, c.ami, c.varianceRatio))
                }
            }
        }
        return 0
    }
}
