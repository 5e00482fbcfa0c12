import ArgumentParser
import Data
import Losses
import NN
import Training

// The option values are the enums' raw values; ArgumentParser lists them when one is invalid.
extension Architecture: ExpressibleByArgument {}
extension LossKind: ExpressibleByArgument {}
extension ClassWeightSetting: ExpressibleByArgument {}
extension CRLMining: ExpressibleByArgument {}
extension ScheduleKind: ExpressibleByArgument {}
extension OptimizerKind: ExpressibleByArgument {}
extension ImbalanceProfile: ExpressibleByArgument {}
extension BucketMode: ExpressibleByArgument {}
