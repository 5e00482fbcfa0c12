import Data
import Losses
import NN

/// The phases of a training run, resolved once from its configuration: for every epoch, which
/// classification term trains, with which class weighting, at which factor of the learning-rate
/// schedule. The loss, the schedule, the metrics (`loss_phase`), the report and the summary
/// read them; a checkpoint stores only a position (the epoch), so a resumed run is in the same
/// phase.
///
/// Where phases begin: a two-phase loss (`LossSpec.twoPhase`: IB, IB-focal) trains plain CE
/// before `--ib-start-epoch` and itself from there, at 0.01 of the `ib-paper` schedule;
/// `--drw-epoch` turns the class weights on (deferred re-weighting); `--drs-epoch` turns uniform
/// sampling into class-balanced sampling (deferred re-sampling). A new kind of phase is a boundary
/// and what changes there, in `init`.
public struct TrainingPhases: Sendable, Equatable {
    /// A stretch of epochs with the same rules.
    public struct Phase: Sendable, Equatable {
        /// The epochs of the phase (0-based, the end excluded).
        public var epochs: Range<Int>
        /// The classification term: plain CE in a two-phase loss's first phase, else the loss's own.
        public var term: ClassificationTerm
        /// The loss trained, as `loss_phase` names it (`ce` in a two-phase loss's first phase).
        public var lossName: String
        /// The class weighting of the epoch's class weights.
        public var weighting: ClassWeighting
        /// The schedule's rate is multiplied by this after warm-up.
        public var lrFactor: Double
        /// How the phase's epochs draw their samples.
        public var sampler: SamplerKind
        /// The stage: 1, or 2 for `--stage2` (its own schedule, `TrainConfig.stage2Schedule`).
        public var stage = 1
        /// What trains.
        public var trains = TrainableParts.all
        /// Why the phase begins where it does (`IB starts`, `DRW: class weights on`), empty for the first.
        public var begins: [String]
    }

    public let phases: [Phase]

    /// The phases of `config`, whose `ib-start-epoch` default is resolved (`TrainConfig.resolve`).
    public init(_ config: TrainConfig) {
        let epochs = max(config.epochs, 1)
        let spec = config.loss.spec
        let secondTerm = spec.twoPhase ? (config.ibStartEpoch ?? config.epochs / 2) : nil
        let drw = config.drwEpoch?.epoch(of: config.epochs)
        let drs = config.drsEpoch?.epoch(of: config.epochs)
        // ib-paper runs a two-phase loss at 0.01 of its rate from the second term on, or from 80%
        // of the epochs when that comes first (the IB paper's end decays, x1e-4 and x1e-6).
        let lastFifth = (0...epochs).first { Double($0) >= 0.8 * Double(config.epochs) } ?? epochs
        let slower = config.schedule == .ibPaper ? secondTerm.map { min($0, lastFifth) } : nil
        var starts: [Int: [String]] = [0: []]
        if let s = secondTerm, s > 0, s < epochs { starts[s, default: []].append("\(config.loss.rawValue) starts") }
        if let d = drw, d > 0, d < epochs { starts[d, default: []].append("DRW: class weights on") }
        if let d = drs, d > 0, d < epochs { starts[d, default: []].append("DRS: class-balanced sampling") }
        if let f = slower, f > 0, f < epochs, f != secondTerm { starts[f, default: []].append("learning rate x0.01") }
        let bounds = starts.keys.sorted()
        var phases = bounds.indices.map { i in
            let first = bounds[i], end = i + 1 < bounds.count ? bounds[i + 1] : epochs
            let main = secondTerm.map { first >= $0 } ?? true
            let weighted = main && (drw.map { first >= $0 } ?? true)
            return Phase(epochs: first..<end, term: main ? .main : .crossEntropy,
                         lossName: main ? config.loss.rawValue : LossKind.ce.rawValue,
                         weighting: weighted ? config.classWeights.resolved(for: config.loss) : .none,
                         lrFactor: slower.map { first >= $0 } == true ? 0.01 : 1,
                         sampler: drs.map { first >= $0 ? .classBalanced : .uniform } ?? config.sampler,
                         begins: starts[first] ?? [])
        }
        if config.stage2 != .none {
            // The second stage: the backbone frozen, class-balanced sampling, its own loss and schedule.
            let loss = config.stage2Loss
            phases.append(Phase(epochs: config.epochs..<config.totalEpochs, term: .stage2, lossName: loss.rawValue,
                                weighting: loss.spec.defaultWeighting, lrFactor: 1, sampler: .classBalanced, stage: 2,
                                trains: config.stage2 == .crt ? .classifier : .classScales,
                                begins: ["stage 2: \(config.stage2 == .crt ? "cRT" : "LWS")"]))
        }
        self.phases = phases
    }

    /// The phase `epoch` is in (the last one past the end).
    public func phase(at epoch: Int) -> Phase { phases[index(at: epoch)] }

    /// The index of that phase in `phases`.
    public func index(at epoch: Int) -> Int { phases.lastIndex { $0.epochs.lowerBound <= epoch } ?? 0 }
}

extension TrainingPhases {
    /// "epochs 1-15: ce; epochs 16-30: ib, class weights ib, learning rate x0.01 (ib starts)",
    /// epochs counted from 1 as the terminal and the report count them.
    public var text: String {
        phases.map { p in
            let span = p.epochs.count == 1 ? "epoch \(p.epochs.lowerBound + 1)"
                : "epochs \(p.epochs.lowerBound + 1)-\(p.epochs.upperBound)"
            var parts = [p.lossName]
            if p.weighting != .none { parts.append("class weights \(p.weighting.rawValue)") }
            if p.lrFactor != 1 { parts.append(String(format: "learning rate x%g", p.lrFactor)) }
            if p.sampler != .uniform { parts.append("\(p.sampler.rawValue) sampling") }
            if p.trains == .classifier { parts.append("the classifier alone") }
            if p.trains == .classScales { parts.append("class scales alone") }
            let why = p.begins.isEmpty ? "" : " (" + p.begins.joined(separator: "; ") + ")"
            return span + ": " + parts.joined(separator: ", ") + why
        }.joined(separator: "; ")
    }
}
