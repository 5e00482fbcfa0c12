import ArgumentParser
import NN
import Training

// bench takes --models and --bucket-mode.
extension Architecture: ExpressibleByArgument {}
extension BucketMode: ExpressibleByArgument {}
