/// What trains in a phase of a run.
public enum TrainableParts: Sendable, Equatable {
    /// Every parameter but a classifier's class scales.
    case all
    /// The linear classifier's weight and bias (cRT): the features run in evaluation mode and
    /// nothing propagates back through them.
    case classifier
    /// The linear classifier's class scales (LWS), the features as for `classifier`.
    case classScales
}

/// The parts of the flat parameter buffer a two-stage run trains apart: the classifier is
/// registered last, its class scales (when it has them) at the very end.
extension Model {
    /// The classifier's parameters: weight, bias and class scales.
    public var classifierRange: Range<Int> { (classifier.parameterOffset ?? parameters.count)..<parameters.count }

    /// The class scales (`<classifier>.scales`), empty without them.
    public var scalesRange: Range<Int> {
        ((classifier as? Linear)?.scalesOffset ?? parameters.count)..<parameters.count
    }

    /// The parameters `parts` trains.
    public func trainableRange(_ parts: TrainableParts) -> Range<Int> {
        switch parts {
        case .all: 0..<scalesRange.lowerBound
        case .classifier: classifierRange.lowerBound..<scalesRange.lowerBound
        case .classScales: scalesRange
        }
    }

    /// Re-initialises the classifier's weight and bias as `make` initialises them, from `seed`,
    /// writing only the elements `within` (cRT's fresh classifier; each rank writes its slice of
    /// parameters shared by the ranks of a host).
    public func reinitializeClassifier(seed: UInt64, within range: Range<Int>) {
        let trained = trainableRange(.classifier)
        for (i, e) in parameters.entries.enumerated() where trained.contains(e.offset) {
            parameters.initialize(entry: i, seed: seed, within: range)
        }
    }
}

extension Model {
    /// The linear classifier's weight rows (classes x features, row-major) as they act on the
    /// features, class scales applied; nil for a cosine head.
    public var classifierRows: [Float]? {
        guard let linear = classifier as? Linear, let offset = linear.parameterOffset else { return nil }
        let width = linear.inFeatures
        var rows = Array(UnsafeBufferPointer(start: parameters.values + offset, count: classes * width))
        if let s = linear.scalesOffset {
            for k in 0..<classes { for j in 0..<width { rows[k * width + j] *= parameters.values[s + k] } }
        }
        return rows
    }
}
