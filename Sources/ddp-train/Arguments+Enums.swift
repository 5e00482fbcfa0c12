import ArgumentParser
import Distributed
import Explain
import Losses
import NN
import Tools
import Training

// bench takes --models and --bucket-mode.
extension Architecture: ExpressibleByArgument {}
extension BucketMode: ExpressibleByArgument {}
extension GradientCompression: ExpressibleByArgument {}
extension ConvolutionBackend: ExpressibleByArgument {}
extension Precision: ExpressibleByArgument {}
extension LossKind: ExpressibleByArgument {}
extension EmbeddingLossKind: ExpressibleByArgument {}
extension ExplainMethod: ExpressibleByArgument {}
