import Training
import Checkpoint
import Data
import Distributed
import Explain
import Foundation
import NN
import Tensor

/// `ddp-train explain`: explanation maps of a trained model for chosen test images, as PNGs
/// (the input beside the input with the map), a self-contained `index.html` gallery and, with
/// `json`, the raw maps. Under mpirun the images are split over the ranks (image i on rank
/// i mod W, each alone in its passes, LIME seeded by the image) and rank 0 writes the files:
/// the same files as one process.
public enum ExplainJob {
    /// Which class each map explains.
    public enum Target: Sendable, Equatable {
        case predicted, truth
        case fixed(Int)

        /// The class: the label, the given one, or the prediction (asked for only then).
        func resolve(label: Int, predicted: () -> Int) -> Int {
            switch self {
            case .predicted: return predicted()
            case .truth: return label
            case .fixed(let c): return c
            }
        }

        public init?(_ text: String) {
            switch text {
            case "predicted": self = .predicted
            case "true": self = .truth
            default:
                guard let k = Int(text), k >= 0 else { return nil }
                self = .fixed(k)
            }
        }
    }

    /// Which test images.
    public enum Selection: Sendable, Equatable {
        case indices([Int])
        /// The first N test images of each class.
        case perClass(Int)
        /// The first N misclassified test images of a class.
        case misclassified(Int, ofClass: Int)
    }

    public struct Request: Sendable {
        public var source: String
        /// What a `.safetensors` file without a card holds (`--model`, `--classes`, ...).
        public var cardless = CardlessModel()
        public var data: String?
        /// `--test-list`: the test images named by a list file under `data`.
        public var testList: String?
        public var method: ExplainMethod = .gradcam
        public var selection: Selection = .perClass(2)
        public var target: Target = .predicted
        public var layer: String?
        public var out: String
        public var json = false
        public var lime = Lime()
        /// Integrated gradients' steps, SmoothGrad's noise, occlusion's window.
        public var settings = ExplainSettings()

        public init(source: String, out: String) {
            self.source = source
            self.out = out
        }
    }

    /// One explained image.
    public struct Item: Sendable {
        public var index: Int
        public var label: Int
        public var predicted: Int
        public var target: Int
        public var probabilities: [Double]
        public var map: ExplanationMap
        /// The map's deletion and insertion curves.
        public var faithfulness: Faithfulness
    }

    /// The model, its test set (normalised as in training) and its classes.
    typealias Loaded = LoadedModel

    /// Explains the selected images and writes the files (collective); returns the items.
    /// What `run` explained: the images and their maps' faithfulness summed up.
    public struct Outcome: Sendable {
        public var items: [Item]
        public var faithfulness: FaithfulnessSummary
    }

    public static func run(_ r: Request, comm: Communicator, log: Log) throws -> Outcome {
        try run(r, loaded: try ModelLoader.load(r.source, data: r.data, testList: r.testList,
                                                          cardless: r.cardless, comm: comm, log: log),
                comm: comm)
    }

    /// The report's section: the final model's maps (Grad-CAM, or saliency without a feature
    /// map) of the first `perClass` misclassified test images of the `classes` worst classes,
    /// explaining the predicted class, written to `directory` (collective). The final
    /// evaluation's `predictions` pick the images: no pass over the test set. Returns the items.
    static func worstClasses(_ final: FinalModel, classes: Int = 2, perClass: Int = 4, directory: String,
                             comm: Communicator) throws -> [Item] {
        let evaluation = final.evaluation, model = final.model
        let recall = evaluation.figures.test.perClass, labels = final.test.labels, predicted = evaluation.predictions
        guard predicted.count == labels.count else { return [] }
        let worst = recall.indices.sorted { recall[$0] != recall[$1]
            ? recall[$0] < recall[$1] : $0 < $1 }.prefix(classes)
        let indices = worst.flatMap { c in labels.indices.filter { Int(labels[$0]) == c
            && predicted[$0] != labels[$0] }.prefix(perClass) }
        guard !indices.isEmpty else { return [] }
        var r = Request(source: "the final model", out: directory)
        r.method = model.lastFeatureMap == nil ? .saliency : .gradcam
        r.selection = .indices(indices)
        r.json = true
        return try run(r,
                       loaded: LoadedModel(model: model, config: final.config, statistics: final.statistics,
                                           test: final.test,
                                           trainCounts: final.statistics.trainCounts), comm: comm).items
    }

    static func run(_ r: Request, loaded: Loaded, comm: Communicator) throws -> Outcome {
        // Everything that can be refused is refused here, on every rank alike, before any pass.
        let explainer = try comm.agree { try validate(r, loaded: loaded) }
        let indices = try select(r.selection, loaded: loaded, comm: comm)
        try comm.agree { if indices.isEmpty { throw ExplainError("no test image matches the selection") } }
        let k = loaded.model.classes

        // Image i on rank i mod W, which also draws its PNG; the numbers are summed over ranks
        // (zeros elsewhere: exact), the PNGs gathered in rank order.
        let hw = loaded.model.inputShape.height * loaded.model.inputShape.width
        let points = r.settings.faithfulnessSteps + 1
        let width = 4 + k + hw + 2 * points
        var results = [Double](repeating: 0, count: indices.count * width)
        var pngs: [UInt8] = []
        let lime = r.method == .lime ? try limeSamples(indices, request: r, loaded: loaded, comm: comm) : []
        let samples = r.lime.samples
        for (i, index) in indices.enumerated() where i % comm.size == comm.rank {
            let item = try explain(index, request: r, loaded: loaded, explainer: explainer,
                                   limeProbabilities: lime.isEmpty
                                       ? [] : Array(lime[(i * samples)..<((i + 1) * samples)]))
            let png = ExplainOutput.png(item, loaded: loaded)
            pngs += png
            let row = i * width
            results[row] = Double(item.predicted)
            results[row + 1] = Double(item.target)
            results[row + 2] = Double(item.map.height)
            results[row + 3] = Double(png.count)
            for j in 0..<k { results[row + 4 + j] = item.probabilities[j] }
            for j in 0..<hw { results[row + 4 + k + j] = item.map.values[j] }
            for j in 0..<points {
                results[row + 4 + k + hw + j] = item.faithfulness.deletion[j]
                results[row + 4 + k + hw + points + j] = item.faithfulness.insertion[j]
            }
        }
        try comm.allReduceSum(&results)
        let gathered = try comm.allGather(pngs)
        let s = loaded.model.inputShape
        let items = indices.enumerated().map { i, index in
            let row = i * width
            return Item(index: index, label: Int(loaded.test.labels[index]), predicted: Int(results[row]),
                        target: Int(results[row + 1]),
                        probabilities: Array(results[(row + 4)..<(row + 4 + k)]),
                        map: ExplanationMap(height: s.height, width: s.width,
                                            values: Array(results[(row + 4 + k)..<(row + 4 + k + hw)])),
                        faithfulness: Faithfulness(deletion: Array(results[(row + 4 + k + hw)..<(row + 4 + k + hw
                            + points)]),
                                                   insertion: Array(results[(row + 4 + k + hw + points)..<(row
                                                       + width)])))
        }
        // Rank r's bytes are its images' PNGs in order.
        var offsets = [Int](repeating: 0, count: indices.count), next = 0
        for rank in 0..<comm.size {
            for i in stride(from: rank, to: indices.count, by: comm.size) {
                offsets[i] = next
                next += Int(results[i * width + 3])
            }
        }
        let images = indices.indices.map { i in Data(gathered[offsets[i]..<(offsets[i]
            + Int(results[i * width + 3]))]) }
        let faithfulness = FaithfulnessSummary(items, trainCounts: loaded.trainCounts)
        try comm.agree {
            guard comm.rank == 0 else { return }
            _ = try ExplainOutput.write(items, pngs: images, request: r, model: loaded.model.architecture.rawValue,
                                        classes: loaded.statistics, faithfulness: faithfulness)
        }
        return Outcome(items: items, faithfulness: faithfulness)
    }

    /// The explainer for the request, or why the request cannot be done.
    static func validate(_ r: Request, loaded: Loaded) throws -> Explainer {
        let model = loaded.model, k = model.classes
        let explainer = try Explainer(model: model, layer: r.layer)
        if let problem = r.method.problem(explainer, layerGiven: r.layer != nil) { throw ExplainError(problem) }
        if case .fixed(let c) = r.target, c >= k { throw ExplainError("--target \(c): the model has classes 0..<\(k)") }
        switch r.selection {
        case .indices(let indices):
            if let bad = indices.first(where: { !(0..<loaded.test.count).contains($0) }) {
                throw ExplainError("--indices \(bad): the test set has images 0..<\(loaded.test.count)")
            }
        case .misclassified(_, let c):
            guard (0..<k).contains(c) else { throw ExplainError("--class \(c): the model has classes 0..<\(k)") }
        case .perClass: break
        }
        if r.method == .lime, r.lime.patch < 1 || r.lime.samples < 2 {
            throw ExplainError("LIME needs --patch >= 1 and --samples >= 2")
        }
        if let problem = r.settings.problem { throw ExplainError(problem) }
        return explainer
    }

    /// One image: its class probabilities and the map for its target class.
    /// - limeProbabilities: LIME's target probabilities of this image's masked samples, computed
    ///   over the ranks (`limeSamples`).
    static func explain(_ index: Int, request r: Request, loaded: Loaded, explainer: Explainer,
                        limeProbabilities: [Double] = []) throws -> Item {
        let model = loaded.model, label = Int(loaded.test.labels[index])
        let input = input([index], loaded)
        let logits = model.forward(input, training: false).logits.array
        let probabilities = Softmax.probabilities(logits)
        let predicted = Softmax.argmax(logits)
        let target = r.target.resolve(label: label) { predicted }
        let map: ExplanationMap
        if let maps = r.method.spec.maps {
            var settings = r.settings
            // the image's noise, whatever the rank
            settings.seed = r.settings.seed &+ UInt64(index) &* 0x9E37_79B9_7F4A_7C15
            map = maps(explainer,
                       ExplainInput(input: input, classes: [target], pass: explainer.pass(input, classes: [target]),
                                    settings: settings))[0]
        } else {
            let lime = limeFor(index, r)
            map = lime.fit(model, masks: lime.masks(model), probabilities: limeProbabilities)
        }
        let faithfulness = Faithfulness.measure(model, image: normalized(index, loaded), map: map, target: target,
                                                steps: r.settings.faithfulnessSteps)
        return Item(index: index, label: label, predicted: predicted, target: target, probabilities: probabilities,
                    map: map,
                    faithfulness: faithfulness)
    }

    /// LIME for test image `index`: its masks come from the seed and the index, not the rank.
}
