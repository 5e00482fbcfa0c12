import NN
import Tensor

/// How faithful a map is to the model (Petsiuk et al. 2018, RISE's deletion and insertion
/// metrics): the pixels ranked by the map (largest first, ties by position) are removed from the
/// image (set to 0, the data mean after normalisation) or inserted into an all-0 image, a share
/// `k / steps` at a time, and the model's probability of the explained class is read at each
/// share. A faithful map makes the probability fall fast when its pixels are deleted (a small
/// area under the deletion curve) and rise fast when they are inserted (a large insertion area).
public struct Faithfulness: Sendable, Equatable {
    /// The class's probability after deleting / inserting the first `k / steps` of the pixels, k = 0...steps.
    public var deletion: [Double]
    public var insertion: [Double]

    public init(deletion: [Double], insertion: [Double]) {
        self.deletion = deletion
        self.insertion = insertion
    }

    public var deletionArea: Double { Self.area(deletion) }
    public var insertionArea: Double { Self.area(insertion) }

    /// The trapezoidal area under a curve sampled evenly on [0, 1].
    public static func area(_ curve: [Double]) -> Double {
        guard curve.count > 1 else { return curve.first ?? 0 }
        var s = 0.0
        for i in 1..<curve.count { s += (curve[i - 1] + curve[i]) / 2 }
        return s / Double(curve.count - 1)
    }

    /// Both curves of `map` for one image, in one forward pass of 2 (steps + 1) images.
    /// - image: the normalised image, channel planes (C*H*W)
    public static func measure(_ model: Model, image: [Float], map: ExplanationMap, target: Int,
                               steps: Int) -> Faithfulness {
        let s = model.inputShape, hw = s.height * s.width, n = 2 * (steps + 1), k = model.classes
        precondition(map.values.count == hw && image.count == s.count,
                     "map \(map.height) x \(map.width) for input \(s)")
        let order = map.values.indices.sorted { map.values[$0] != map.values[$1]
            ? map.values[$0] > map.values[$1] : $0 < $1 }
        let batch = Tensor(shape: model.inputLayout == .rows ? [n, s.count] : [s.channels, n, s.height, s.width])
        for step in 0...steps {
            let count = (step * hw + steps / 2) / steps  // the first `count` pixels of the order
            var removed = [Bool](repeating: false, count: hw)
            for i in order.prefix(count) { removed[i] = true }
            for (b, deleting) in [(step, true), (steps + 1 + step, false)] {
                for c in 0..<s.channels {
                    let base = model.inputLayout == .rows ? b * s.count + c * hw : (c * n + b) * hw
                    for i in 0..<hw { batch.data[base + i] = removed[i] == deleting ? 0 : image[c * hw + i] }
                }
            }
        }
        let logits = model.forward(batch, training: false).logits
        let p = (0..<n).map { b in Softmax.probabilities(Array(UnsafeBufferPointer(start: logits.data + b * k,
                                                                                   count: k)))[target] }
        return Faithfulness(deletion: Array(p[0...steps]), insertion: Array(p[(steps + 1)...]))
    }
}
