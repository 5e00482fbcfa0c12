import Data
import Explain
import Foundation
import Distributed
import Tensor
import Training

/// What an explanation job feeds its methods: LIME's masks and samples, the target class, the
/// normalised images, the selection of test images.
extension ExplainJob {
    static func limeFor(_ index: Int, _ r: Request) -> Lime {
        var lime = r.lime
        lime.seed = r.lime.seed &+ UInt64(index) &* 0x9E37_79B9_7F4A_7C15
        return lime
    }

    /// LIME's forward passes for every image, split over the ranks by chunks of `lime.batch`
    /// samples (chunk u on rank u mod W) and summed: (images x samples) probabilities of each
    /// image's target class, the same on every rank.
    static func limeSamples(_ indices: [Int], request r: Request, loaded: Loaded,
                            comm: Communicator) throws -> [Double] {
        let model = loaded.model, samples = r.lime.samples, batch = r.lime.batch
        let chunks = (samples + batch - 1) / batch
        var y = [Double](repeating: 0, count: indices.count * samples)
        var unit = 0
        for (i, index) in indices.enumerated() {
            let lime = limeFor(index, r)
            var masks: [Double]?
            var target: Int?
            for chunk in 0..<chunks {
                defer { unit += 1 }
                guard unit % comm.size == comm.rank else { continue }
                let image = normalized(index, loaded)
                if target == nil { target = try explainTarget(index, request: r, loaded: loaded) }
                if masks == nil { masks = lime.masks(model) }
                let range = (chunk * batch)..<min((chunk + 1) * batch, samples)
                let p = lime.probabilities(model, image: image, target: target!, masks: masks!, samples: range)
                for (j, v) in zip(range, p) { y[i * samples + j] = v }
            }
        }
        try comm.allReduceSum(&y)
        return y
    }

    /// The class the map of test image `index` explains (a forward pass when it is the prediction).
    static func explainTarget(_ index: Int, request r: Request, loaded: Loaded) throws -> Int {
        r.target.resolve(label: Int(loaded.test.labels[index])) {
            Softmax.argmax(loaded.model.forward(input([index], loaded), training: false).logits.array)
        }
    }

    /// Test image `index` normalised as in training, C x H x W.
    static func normalized(_ index: Int, _ l: Loaded) -> [Float] {
        let t = l.test, hw = t.height * t.width
        return (0..<t.sampleSize).map { j in (t.value(index,
                                                      j) - l.statistics.mean[j / hw]) / l.statistics.std[j / hw] }
    }

    /// Test images `indices`, normalised, in the model's input layout.
    static func input(_ indices: [Int], _ l: Loaded) -> Tensor {
        let s = l.model.inputShape, n = indices.count, hw = s.height * s.width
        let t = Tensor(shape: l.model.inputLayout == .rows ? [n, s.count] : [s.channels, n, s.height, s.width])
        for (b, index) in indices.enumerated() {
            let image = normalized(index, l)
            for c in 0..<s.channels {
                let base = l.model.inputLayout == .rows ? b * s.count + c * hw : (c * n + b) * hw
                for i in 0..<hw { t.data[base + i] = image[c * hw + i] }
            }
        }
        return t
    }

    /// The images a selection names, in order (the same on every rank).
    static func select(_ selection: Selection, loaded: Loaded, comm: Communicator) throws -> [Int] {
        let labels = loaded.test.labels, k = loaded.model.classes
        switch selection {
        case .indices(let indices):
            return indices
        case .perClass(let n):
            return (0..<k).flatMap { c in labels.indices.filter { Int(labels[$0]) == c }.prefix(n) }
        case .misclassified(let n, let c):
            let candidates = labels.indices.filter { Int(labels[$0]) == c }
            // Predictions sharded over ranks in batches of up to 256, summed.
            var wrong = [Int32](repeating: 0, count: candidates.count)
            let mine = candidates.indices.filter { $0 % comm.size == comm.rank }
            for start in stride(from: 0, to: mine.count, by: 256) {
                let chunk = Array(mine[start..<min(start + 256, mine.count)])
                let logits = loaded.model.forward(input(chunk.map { candidates[$0] }, loaded), training: false).logits
                for (b, i) in chunk.enumerated() {
                    let predicted = Softmax.argmax(logits.data + b * k, count: k)
                    wrong[i] = predicted == c ? 0 : 1
                }
            }
            try comm.allReduceSum(&wrong)
            return Array(candidates.indices.filter { wrong[$0] != 0 }.prefix(n).map { candidates[$0] })
        }
    }
}
