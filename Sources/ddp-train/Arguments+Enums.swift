import ArgumentParser
import Losses
import NN
import Training

// bench takes --models and --bucket-mode.
extension Architecture: ExpressibleByArgument {}
extension BucketMode: ExpressibleByArgument {}
extension ConvolutionBackend: ExpressibleByArgument {}
extension LossKind: ExpressibleByArgument {}
extension MetricLossKind: ExpressibleByArgument {}
extension ExplainJob.Method: ExpressibleByArgument {}
