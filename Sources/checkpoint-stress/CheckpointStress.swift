import ArgumentParser
import Checkpoint
import Foundation

/// A test harness, not a user's command: built beside ddp-train, never installed with it.
/// Writes large checkpoints in a loop: the crash-safety test kills it at random moments.
@main
struct CheckpointStress: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "checkpoint-stress",
        abstract: "Writes large checkpoints in a loop (Tests/mpi/test-checkpoint.sh kills it at random moments), or " +
                  "checks that every one loads.")

    @Argument var directory: String
    @Option var megabytes: Int = 64
    @Option var count: Int = 1_000_000
    /// Instead of writing: read every checkpoint in the directory; fail if one does not load.
    @Flag var verify = false

    func run() throws {
        if verify {
            let files = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".ckpt")
                && !$0.hasPrefix(".") }
            for f in files.sorted() { _ = try CheckpointFile.read(path: directory + "/" + f) }
            print("\(files.count) checkpoints load")
            return
        }
        let n = megabytes * 262_144
        var values = [Float](repeating: 0, count: n)
        for i in 0..<n { values[i] = Float(i % 1000) * 0.001 }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for step in 1...count {
            values[0] = Float(step)
            // Keep the two newest.
            try? FileManager.default.removeItem(atPath: directory + String(format: "/step-%08d.ckpt", step - 2))
            try values.withUnsafeBufferPointer { v in
                let manifest = Data("{\"step\": \(step)}".utf8)
                try CheckpointFile.write(path: directory + String(format: "/step-%08d.ckpt", step), manifest: manifest,
                                         tensors: [.init(name: "values", shape: [n], values: v)], level: 1)
            }
            FileHandle.standardOutput.write(Data("wrote \(step)\n".utf8))
        }
    }
}
