import NN

/// The second training stage (`--stage2`): what changes when it begins, and the gradients a
/// phase that trains part of the classifier leaves behind.
extension TrainStep {
    /// The start of the second stage (collective), before its first step: the optimiser starts
    /// afresh (no momentum carried over), every gradient is zero, and for cRT the classifier is
    /// re-initialised as at the start of the run, from its own stream of the seed. Each rank
    /// writes its part of parameters the ranks of a host share; a barrier ends it.
    public func beginSecondStage() throws {
        let range = sync.range
        optimizer.restart(within: range)
        model.parameters.zeroGradients()
        (sync.gradients + range.lowerBound).update(repeating: 0, count: range.count)
        if config.stage2 == .crt { model.reinitializeClassifier(seed: Self.stage2Seed(config.seed), within: range) }
        try comm.barrier()
    }

    /// The seed of cRT's fresh classifier: the run's, on a stream of its own.
    static func stage2Seed(_ seed: Int) -> UInt64 { UInt64(seed) ^ 0x5354_4147_4532 }

    /// After an update of `updated` that cleared its gradients: zeroes the rest of the
    /// classifier's gradients in the rank's range (the class scales in the first stage, the part
    /// of the classifier the second stage does not train), which backward adds into. The
    /// features' gradients are zero already where the phase does not reach them.
    func clearUntrained(updated: Range<Int>) {
        let classifier = sync.range.clamped(to: model.classifierRange)
        let g = sync.gradients
        for i in classifier where !updated.contains(i) { g[i] = 0 }
    }
}
