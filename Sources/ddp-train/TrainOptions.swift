import ArgumentParser
import Data
import Losses
import NN
import Training

/// `--data` and the long tail.
struct DataOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Data directory: IDX (Fashion-MNIST, MNIST), CIFAR-10/100 binary, or NumPy .npy files (also sharded).", valueName: "dir"))
    var data: String = DatasetLayout.defaultDirectory

    @Option(help: "Largest over smallest class size after sub-sampling the training set (1 = as given).")
    var imbalanceRatio: Double = 100

    @Option(help: "Long-tail profile: exp or step.")
    var imbalanceProfile: ImbalanceProfile = .exp

    @Option(help: "Number of classes (default: 10 for IDX and CIFAR-10, 100 for CIFAR-100, largest label + 1 for NumPy).")
    var classes: Int?

    @Flag(inversion: .prefixedNo, help: "Random crop (4-pixel padding) and horizontal flip of 32x32 colour training images.")
    var augment = false

    @Flag(inversion: .prefixedNo, help: "Drop each epoch's last incomplete global batch instead of padding by wrapping.")
    var dropLast = false
}

/// The model and its loss.
struct ModelOptions: ParsableArguments {
    @Option(help: "Model: mlp, cnn or resnet32.")
    var model: Architecture = .mlp

    @Option(help: "Loss: ce, focal, ib, ib-focal or crl.")
    var loss: LossKind = .ib

    @Option(help: "Class weights: auto (ib for focal/ib/ib-focal, none for ce/crl), none, ib or cb.")
    var classWeights: ClassWeightSetting = .auto

    @Option(help: "Beta of the class-balanced (cb) weights.")
    var cbBeta: Double = 0.9999

    @Option(help: "Deferred re-weighting: class weights off before this epoch (default: always on).")
    var drwEpoch: Int?

    @Option(help: "Focal gamma (focal, ib-focal).")
    var focalGamma: Double = 1

    @Option(help: "Focal scale (focal).")
    var focalScale: Double = 1

    @Option(help: "IB alpha (ib, ib-focal).")
    var ibAlpha: Double = 1000

    @Option(help: "Epoch the IB loss starts; plain CE before it (default: epochs / 2).")
    var ibStartEpoch: Int?

    @Option(help: "CRL eta: the rectification term's weight is eta * Omega.")
    var crlEta: Double = 0.01

    @Option(help: "CRL kappa: hard positives and negatives per minority class.")
    var crlKappa: Int = 25

    @Option(help: "CRL triplet margin.")
    var crlMargin: Double = 0.5

    @Option(help: "CRL rho: minority classes cover at most this share of the batch.")
    var crlRho: Double = 0.5

    @Option(help: "CRL mining over each rank's batch (local) or the all-gathered global batch (global).")
    var crlMining: CRLMining = .local
}

/// Optimisation.
struct OptimizationOptions: ParsableArguments {
    @Option(help: "Epochs.")
    var epochs: Int = 30

    @Option(help: "Global batch size (split over the ranks).")
    var batchSize: Int = 128

    @Option(help: "Base learning rate.")
    var lr: Double = 0.1

    @Option(help: "SGD momentum.")
    var momentum: Double = 0.9

    @Flag(inversion: .prefixedNo, help: "Nesterov momentum.")
    var nesterov = false

    @Option(help: "Weight decay.")
    var weightDecay: Double = 2e-4

    @Option(help: "Epochs of linear learning-rate warm-up.")
    var warmupEpochs: Int = 5

    @Option(help: "Learning-rate schedule: ib-paper, step, cosine or constant.")
    var schedule: ScheduleKind = .ibPaper

    @Option(parsing: .upToNextOption, help: "Epochs where the step schedule multiplies the rate by 0.1 (default: 50% and 75% of the epochs).")
    var lrMilestones: [Int] = []

    @Option(help: "Optimiser: sgd or adamw.")
    var optimizer: OptimizerKind = .sgd

    @Option(help: "Random seed (initialisation, sub-sampling, shuffling, augmentation).")
    var seed: Int = 0

    @Option(help: "Stop after this many optimiser steps in total (a normal end of the run; 0 writes the initial weights).")
    var maxSteps: Int?

    @Flag(inversion: .prefixedNo, help: "Batch-norm statistics summed over all ranks in training.")
    var syncBatchnorm = false
}

/// Running: threads, communication, files, checkpoints.
struct RunOptions: ParsableArguments {
    @Option(help: "BLAS threads per rank (default: cores on this host / ranks on this host).")
    var threads: Int?

    @Option(name: .customLong("bucket-first-mib"), help: "Size of the first gradient bucket in MiB (sent as soon as the last layers are done).")
    var bucketFirstMib: Double = 1

    @Option(name: .customLong("bucket-mib"), help: "Size of the other gradient buckets in MiB.")
    var bucketMib: Double = 25

    @Option(help: "Gradient buckets: overlap (non-blocking all-reduces during backward), blocking (one all-reduce as each bucket is ready), auto (blocking on one host, overlap across hosts).")
    var bucketMode: BucketMode = .auto

    @Option(help: "End the job (every rank, with a message) when no training step or evaluation batch completes for this many seconds: a stopped or deadlocked rank, an unreachable host. 0 = never. (default: 600)")
    var stallTimeout: Double?

    @Option(help: "Test samples per rank and forward pass in evaluation (default: the rank's training batch, which keeps memory at what training needs).")
    var evalBatchSize: Int?

    @Option(help: ArgumentHelp("Run directory (default: runs/<date-time>).", valueName: "dir"))
    var runDir: String?

    @Option(help: "Write a checkpoint every this many epochs (0 = only at the end).")
    var checkpointEvery: Int = 1

    @Option(help: "Also write a checkpoint every this many optimiser steps.")
    var checkpointEverySteps: Int?

    @Option(help: "Checkpoints kept in the run directory.")
    var keepCheckpoints: Int = 3

    @Option(help: "zstd level of checkpoints (1-19).")
    var checkpointLevel: Int = 3

    @Option(help: ArgumentHelp("Resume: auto (the newest valid checkpoint of --run-dir; a fresh start if there is none) or a checkpoint path.", valueName: "auto|path"))
    var resume: String?
}
