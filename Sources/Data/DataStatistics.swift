/// What a trained model needs from its training set, so that it can be used without it:
/// the input shape, the classes (and their names when known), the inputs' normalisation and the training
/// class sizes (which group classes into many/medium/few). Checkpoints and
/// `final.safetensors` carry it (`ModelCard`); `Dataset.load(_:known:comm:)` then reads
/// only the test files.
public struct DataStatistics: Codable, Sendable, Equatable {
    /// Channels, height, width of one image.
    public var inputShape: [Int]
    public var classes: Int
    public var classNames: [String]?
    public var mean: [Float]
    public var std: [Float]
    /// Global training samples per class the model was trained with.
    public var trainCounts: [Int]
    /// Whether evaluated images are resized to 8/7 and centre-cropped (trained with resized
    /// crops, `Augmentation`); nil: no (and absent from the files of models trained without).
    public var testCrop: Bool?

    enum CodingKeys: String, CodingKey {
        case inputShape = "input_shape"
        case classes
        case classNames = "class_names"
        case mean, std
        case trainCounts = "train_counts"
        case testCrop = "test_crop"
    }

    public init(inputShape: [Int], classes: Int, classNames: [String]?, mean: [Float], std: [Float],
                trainCounts: [Int], testCrop: Bool? = nil) {
        self.testCrop = testCrop
        self.inputShape = inputShape
        self.classes = classes
        self.classNames = classNames
        self.mean = mean
        self.std = std
        self.trainCounts = trainCounts
    }

    /// Why these statistics are unsound, or nil.
    public var problem: String? {
        guard inputShape.count == 3, inputShape.allSatisfy({ $0 >= 1 && $0 <= 1 << 16 }) else {
            return "input_shape \(inputShape), expected channels, height, width"
        }
        let channels = inputShape[0]
        if classes < 2
            || classes > Dataset.maxClasses { return "classes \(classes), expected 2...\(Dataset.maxClasses)" }
        if let names = classNames,
            names.count != classes { return "class_names: \(names.count) names for \(classes) classes" }
        if mean.count != channels || std.count != channels {
            return "mean and std: \(mean.count) and \(std.count) values, expected one per channel (\(channels))"
        }
        if !mean.allSatisfy(\.isFinite)
            || !std.allSatisfy({ $0.isFinite
            && $0 > 0 }) { return "mean and std: expected finite values, std positive" }
        if trainCounts.count != classes || trainCounts.contains(where: { $0 < 0 }) {
            return "train_counts: \(trainCounts.count) counts for \(classes) classes, expected one per " +
                   "class, none negative"
        }
        return nil
    }

    /// Why these statistics do not describe the images of `split`, or nil.
    public func problem(describing split: Split) -> String? {
        if let problem { return problem }
        let shape = [split.channels, split.height, split.width]
        guard shape == inputShape else {
            return "the model takes \(inputShape.map(String.init).joined(separator: " x ")) images, these are " +
                   "\(shape.map(String.init).joined(separator: " x "))"
        }
        return nil
    }

    /// The name of class `c` for people: "7 Sneaker", or "7".
    public func label(_ c: Int) -> String {
        guard let names = classNames, names.indices.contains(c) else { return "\(c)" }
        return "\(c) \(names[c])"
    }
}
