import Settings
import Training
import Checkpoint
import Data
import Distributed
import Foundation
import Losses
import NN
import Tensor

/// `ddp-train bench`: training speed of each model against the machine's sgemm rate,
/// exposed all-reduce time, loss cost, data loading and checkpoint throughput.
public enum Bench {
    public struct ModelResult: Codable, Sendable {
        public var model: String
        /// One sample's (channels, height, width).
        public var inputShape: [Int]
        public var batchSize: Int
        public var steps: Int
        public var stepMilliseconds: Double
        public var samplesPerSecondPerRank: Double
        public var samplesPerSecondTotal: Double
        public var forwardFlopsPerSample: Int
        public var trainFlopsPerSample: Int
        /// Matrix-product GFLOP/s one rank achieves, and its share of the measured sgemm rate.
        public var achievedGflopsPerRank: Double
        public var shareOfSgemm: Double
        /// The whole job's matrix-product GFLOP/s over the cores it runs on x one core's sgemm rate.
        public var shareOfPeak: Double
        public var exposedCommMillisecondsPerStep: Double
        public var exposedCommShare: Double
        /// Bytes each rank sends into the gradient all-reduces per step (`--grad-compression` halves them).
        public var gradientBytesPerStep: Int
        /// Heap allocations per step after warm-up (nil without benchmarks/malloc_count.so preloaded).
        public var allocationsPerStep: Double?
        /// The largest rank's peak resident memory (MiB) from loading the data to the last timed
        /// step (nil where the system does not say).
        public var peakMemoryMiB: Double?
        /// With --profile: milliseconds per step in each layer's forward and backward.
        public var profile: [LayerTime]?

        enum CodingKeys: String, CodingKey {
            case model
            case inputShape = "input_shape"
            case batchSize = "batch_size"
            case steps
            case stepMilliseconds = "step_ms"
            case samplesPerSecondPerRank = "samples_per_s_per_rank"
            case samplesPerSecondTotal = "samples_per_s_total"
            case forwardFlopsPerSample = "forward_flops_per_sample"
            case trainFlopsPerSample = "train_flops_per_sample"
            case achievedGflopsPerRank = "achieved_gflops_per_rank"
            case shareOfSgemm = "share_of_sgemm"
            case shareOfPeak = "share_of_peak"
            case exposedCommMillisecondsPerStep = "exposed_comm_ms_per_step"
            case exposedCommShare = "exposed_comm_share"
            case gradientBytesPerStep = "gradient_bytes_per_step"
            case allocationsPerStep = "allocations_per_step"
            case peakMemoryMiB = "peak_rss_mib"
            case profile
        }
    }

    public struct LayerTime: Codable, Sendable {
        public var layer: String
        public var forwardMs: Double
        public var backwardMs: Double
        /// Matrix-product GFLOP/s of the layer's forward and backward (nil without products), and
        /// its share of the step's time (nil for the step's phases).
        public var forwardGflops: Double?
        public var backwardGflops: Double?
        public var shareOfStep: Double?
        enum CodingKeys: String, CodingKey {
            case layer
            case forwardMs = "forward_ms"
            case backwardMs = "backward_ms"
            case forwardGflops = "forward_gflops"
            case backwardGflops = "backward_gflops"
            case shareOfStep = "share_of_step"
        }
    }

    public struct Report: Codable, Sendable {
        public var worldSize: Int
        public var blasThreads: Int
        public var blasCore: String
        public var sgemmGflops: Double
        /// sgemm on one thread: one core's rate, for the machine's peak (cores x this).
        public var sgemmGflopsPerCore: Double
        public var models: [ModelResult]
        /// The classification loss the loss line timed (`--loss`).
        public var loss: String
        public var lossMicroseconds: Double
        public var lossShareOfMLPStep: Double?
        public var dataLoadSeconds: Double
        public var checkpointBytes: Int
        public var checkpointWriteMBs: Double
        public var checkpointReadMBs: Double

        enum CodingKeys: String, CodingKey {
            case worldSize = "world_size"
            case blasThreads = "blas_threads"
            case blasCore = "blas_core"
            case sgemmGflops = "sgemm_gflops"
            case sgemmGflopsPerCore = "sgemm_gflops_per_core"
            case models, loss
            case lossMicroseconds = "loss_us"
            case lossShareOfMLPStep = "loss_share_of_mlp_step"
            case dataLoadSeconds = "data_load_s"
            case checkpointBytes = "checkpoint_bytes"
            case checkpointWriteMBs = "checkpoint_write_mb_s"
            case checkpointReadMBs = "checkpoint_read_mb_s"
        }
    }

    static func seconds(_ body: () throws -> Void) rethrows -> Double {
        let t0 = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9
    }

    /// Runs every measurement (collective). `steps` per model; `base` supplies data, batch and loss.
    public static func run(comm: Communicator, base: TrainConfig, models: [Architecture], steps: [Architecture: Int],
                           profile: Bool = false, log: Log) throws -> Report {
        let sgemm = BLASRuntime.measureSgemm()
        let threads = BLASRuntime.threads
        BLASRuntime.setThreads(1)
        let perCore = BLASRuntime.measureSgemm()
        BLASRuntime.setThreads(threads)
        let cores = Double(threads * comm.size)
        var results: [ModelResult] = []

        // Data loading: the whole default data set, long-tailed.
        let dataSeconds = try seconds { _ = try Dataset.load(base.dataConfig, seed: 0, comm: comm) }

        for architecture in models {
            results.append(try measure(architecture, base: base, steps: max(steps[architecture] ?? 20, 2),
                                       profile: profile,
                                       machine: (sgemm, perCore, cores), comm: comm, log: log))
        }

        // Loss forward + backward, B = 128, K = 10, D = 256 (--loss; the IB losses also return dL/dh).
        let lossTime = lossMicroseconds(base.settings, batch: 128, classes: 10, features: 256)
        let mlpStep = results.first { $0.model == "mlp" }?.stepMilliseconds

        // Checkpoint write and read of an mlp with SGD momentum.
        let (bytes, raw, write, read) = try checkpointThroughput()
        return Report(
            worldSize: comm.size, blasThreads: BLASRuntime.threads, blasCore: BLASRuntime.coreName, sgemmGflops: sgemm,
            sgemmGflopsPerCore: perCore,
            models: results, loss: base.loss.rawValue, lossMicroseconds: lossTime,
                lossShareOfMLPStep: mlpStep.map { lossTime / 1000 / $0 },
            dataLoadSeconds: dataSeconds, checkpointBytes: bytes,
            checkpointWriteMBs: Double(raw) / write / 1e6, checkpointReadMBs: Double(raw) / read / 1e6)
    }

    /// One model's step time, rates and (with `profile`) per-phase and per-layer times (collective).
    /// - machine: sgemm GFLOP/s of this rank, of one core, and the cores of the job
    static func measure(_ architecture: Architecture, base: TrainConfig, steps count: Int, profile: Bool,
                        machine: (sgemm: Double, perCore: Double, cores: Double), comm: Communicator,
                        log: Log) throws -> ModelResult {
        let (sgemm, perCore, cores) = machine
        var config = base
        config.model = architecture
        config.epochs = 1
        config.ibStartEpoch = 0  // the IB loss (with its dL/dh path) from the first step
        config = config.resolved(comm: comm, log: log)
        PeakMemory.reset()
        let dataset = try Dataset.load(config.dataConfig, seed: config.dataSelectionSeed, comm: comm)
        let trainer = try TrainStep(config: config, dataset: dataset,
                                    model: try ModelLoader.fresh(config, dataset: dataset, comm: comm),
                                    comm: comm)
        try ConvolutionPrecisionSetup.settle(&config, model: trainer.model,
                                             batch: (config.batchSize + comm.size - 1) / comm.size, comm: comm,
                                             log: log)
        try trainer.beginEpoch(0, labels: dataset.train.labels, classes: dataset.classes)
        let warmup = min(5, count)
        for s in 0..<warmup { _ = try trainer.run(epoch: 0, step: s % trainer.stepsPerEpoch, lr: 0.01,
                                                  globalStep: s) }
        try comm.barrier()
        trainer.resetTiming()
        let allocationsBefore = AllocationCounter.count
        let elapsed = try seconds {
            for s in 0..<count {
                _ = try trainer.run(epoch: 0, step: (warmup + s) % trainer.stepsPerEpoch, lr: 0.01,
                                    globalStep: warmup + s)
            }
        }
        let allocations = AllocationCounter.count.map { Double($0 - (allocationsBefore ?? 0)) / Double(count) }
        let peak = try comm.globalMax(Double(PeakMemory.bytes ?? -1))
        var layers: [LayerTime]?
        if profile {
            // A separate profiled pass, so that timing calls do not slow the measurement above.
            trainer.phaseSeconds = Array(repeating: 0, count: TrainStep.Phase.allCases.count)
            for s in 0..<count { _ = try trainer.run(epoch: 0, step: s % trainer.stepsPerEpoch, lr: 0.01,
                                                     globalStep: s) }
            let phases = trainer.phaseSeconds ?? []
            trainer.phaseSeconds = nil
            trainer.model.layerSeconds = []
            for s in 0..<count { _ = try trainer.run(epoch: 0, step: s % trainer.stepsPerEpoch, lr: 0.01,
                                                     globalStep: s) }
            let t = trainer.model.layerSeconds ?? []
            let model = trainer.model
            let all = model.features + [model.classifier]
            let step = phases.reduce(0, +) / Double(count)
            // Backward computes two products per forward one (input and weight gradients), one
            // in a layer that needs no input gradient.
            let flops = all.map { Double($0.forwardFLOPs) }  // this rank's batch: the last forward
            layers = TrainStep.Phase.allCases.map { p in
                LayerTime(layer: "step: " + p.name, forwardMs: 1000 * phases[p.rawValue] / Double(count),
                          backwardMs: 0)
            } + zip(model.layerNames, model.tapNames + ["logits"]).enumerated().map { i, names in
                let f = t[2 * i] / Double(count), b = t[2 * i + 1] / Double(count)
                let backwardFlops = flops[i] * (all[i].needsInputGradient ? 2 : 1)
                return LayerTime(layer: names.0 + " " + names.1, forwardMs: 1000 * f, backwardMs: 1000 * b,
                                 forwardGflops: flops[i] > 0 && f > 0 ? flops[i] / f / 1e9 : nil,
                                 backwardGflops: flops[i] > 0 && b > 0 ? backwardFlops / b / 1e9 : nil,
                                 shareOfStep: step > 0 ? (f + b) / step : nil)
            }
            trainer.model.layerSeconds = nil
        }
        // The job is as fast as its slowest rank.
        let slowest = try comm.globalMax(elapsed)
        let exposed = try comm.globalMax(trainer.exposedSeconds)
        let stepSeconds = slowest / Double(count)
        let model = trainer.model
        let forward = model.forwardFLOPsPerSample()
        let first = model.features.first?.forwardFLOPs ?? 0  // per sample: batch 1 after forwardFLOPsPerSample
        let train = 3 * forward - first
        let total = Double(config.batchSize) / stepSeconds
        let perRank = total / Double(comm.size)
        let gflops = perRank * Double(train) / 1e9
        log.info(String(format: "  %@: %.1f ms/step, %.0f samples/s (%.0f per rank)", architecture.rawValue,
                        1000 * stepSeconds, total, perRank))
        return ModelResult(
            model: architecture.rawValue, inputShape: [dataset.train.channels, dataset.train.height, dataset.train.width], batchSize: config.batchSize,
            steps: count,
            stepMilliseconds: 1000 * stepSeconds, samplesPerSecondPerRank: perRank, samplesPerSecondTotal: total,
            forwardFlopsPerSample: forward, trainFlopsPerSample: train, achievedGflopsPerRank: gflops,
            shareOfSgemm: gflops / sgemm, shareOfPeak: gflops * Double(comm.size) / (cores * perCore),
            exposedCommMillisecondsPerStep: 1000 * exposed / Double(count),
            exposedCommShare: exposed / slowest, gradientBytesPerStep: trainer.gradientBytesPerStep,
            allocationsPerStep: allocations, peakMemoryMiB: peak < 0 ? nil : peak / 1048576,
            profile: layers)
    }

    /// Microseconds of one forward + backward of the classification loss `settings` name (its
    /// second phase; CRL mining its local batch).
    static func lossMicroseconds(_ settings: Settings, batch b: Int, classes k: Int, features d: Int) -> Double {
        var settings = settings
        settings.crlMining = .local
        let term = settings.loss.spec.make(settings, k, d)
        var rng = RandomSource(seed: 1)
        let logits = Tensor(shape: [b, k]), h = Tensor(shape: [b, d])
        let dz = Tensor(shape: [b, k]), dh = Tensor(shape: [b, d])
        for i in 0..<logits.count { logits[i] = rng.nextUniform() * 2 - 1 }
        for i in 0..<h.count { h[i] = rng.nextUniform() }
        let targets = UnsafeMutablePointer<Int32>.allocate(capacity: b)
        defer { targets.deallocate() }
        for i in 0..<b { targets[i] = Int32(i % k) }
        let weights = [Double](repeating: 1, count: k), counts = [Int](repeating: b / k + 1, count: k)
        let batch = LossBatch(scores: logits, features: h, targets: targets, count: b, weights: weights, omega: 0.5,
                              counts: counts,
                              normalizer: Double(b), share: 1)
        let repeats = 2000
        var sink = 0.0
        let t = seconds {
            for _ in 0..<repeats {
                dz.fill(0)
                dh.fill(0)
                sink += term.accumulate(batch, scoresGradient: dz, featureGradient: dh)
            }
        }
        precondition(sink.isFinite)
        return 1e6 * t / Double(repeats)
    }

    /// (file bytes, raw bytes, write seconds, read seconds) for an mlp checkpoint with momentum.
    static func checkpointThroughput() throws -> (Int, Int, Double, Double) {
        let model = Model.make(.mlp, inputShape: InputShape(channels: 1, height: 28, width: 28), classes: 10, seed: 3)
        let optimizer = Optimizer(OptimizerConfig(), parameterCount: model.parameters.count)
        var rng = RandomSource(seed: 2)
        for i in 0..<optimizer.count { optimizer.state[i] = Float(rng.nextNormal() * 0.01) }
        let dir = NSTemporaryDirectory() + "ddp-train-bench-ckpt-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/step-00000001.ckpt"
        let params = model.parameters
        let tensors: [CheckpointFile.Tensor] = [
            .init(name: "parameters", shape: [params.count], values: UnsafeBufferPointer(params.valueBuffer)),
            .init(name: "momentum", shape: [params.count], values: UnsafeBufferPointer(optimizer.state)),
        ]
        var bytes = 0
        // The tensors point into the model's and the optimiser's memory: keep both alive.
        let write = try withExtendedLifetime((model, optimizer)) {
            try seconds { bytes = try CheckpointFile.write(path: path, manifest: Data("{}".utf8), tensors: tensors,
                                                           level: 3) }
        }
        let read = try seconds { _ = try CheckpointFile.read(path: path) }
        return (bytes, 8 * params.count, write, read)
    }

    /// The table rank 0 prints.
}
