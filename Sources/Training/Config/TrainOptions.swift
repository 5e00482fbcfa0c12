import Data
import Distributed
import Losses
import NN
import Settings

// The train command's options that are not a loss's (those are declared beside their losses).
extension Options {
    // Data
    public var data: Option<String> { Option("data", DatasetLayout.defaultDirectory,
                                             "Data: a directory of IDX (Fashion-MNIST, MNIST), CIFAR-10/100 binary " +
                                             "or NumPy .npy files (also sharded), an image folder " +
                                             "(train/CLASS/*.png|jpg, test/ or val/), or WebDataset tar shards " +
                                             "('shards/train-{00000..00099}.tar', test-*.tar beside them).",
                                             valueName: "dir") }
    public var imageSize: Option<ImageSize?> { Option("image-size", nil,
                                                      "Image folders and tar shards: resize every image to " +
                                                      "H x W (28 or 32x32).",
                                                      defaultText: "the first training image's size; " +
                                                                   "another size is an error", valueName: "HxW") }
    public var channels: Option<Int?> { Option("channels", nil,
                                               "Image folders and tar shards: 1 (grey) or 3 (RGB) channels.",
                                               defaultText: "the first training image's",
                                               check: OptionCheck { $0 == 1 || $0 == 3
                                               ? nil : "must be 1 or 3, got \($0)" }.whenSet) }
    public var cache: Option<String?> { Option("cache", nil,
                                               "Image folders and tar shards: where the decoded images are kept, so " +
                                               "that later runs do not decode again.",
                                               defaultText: "RUNDIR/../.image-cache", valueName: "dir") }
    public var imbalanceRatio: Option<Double> { Option("imbalance-ratio", 100.0,
                                                       "Largest over smallest class size after sub-sampling the " +
                                                       "training set (1 = as given).", check: .atLeast(1)) }
    public var imbalanceProfile: Option<ImbalanceProfile> { Option("imbalance-profile", ImbalanceProfile.exp,
                                                                   "Long-tail profile.") }
    public var classes: Option<Int?> { Option("classes", nil, "Number of classes.",
                                              defaultText: "10 for IDX and CIFAR-10, 100 for CIFAR-100, largest " +
                                                           "label + 1 for NumPy",
                                              check: OptionCheck.range(2, Dataset.maxClasses).whenSet) }
    public var augment: Option<Bool> { Option("augment", false,
                                              "Random crop and horizontal flip of training images, seeded by the " +
                                              "seed, the epoch and the sample: below 64 px (the smaller side) a " +
                                              "crop with 4-pixel padding; from 64 px torchvision's " +
                                              "RandomResizedCrop, the evaluated images then resized to 8/7 and " +
                                              "centre-cropped.") }
    public var dropLast: Option<Bool> { Option("drop-last", false,
                                               "Drop each epoch's last incomplete global batch (by default it " +
                                               "is taken, smaller).") }
    public var holdoutClasses: Option<ClassList?> { Option("holdout-classes", nil,
                                                           "Classes kept out of training (7,8,9): the model learns " +
                                                           "the others; retrieval on the held-out classes' test " +
                                                           "images (unseen_precision_at_1, unseen_r_precision, " +
                                                           "unseen_map_at_r) measures how its features serve " +
                                                           "classes it never saw.", valueName: "classes") }
    public var padToWorldSize: Option<Bool> { Option("pad-to-world-size", false,
                                                     "Pad each epoch by wrapping to a multiple of the world size, as " +
                                                     "PyTorch's DistributedSampler: a few samples are seen twice per " +
                                                     "epoch, so whole epochs depend on the number of ranks.") }
    // Model and class weights
    public var model: Option<Architecture> {
        Option("model", Architecture.mlp,
               "Model: mlp, cnn, resnet32 (the CIFAR ResNet-32), or torchvision's resnet10, resnet18, resnet34, " +
               "resnet50, resnext50_32x4d (its parameter names: --init-from reads its state_dict).")
    }
    public var stem: Option<Stem> {
        Option("stem", Stem.auto,
               "The torchvision ResNets' first layers: imagenet (7x7 stride-2 convolution, 3x3 max pool) or cifar " +
               "(3x3 stride-1 convolution, no pool); auto: imagenet for images of 64 px and more.")
    }
    public var initFrom: Option<String?> { Option("init-from", nil,
                                                  "Start from the weights of a .safetensors file (final.safetensors, " +
                                                  "or PyTorch's with the same names and shapes); a checkpoint found " +
                                                  "by --resume takes precedence.", valueName: "file") }
    // Optimisation
    public var epochs: Option<Int> { Option("epochs", 30, "Epochs.", check: .range(1, 1_000_000)) }
    public var batchSize: Option<Int> { Option("batch-size", 128, "Global batch size (split over the ranks).",
                                               check: .range(1, TrainConfig.maxBatchSize)) }
    public var lr: Option<Double> { Option("lr", 0.1, "Base learning rate.", check: .positive) }
    public var momentum: Option<Double> { Option("momentum", 0.9, "SGD momentum.",
                                                 check: OptionCheck { $0 >= 0 && $0 < 1
                                                 ? nil : "must be in [0, 1), got \($0)" }) }
    public var nesterov: Option<Bool> { Option("nesterov", false, "Nesterov momentum.") }
    public var weightDecay: Option<Double> { Option("weight-decay", 2e-4, "Weight decay.", check: .atLeast(0)) }
    public var warmupEpochs: Option<Int> { Option("warmup-epochs", 5, "Epochs of linear learning-rate warm-up.",
                                                  check: .range(0, 1_000_000)) }
    public var schedule: Option<ScheduleKind> { Option("schedule", ScheduleKind.ibPaper, "Learning-rate schedule.") }
    public var lrMilestones: Option<[Int]?> { Option("lr-milestones", nil,
                                                     "Epochs where the step schedule multiplies the rate by 0.1.",
                                                     defaultText: "50% and 75% of the epochs",
                                                     check: OptionCheck { $0.allSatisfy { $0 >= 0 }
                                                     ? nil : "must not be negative, got \($0)" }.whenSet) }
    public var optimizer: Option<OptimizerKind> { Option("optimizer", OptimizerKind.sgd, "Optimiser.") }
    public var seed: Option<Int> { Option("seed", 0,
                                          "Random seed (initialisation, sub-sampling, shuffling, augmentation).",
                                          check: .atLeast(0)) }
    public var dataSeed: Option<Int?> { Option("data-seed", nil,
                                               "Seed of the data's selection: the long-tail sub-sampling and " +
                                               "the validation split.", defaultText: "--seed; 0 with --subset ldam",
                                               check: OptionCheck.atLeast(0).whenSet) }
    public var maxSteps: Option<Int?> { Option("max-steps", nil,
                                               "Stop after this many optimiser steps in total (a normal end of the " +
                                               "run; 0 writes the initial weights).",
                                               check: OptionCheck.atLeast(0).whenSet) }
    public var syncBatchnorm: Option<Bool> { Option("sync-batchnorm", false,
                                                    "Batch-norm statistics summed over all ranks in training.") }
    // Running
    public var threads: Option<Int?> { Option("threads", nil, "BLAS threads per rank.",
                                              defaultText: "cores on this host / ranks on this host",
                                              check: OptionCheck.range(1, 4096).whenSet) }
    public var bucketFirstMib: Option<Double> { Option("bucket-first-mib", 1.0,
                                                       "Size of the first gradient bucket in MiB (sent as soon as " +
                                                       "the last layers are done); at most a quarter of the " +
                                                       "gradients.") }
    public var bucketMib: Option<Double> { Option("bucket-mib", 25.0,
                                                  "Size of the other gradient buckets in MiB; at most a " +
                                                  "quarter of the gradients.") }
    public var precision: Option<Precision> { Option("precision", Precision.fp32,
                                                     "Arithmetic of the convolutions in training: fp32; bf16 " +
                                                     "(oneDNN's bfloat16 convolutions, float32 accumulation and " +
                                                     "master weights) for each convolution and pass where it is " +
                                                     "faster than fp32 on this CPU, measured before training on " +
                                                     "rank 0 and recorded as --conv-precision (needs AVX-512); " +
                                                     "auto: bf16's choice where the CPU has AVX512_BF16 or AMX, " +
                                                     "fp32 elsewhere. eval, explain and export compute in fp32.") }
    public var convPrecision: Option<ConvolutionPrecisionPlan?> {
        Option("conv-precision", nil,
               "Under --precision bf16 or auto: which passes of which convolutions run bfloat16, as " +
               "config.json records the measured choice (NAME:FDW,..., F D W each b or f for forward, " +
               "backward data, backward weights; none: float32 throughout).",
               defaultText: "measured before training; a resumed run keeps its checkpoint's",
               valueName: "plan")
    }
    public var gradCompression: Option<GradientCompression> { Option("grad-compression", GradientCompression.none,
                                                                     "Gradients on the wire: none (float32), bf16 or " +
                                                                     "fp16 (rounded to 16 bits, summed in 16 bits, " +
                                                                     "widened: half the bytes, as PyTorch DDP's " +
                                                                     "compression hooks; one rank rounds too).") }
    public var profile: Option<Bool> { Option("profile", false,
                                              "Time where each epoch goes (steps, evaluation, retrieval, clusters, " +
                                              "checkpoint, logging): a line per epoch and a \"profile\" " +
                                              "object in metrics.jsonl.") }
    public var bucketMode: Option<BucketMode> { Option("bucket-mode", BucketMode.auto,
                                                       "Gradient buckets: overlap (non-blocking all-reduces during " +
                                                       "backward), blocking (one all-reduce as each bucket is " +
                                                       "ready), auto (blocking on one host, overlap across hosts).") }
    public var convBackend: Option<ConvolutionBackend> { Option("conv-backend", ConvolutionBackend.auto,
                                                                "Convolutions: onednn (oneDNN's direct convolutions; " +
                                                                "Winograd from 32 channels on AVX-512), im2col " +
                                                                "(unfolding and OpenBLAS sgemm, the reference), auto " +
                                                                "(onednn when libdnnl.so.2 is found). config.json " +
                                                                "records the one used.") }
    public var stallTimeout: Option<Double?> { Option("stall-timeout", nil,
                                                      "End the job (every rank, with a message) when no training " +
                                                      "step or evaluation batch completes for this many seconds: a " +
                                                      "stopped or deadlocked rank, an unreachable host. 0 = never.",
                                                      defaultText: "\(Int(TrainConfig.defaultStallTimeout))",
                                                      check: OptionCheck {
                                                          $0 >= 0 && $0 <= 1e7 ? nil
                                                              : "must be in 0...10000000 seconds (0: never), got \($0)"
                                                      }.whenSet) }
    public var retrievalEvery: Option<Int> { Option("retrieval-every", 1,
                                                    "Measure retrieval (precision@1, R-precision, MAP@R; the " +
                                                    "held-out classes' too) and clusters (NMI, AMI) of the test " +
                                                    "features every this many epochs and after the last (0: never); " +
                                                    "they take about half of a default epoch.", check: .atLeast(0)) }
    public var evalBatchSize: Option<Int?> { Option("eval-batch-size", nil,
                                                    "Test samples per rank and forward pass in evaluation.",
                                                    defaultText: "the rank's training batch, which keeps memory at " +
                                                                 "what training needs",
                                                    check: OptionCheck.range(1,
                                                                             TrainConfig.maxBatchSize).whenSet) }
    public var runDir: Option<String> { Option("run-dir", "", "Run directory.", defaultText: "runs/<date-time>",
                                               valueName: "dir") }
    public var checkpointEvery: Option<Int> { Option("checkpoint-every", 1,
                                                     "Write a checkpoint every this many epochs (0 = only at the end).",
                                                     check: .atLeast(0)) }
    public var checkpointEverySteps: Option<Int?> { Option("checkpoint-every-steps", nil,
                                                           "Also write a checkpoint every this many optimiser steps.",
                                                           check: OptionCheck.atLeast(1).whenSet) }
    public var keepCheckpoints: Option<Int> { Option("keep-checkpoints", 3, "Checkpoints kept in the run directory.",
                                                     check: .range(1, 1_000_000)) }
    public var reportExplanations: Option<Bool> { Option("report-explanations", true,
                                                         "At the end, explain the final model's misclassified test " +
                                                         "images of the two worst classes (Grad-CAM; saliency for " +
                                                         "the mlp) in report.html and RUNDIR/explanations/.") }
    public var tensorboard: Option<Bool> { Option("tensorboard", true,
                                                  "Write TensorBoard scalars per epoch to " +
                                                  "RUNDIR/tensorboard/events.out.tfevents.* " +
                                                  "(tensorboard --logdir runs/).") }
    public var checkpointLevel: Option<Int> { Option("checkpoint-level", 3, "zstd level of checkpoints (1-19).",
                                                     check: .range(1, 19)) }
}

/// The train command's options in `--help` order: the list `TrainConfig` codes and parses. The
/// losses' options come from their specs (`LossKind.allOptions`, `EmbeddingLossKind.allOptions`).
public enum TrainOptions {
    public static let groups: [OptionGroup] = [
        OptionGroup("Data",
                    [Options().data, Options().imageSize, Options().channels, Options().cache, Options().imbalanceRatio,
                     Options().imbalanceProfile, Options().classes, Options().augment, Options().autoAugment,
                     Options().randAugment, Options().cutout,
                     Options().mixup, Options().cutmix,
                     Options().dropLast, Options().padToWorldSize, Options().holdoutClasses, Options().valSplit,
                     Options().subset, Options().dataSeed, Options().trainList, Options().valList,
                     Options().testList, Options().normalization]),
        OptionGroup("Sampling", [Options().sampler, Options().samplerM, Options().drsEpoch]),
        OptionGroup("Second stage",
                    [Options().stage2, Options().stage2Epochs, Options().stage2LR, Options().stage2Loss]),
        OptionGroup("Model and loss",
                    [Options().model, Options().stem, Options().initFrom, Options().loss, Options().classWeights,
                     Options().cbBeta, Options().drwEpoch] + LossKind.allOptions),
        OptionGroup("Evaluation",
                    [Options().posthocTau, Options().tauNorm, Options().shotThresholds, Options().selectBy]),
        OptionGroup("Embedding loss",
                    [Options().embeddingLoss, Options().embeddingWeight] + EmbeddingLossKind.allOptions),
        OptionGroup("Optimisation",
                    [Options().epochs, Options().batchSize, Options().lr, Options().momentum, Options().nesterov,
                     Options().weightDecay, Options().warmupEpochs, Options().schedule,
                     Options().lrMilestones,
                     Options().optimizer, Options().seed, Options().maxSteps, Options().syncBatchnorm,
                     Options().gradCompression]),
        running,
    ]

    /// Options of how a run executes, not of what it computes (a resume may change them freely).
    public static let running =
        OptionGroup("Running",
                    [Options().threads, Options().bucketFirstMib, Options().bucketMib, Options().bucketMode,
                     Options().convBackend, Options().precision, Options().convPrecision, Options().stallTimeout,
                     Options().evalBatchSize, Options().retrievalEvery, Options().runDir,
                     Options().checkpointEvery, Options().checkpointEverySteps,
                     Options().keepCheckpoints, Options().checkpointLevel, Options().reportExplanations,
                     Options().tensorboard, Options().profile])
}
