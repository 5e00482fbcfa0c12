import ArgumentParser
import Distributed
import Explain
import Foundation
import NN
import Tools
import Training

/// `ddp-train explain SOURCE`: explanation maps of a trained model for chosen test images.
struct ExplainCommand: ParsableCommand, JobCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Explain a trained model's decisions on test images: gradient, CAM-family, perturbation or LIME " +
                  "maps (--method) as PNGs and a gallery (index.html).",
        discussion: """
            SOURCE is a checkpoint (its configuration names the model and the data) or a .safetensors \
            weights file (the model from --model or the file's metadata). Under mpirun the images are \
            split over the ranks; the files are the same as one process's. docs/explain.md defines each method.
            """)

    @Argument(help: "A checkpoint or a .safetensors weights file.")
    var source: String

    @Option(help: "The method (docs/explain.md).")
    var method: ExplainMethod = .gradcam

    @Option(parsing: .upToNextOption, help: "Test-set positions of the images to explain.")
    var indices: [Int] = []

    @Option(help: ArgumentHelp("The first N test images of each class (default 2 when no other selection is given).",
                               valueName: "N"))
    var perClass: Int?

    @Option(help: ArgumentHelp("The first N misclassified test images of --class.", valueName: "N"))
    var misclassified: Int?

    @Option(name: .customLong("class"), help: ArgumentHelp("The class of --misclassified.", valueName: "K"))
    var klass: Int?

    @Option(help: ArgumentHelp("The class each map explains: predicted, true or a class number.",
                               valueName: "predicted|true|K"))
    var target: String = "predicted"

    @Option(help: ArgumentHelp("The feature map of CAM and Grad-CAM (default: the last one before the average pool, " +
                               "e.g. relu(conv3), layer3)."))
    var layer: String?

    @Option(help: ArgumentHelp("Output directory.", valueName: "dir"))
    var out: String = "explanations"

    @OptionGroup var data: ModelDataOption

    @Flag(help: ArgumentHelp("Also write the raw maps and faithfulness curves (maps.json), and print the " +
                             "faithfulness summary as one JSON object (the summary line goes to standard error)."))
    var json = false

    @Flag(help: ArgumentHelp("Instead of maps: each image's strongest feature maps of --layer (the last feature map " +
                             "by default) and the first layer's filters, in features.html and filters.png."))
    var features = false

    @Option(help: "Faithfulness: steps of the deletion and insertion curves.")
    var faithfulnessSteps: Int = ExplainSettings().faithfulnessSteps

    @Option(help: "LIME: masked images per explained image.")
    var samples: Int = 1000

    @Option(help: "LIME: side of the square patches, in pixels.")
    var patch: Int = 4

    @Option(help: ArgumentHelp("LIME and SmoothGrad: seed of the masks and the noise (each image's derive from it " +
                               "and the image's index)."))
    var seed: UInt64 = 0

    @Option(help: "Integrated gradients: Gauss-Legendre steps from the zero baseline.")
    var steps: Int = ExplainSettings().steps

    @Option(help: "SmoothGrad: noisy copies of each image.")
    var noiseSamples: Int = ExplainSettings().noiseSamples

    @Option(help: "SmoothGrad: standard deviation of the Gaussian noise (in normalised input units).")
    var noiseStdev: Double = ExplainSettings().noiseStdev

    @Option(help: "Occlusion: side of the square window, in pixels.")
    var window: Int = ExplainSettings().window

    @Option(help: "Occlusion: stride of the window, in pixels.")
    var stride: Int = ExplainSettings().stride

    @OptionGroup var threads: ThreadsOption

    var blasThreads: Int? { threads.threads }

    func validate() throws {
        let selections = [!indices.isEmpty, perClass != nil, misclassified != nil].filter { $0 }.count
        guard selections <= 1 else { throw ValidationError("give one of --indices, --per-class and --misclassified") }
        if misclassified != nil && klass == nil { throw ValidationError("--misclassified N needs --class K") }
        if klass != nil && misclassified == nil { throw ValidationError("--class K goes with --misclassified N") }
        if let n = perClass ?? misclassified,
            n < 1 { throw ValidationError("--per-class and --misclassified take a count >= 1") }
        guard ExplainJob.Target(target) != nil else { throw ValidationError("--target \(target): expected predicted, " +
            "true or a class number") }
        guard samples >= 2,
            samples <= 1_000_000 else { throw ValidationError("--samples \(samples): expected 2 to 1000000") }
        guard patch >= 1, patch <= 4096 else { throw ValidationError("--patch \(patch): expected 1 to 4096") }
        if let problem = settings.problem { throw ValidationError(problem) }
    }

    /// The methods' settings the options give.
    var settings: ExplainSettings {
        var s = ExplainSettings()
        s.steps = steps
        s.noiseSamples = noiseSamples
        s.noiseStdev = noiseStdev
        s.seed = seed
        s.window = window
        s.stride = stride
        s.faithfulnessSteps = faithfulnessSteps
        return s
    }

    func run(comm: Communicator) throws -> Int32 {
        let log = Log(rank: comm.rank, worldSize: comm.size)
        var r = ExplainJob.Request(source: source, out: out)
        r.cardless = data.cardless
        r.data = data.data
        r.testList = data.testList
        r.method = method
        r.target = ExplainJob.Target(target)!
        r.layer = layer
        r.json = json
        r.lime = Lime(samples: samples, patch: patch, seed: seed)
        r.settings = settings
        if !indices.isEmpty {
            r.selection = .indices(indices)
        } else if let n = misclassified, let c = klass {
            r.selection = .misclassified(n, ofClass: c)
        } else {
            r.selection = .perClass(perClass ?? 2)
        }
        if features {
            let layer = try ExplainJob.features(r, comm: comm, log: log)
            log.info("features of \(layer): \(out)/features.html, the first layer's filters: \(out)/filters.png")
            return 0
        }
        let outcome = try ExplainJob.run(r, comm: comm, log: log)
        let items = outcome.items, wrong = items.filter { $0.predicted != $0.label }.count
        let all = outcome.faithfulness.groups.last!.mean
        let line = "\(method.rawValue): \(items.count) image\(items.count == 1 ? "" : "s") (\(wrong) misclassified) " +
                   "explained on \(comm.size) rank\(comm.size == 1 ? "" : "s"); gallery: \(out)/index.html"
            + String(format: "; faithfulness: deletion AUC %.3f, insertion AUC %.3f", all.deletionArea,
                     all.insertionArea)
        guard comm.rank == 0 else { return 0 }
        if json {
            FileHandle.standardError.write(Data((line + "\n").utf8))
            var summary = outcome.faithfulness.json
            summary["method"] = method.rawValue
            print(String(decoding: try JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys]),
                         as: UTF8.self))
        } else {
            log.info(line)
        }
        return 0
    }
}
