import ArgumentParser
import Data
import Distributed
import Explain
import Losses
import NN
import Tools
import Training

// bench takes --models and --bucket-mode.
extension Architecture: ExpressibleByArgument {}
extension BucketMode: ExpressibleByArgument {}
extension SeedTable.Format: ExpressibleByArgument {}
extension GradientCompression: ExpressibleByArgument {}
extension ConvolutionBackend: ExpressibleByArgument {}
extension Precision: ExpressibleByArgument {}
extension LossKind: ExpressibleByArgument {}
extension EmbeddingLossKind: ExpressibleByArgument {}
extension ExplainMethod: ExpressibleByArgument {}
// eval and explain take --normalization and --image-size for a file without a card.
extension NormalizationKind: ExpressibleByArgument {}
extension ImageSize: ExpressibleByArgument {
    public init?(argument: String) {
        guard let value = Self.parse([argument]) else { return nil }
        self = value
    }
}

// eval takes --tau-norm.
extension TauNormSetting: ExpressibleByArgument {
    public init?(argument: String) {
        guard let value = Self.parse([argument]) else { return nil }
        self = value
    }
}
