import Distributed
import Foundation
import Tensor

/// What an evaluation accumulates of one way of scoring the test samples (the logits, the
/// post-hoc adjusted logits, the tau-normalised ones): the confusion matrix, top-5 hits, the
/// negative log-likelihood of the softmax, and per true class the calibration bins (15 equal
/// widths of confidence, Guo et al. 2017: count, confidence sum, hits). Each rank tallies its
/// shard; `sum` adds them over the ranks.
struct ScoreTally {
    static let bins = 15
    let classes: Int
    private(set) var confusion: [Int64]
    /// [top-5 hits, NLL sum], then per class and bin: count, confidence sum, hits.
    private(set) var sums: [Double]

    init(classes: Int) {
        self.classes = classes
        confusion = Array(repeating: 0, count: classes * classes)
        sums = Array(repeating: 0, count: 2 + classes * Self.bins * 3)
    }

    /// Tallies one sample's scores; returns the predicted class (the first of equal maxima).
    @discardableResult
    mutating func add(_ row: UnsafePointer<Float>, target y: Int) -> Int {
        let best = Softmax.argmax(row, count: classes)
        confusion[y * classes + best] += 1
        let top = Double(row[best])
        var total = 0.0, above = 0
        for j in 0..<classes {
            total += exp(Double(row[j]) - top)
            if row[j] > row[y] { above += 1 }
        }
        let logSum = top + log(total)
        if above < 5 { sums[0] += 1 }
        sums[1] += logSum - Double(row[y])
        let confidence = exp(top - logSum)
        // Non-finite scores (a diverged model) count in the first bin: no trap on NaN.
        let scaled = (confidence * Double(Self.bins)).rounded(.up)
        let bin = scaled.isFinite ? min(max(Int(scaled) - 1, 0), Self.bins - 1) : 0
        let at = 2 + (y * Self.bins + bin) * 3
        sums[at] += 1
        sums[at + 1] += confidence
        if best == y { sums[at + 2] += 1 }
        return best
    }

    /// Adds every rank's tally (collective).
    mutating func sum(_ comm: Communicator) throws {
        try comm.allReduceSum(&confusion)
        try comm.allReduceSum(&sums)
    }

    /// The figures of the tally, many / medium / few by rank and shot groups by `thresholds`.
    func figures(trainCounts: [Int], thresholds: ShotThresholds) -> AccuracyFigures {
        let k = classes, matrix = (0..<k).map { r in (0..<k).map { Int(confusion[r * k + $0]) } }
        var f = AccuracyFigures(confusion: matrix, trainCounts: trainCounts, thresholds: thresholds)
        let n = Double(confusion.reduce(0, +))
        guard n > 0 else { return f }
        if k > 5 { f.top5 = sums[0] / n }
        f.nll = sums[1] / n
        var reliability = [[Double]](repeating: [0, 0, 0], count: Self.bins)
        var perClass: [Double] = []
        for c in 0..<k {
            var gaps = 0.0, count = 0.0
            for b in 0..<Self.bins {
                let at = 2 + (c * Self.bins + b) * 3
                gaps += abs(sums[at + 2] - sums[at + 1])
                count += sums[at]
                for i in 0..<3 { reliability[b][i] += sums[at + i] }
            }
            if count > 0 { perClass.append(gaps / count) }
        }
        // ECE: over the bins of all samples, |hits - confidence sum| / N.
        f.ece = reliability.reduce(0) { $0 + abs($1[2] - $1[1]) } / n
        f.eceBalanced = perClass.isEmpty ? nil : perClass.reduce(0, +) / Double(perClass.count)
        // Per bin: samples, mean confidence, accuracy (zeros for an empty bin).
        f.reliability = reliability.map { b in b[0] > 0 ? [b[0], b[1] / b[0], b[2] / b[0]] : [0, 0, 0] }
        return f
    }
}
