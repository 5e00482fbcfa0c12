import ArgumentParser
import Checkpoint
import Distributed
import Foundation
import struct Settings.Options
import Training

/// `ddp-train eval CKPT`: test metrics of a checkpoint (sharded over ranks under mpirun).
struct EvalCommand: ParsableCommand, JobCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Test metrics of a checkpoint: accuracy, balanced accuracy, many/medium/few, per class.")

    @Argument(help: "The checkpoint file.")
    var checkpoint: String

    @Option(help: ArgumentHelp("Data directory (default: the checkpoint's).", valueName: "dir"))
    var data: String?

    @Option(help: ArgumentHelp(Options().posthocTau.help + " Default: the checkpoint's.", valueName: "tau"))
    var posthocTau: Double?

    @Flag(help: "Print one JSON object.")
    var json = false

    @Option(help: "BLAS threads per rank.")
    var threads: Int?

    var blasThreads: Int? { threads }

    func validate() throws {
        if let t = posthocTau, !(t >= 0 && t <= 10) { throw ValidationError("--posthoc-tau must be in [0, 10] (0: off), got \(t)") }
    }

    func run(comm: Communicator) throws -> Int32 {
        let info = try comm.agree { try CheckpointInspection(path: checkpoint) }
        var config = info.config
        if let data { config.data = data }
        if let posthocTau { config.posthocTau = posthocTau }
        config.runDir = NSTemporaryDirectory() + "ddp-train-eval-\(getpid())"
        let log = Log(rank: comm.rank, worldSize: comm.size)
        let trainer = try Trainer(config: config, comm: comm, log: log, known: info.card?.data)
        _ = try trainer.resume(checkpoint)
        let e = try trainer.evaluateCheckpoint()
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
                if let r = e.retrieval {
                    object["precision_at_1"] = r.precisionAt1
                    object["r_precision"] = r.rPrecision
                    object["map_at_r"] = r.mapAtR
                }
                print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
            } else {
                print(String(format: "%@: test accuracy %.2f%%, balanced %.2f%%, many/medium/few %.2f%%/%.2f%%/%.2f%%",
                             checkpoint, 100 * e.accuracy, 100 * e.balanced, 100 * e.many, 100 * e.medium, 100 * e.few))
                let classes = trainer.dataset.statistics()
                print("per class: " + e.perClass.enumerated().map { classes.label($0.offset) + String(format: ": %.1f%%", 100 * $0.element) }.joined(separator: ", "))
                if let p = e.posthoc {
                    print(String(format: "post-hoc adjusted (tau %g): test accuracy %.2f%%, balanced %.2f%%, many/medium/few %.2f%%/%.2f%%/%.2f%%",
                                 config.posthocTau, 100 * p.accuracy, 100 * p.balanced, 100 * p.many, 100 * p.medium, 100 * p.few))
                }
                if let r = e.retrieval {
                    print(String(format: "retrieval (test features): precision@1 %.2f%%, R-precision %.2f%%, MAP@R %.2f%%",
                                 100 * r.precisionAt1, 100 * r.rPrecision, 100 * r.mapAtR))
                }
            }
        }
        return 0
    }
}
