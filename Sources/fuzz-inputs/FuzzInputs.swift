import Checkpoint
import Data
import Foundation
import Settings
import Training

// libFuzzer targets for every reader of outside input. Built only by Tests/fuzz/run.sh
// (`-sanitize=fuzzer,address -DFUZZING`); `DDP_FUZZ_TARGET` chooses the reader:
// idx-images, idx-labels, npy, cifar, checkpoint, safetensors, config-toml, config-json.
// Each input is written to a file (the readers take paths) and read; errors are the
// expected outcome, a trap or a sanitizer report is a finding.

#if FUZZING
/// The target and a file of this process's own for the input.
private let target = ProcessInfo.processInfo.environment["DDP_FUZZ_TARGET"] ?? ""
private let scratch = (ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp") + "/ddp-fuzz-\(getpid())-" + target

/// libFuzzer's driver (in its runtime library): SwiftPM links an executable's entry point as
/// `fuzz_inputs_main`, so libFuzzer's own `main` is not used and this one hands over to it.
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(_ argc: UnsafeMutablePointer<CInt>,
                     _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
                     _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

@_cdecl("fuzz_inputs_main")
public func fuzzInputsMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    var count = argc, vector = argv
    return runFuzzerDriver(&count, &vector) { data, size in fuzzOneInput(data, size) }
}

func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Data(bytes: $0, count: size) } ?? Data()
    switch target {
    case "config-toml", "config-json":
        if let text = String(validating: bytes,
                             as: UTF8.self) { _ = try? ConfigParser.parse(text, json: target == "config-json") }
        return 0
    default:
        break
    }
    FileManager.default.createFile(atPath: scratch, contents: bytes)
    switch target {
    case "idx-images": _ = try? IDXReader.images(scratch)
    case "idx-labels": _ = try? IDXReader.labels(scratch)
    case "npy": _ = try? NPYReader.split(images: scratch, labels: scratch); _ = try? NPYReader.labels(scratch)
    case "cifar": _ = try? CIFARReader.split(scratch, labelBytes: 2)
    case "checkpoint":
        if let c = try? CheckpointFile.read(path: scratch) {
            _ = try? TrainingState.decode(manifest: c.manifest, path: scratch)
            for e in c.entries { _ = c.values(of: e.name) }
        }
    case "safetensors": _ = try? SafeTensors.read(scratch)
    default: fatalError("DDP_FUZZ_TARGET must name a reader, got '\(target)'")
    }
    return 0
}
#else
@main
enum FuzzInputs {
    static func main() {
        let message = "fuzz-inputs: build it with Tests/fuzz/run.sh (libFuzzer), not on its own\n"
        FileHandle.standardError.write(Data(message.utf8))
        exit(2)
    }
}
#endif
