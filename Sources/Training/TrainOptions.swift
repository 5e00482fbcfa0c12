import Data
import Losses
import NN
import Settings

// The train command's options that are not a loss's (those are declared beside their losses).
extension Options {
    // Data
    public static let data = Option("data", DatasetLayout.defaultDirectory, "Data directory: IDX (Fashion-MNIST, MNIST), CIFAR-10/100 binary, or NumPy .npy files (also sharded).", valueName: "dir")
    public static let imbalanceRatio = Option("imbalance-ratio", 100.0, "Largest over smallest class size after sub-sampling the training set (1 = as given).")
    public static let imbalanceProfile = Option("imbalance-profile", ImbalanceProfile.exp, "Long-tail profile.")
    public static let classes = Option<Int?>("classes", nil, "Number of classes.", defaultText: "10 for IDX and CIFAR-10, 100 for CIFAR-100, largest label + 1 for NumPy")
    public static let augment = Option("augment", false, "Random crop (4-pixel padding) and horizontal flip of 32x32 colour training images.")
    public static let dropLast = Option("drop-last", false, "Drop each epoch's last incomplete global batch instead of padding by wrapping.")
    // Model and class weights
    public static let model = Option("model", Architecture.mlp, "Model.")
    public static let classWeights = Option("class-weights", ClassWeightSetting.auto, "Class weights: auto is ib for focal, ib and ib-focal, none for the others.")
    public static let cbBeta = Option("cb-beta", 0.9999, "Beta of the class-balanced (cb) weights.")
    public static let drwEpoch = Option<Int?>("drw-epoch", nil, "Deferred re-weighting: class weights off before this epoch.", defaultText: "always on")
    public static let ibStartEpoch = Option<Int?>("ib-start-epoch", nil, "Epoch the IB loss starts; plain CE before it.", defaultText: "epochs / 2")
    // Optimisation
    public static let epochs = Option("epochs", 30, "Epochs.")
    public static let batchSize = Option("batch-size", 128, "Global batch size (split over the ranks).")
    public static let lr = Option("lr", 0.1, "Base learning rate.")
    public static let momentum = Option("momentum", 0.9, "SGD momentum.")
    public static let nesterov = Option("nesterov", false, "Nesterov momentum.")
    public static let weightDecay = Option("weight-decay", 2e-4, "Weight decay.")
    public static let warmupEpochs = Option("warmup-epochs", 5, "Epochs of linear learning-rate warm-up.")
    public static let schedule = Option("schedule", ScheduleKind.ibPaper, "Learning-rate schedule.")
    public static let lrMilestones = Option<[Int]?>("lr-milestones", nil, "Epochs where the step schedule multiplies the rate by 0.1.", defaultText: "50% and 75% of the epochs")
    public static let optimizer = Option("optimizer", OptimizerKind.sgd, "Optimiser.")
    public static let seed = Option("seed", 0, "Random seed (initialisation, sub-sampling, shuffling, augmentation).")
    public static let maxSteps = Option<Int?>("max-steps", nil, "Stop after this many optimiser steps in total (a normal end of the run; 0 writes the initial weights).")
    public static let syncBatchnorm = Option("sync-batchnorm", false, "Batch-norm statistics summed over all ranks in training.")
    // Running
    public static let threads = Option<Int?>("threads", nil, "BLAS threads per rank.", defaultText: "cores on this host / ranks on this host")
    public static let bucketFirstMib = Option("bucket-first-mib", 1.0, "Size of the first gradient bucket in MiB (sent as soon as the last layers are done).")
    public static let bucketMib = Option("bucket-mib", 25.0, "Size of the other gradient buckets in MiB.")
    public static let bucketMode = Option("bucket-mode", BucketMode.auto, "Gradient buckets: overlap (non-blocking all-reduces during backward), blocking (one all-reduce as each bucket is ready), auto (blocking on one host, overlap across hosts).")
    public static let stallTimeout = Option<Double?>("stall-timeout", nil, "End the job (every rank, with a message) when no training step or evaluation batch completes for this many seconds: a stopped or deadlocked rank, an unreachable host. 0 = never.", defaultText: "600")
    public static let evalBatchSize = Option<Int?>("eval-batch-size", nil, "Test samples per rank and forward pass in evaluation.", defaultText: "the rank's training batch, which keeps memory at what training needs")
    public static let runDir = Option("run-dir", "", "Run directory.", defaultText: "runs/<date-time>", valueName: "dir")
    public static let checkpointEvery = Option("checkpoint-every", 1, "Write a checkpoint every this many epochs (0 = only at the end).")
    public static let checkpointEverySteps = Option<Int?>("checkpoint-every-steps", nil, "Also write a checkpoint every this many optimiser steps.")
    public static let keepCheckpoints = Option("keep-checkpoints", 3, "Checkpoints kept in the run directory.")
    public static let checkpointLevel = Option("checkpoint-level", 3, "zstd level of checkpoints (1-19).")
}

/// The train command's options in `--help` order: the list `TrainConfig` codes and parses.
public enum TrainOptions {
    public static let groups: [OptionGroup] = [
        OptionGroup("Data", [Options.data, Options.imbalanceRatio, Options.imbalanceProfile, Options.classes, Options.augment,
                             Options.dropLast]),
        OptionGroup("Model and loss", [Options.model, Options.loss, Options.classWeights, Options.cbBeta, Options.drwEpoch,
                                       Options.focalGamma, Options.focalScale, Options.ibAlpha, Options.ibStartEpoch,
                                       Options.crlEta, Options.crlKappa, Options.crlMargin, Options.crlRho, Options.crlMining,
                                       Options.margin, Options.scale, Options.subCenters]),
        OptionGroup("Embedding loss", [Options.metricLoss, Options.metricWeight, Options.tripletMargin, Options.posMargin,
                                       Options.negMargin, Options.quadrupletMargin1, Options.quadrupletMargin2, Options.centerAlpha]),
        OptionGroup("Optimisation", [Options.epochs, Options.batchSize, Options.lr, Options.momentum, Options.nesterov,
                                     Options.weightDecay, Options.warmupEpochs, Options.schedule, Options.lrMilestones,
                                     Options.optimizer, Options.seed, Options.maxSteps, Options.syncBatchnorm]),
        running,
    ]

    /// Options of how a run executes, not of what it computes (a resume may change them freely).
    public static let running =
        OptionGroup("Running", [Options.threads, Options.bucketFirstMib, Options.bucketMib, Options.bucketMode, Options.stallTimeout,
                                Options.evalBatchSize, Options.runDir, Options.checkpointEvery, Options.checkpointEverySteps,
                                Options.keepCheckpoints, Options.checkpointLevel])
}
