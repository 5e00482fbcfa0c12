import Data
import NN

/// What `eval` and `explain` are told of a `.safetensors` file without a model card (another
/// program's, such as a torchvision `state_dict`): the model (`--model`), its classes
/// (`--classes`), the normalisation it was trained with (`--normalization`) and the image size
/// (`--image-size`). A file with a card says all of it; a value given that differs from its
/// card is refused.
public struct CardlessModel: Sendable, Equatable {
    public var model: Architecture?
    public var classes: Int?
    public var normalization: NormalizationKind?
    public var imageSize: ImageSize?

    public init(model: Architecture? = nil, classes: Int? = nil, normalization: NormalizationKind? = nil,
                imageSize: ImageSize? = nil) {
        self.model = model
        self.classes = classes
        self.normalization = normalization
        self.imageSize = imageSize
    }

    /// Why these values contradict `card` (of file `path`), or nil.
    func conflict(with card: ModelCard, path: String) -> String? {
        var out: [String] = []
        if let model, model != card.model { out.append("--model \(model.rawValue) (the card: \(card.model.rawValue))") }
        if let classes, classes != card.data.classes {
            out.append("--classes \(classes) (the card: \(card.data.classes))")
        }
        let shape = card.data.inputShape
        if let size = imageSize, shape.count == 3, [size.height, size.width] != Array(shape[1...]) {
            out.append("--image-size \(size.text) (the card: \(shape[1])x\(shape[2]))")
        }
        guard !out.isEmpty else { return nil }
        return "\(path) carries its model card, which says otherwise: " + out.joined(separator: ", ") +
               "; these options are for files without one"
    }
}
