import ArgumentParser
import Checkpoint
import Foundation
import Tools
import Training

/// `ddp-train inspect CKPT`.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show a checkpoint: configuration, position, sizes, compression ratio, each tensor's shape and norm.",
        discussion: "Exits non-zero for an invalid file (truncated, wrong magic or version, checksum mismatch).")

    @Argument(help: "The checkpoint file.")
    var checkpoint: String

    @Flag(help: "Print one JSON object.")
    var json = false

    func run() throws {
        let info = try CheckpointInspection(path: checkpoint)
        if json {
            print(String(decoding: try RunDirectory.json(info), as: UTF8.self))
        } else {
            print(info.text)
        }
    }
}

/// `ddp-train export CKPT --format safetensors|onnx OUT`.
struct ExportCommand: ParsableCommand {
    enum Format: String, ExpressibleByArgument, CaseIterable { case safetensors, onnx }

    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a checkpoint's weights for PyTorch users (safetensors: every parameter and batch-norm " +
                  "buffer by name) or the model for ONNX runtimes (onnx).",
        discussion: """
            onnx: input "input" (N, C, H, W), normalised as the metadata says ((pixel / 255 - mean) / std per \
            channel); \
            outputs "logits" (N, classes) and "features" (N, D). The metadata holds the model, head, class names, \
            mean, std and training class counts. The checkpoint may also be a final.safetensors.
            """)

    @Argument(help: "The checkpoint file (for onnx also a final.safetensors).")
    var checkpoint: String

    @Option(help: "Output format.")
    var format: Format = .safetensors

    @Argument(help: "The output file.")
    var output: String

    func run() throws {
        if format == .onnx {
            let nodes = try OnnxExport.write(from: checkpoint, to: output)
            print("wrote an ONNX graph of \(nodes) nodes (opset \(OnnxExport.opset)) to \(output)")
            return
        }
        let tensors = try CheckpointInspection.weights(path: checkpoint)
        let info = try CheckpointInspection(path: checkpoint)
        var metadata = info.card?.metadata ?? ["format": "pt", "producer": "ddp-train",
                                               "model": info.config.model.rawValue]
        metadata["source"] = checkpoint
        try SafeTensors.write(tensors, to: output, metadata: metadata)
        print("wrote \(tensors.count) tensors to \(output)")
    }
}
