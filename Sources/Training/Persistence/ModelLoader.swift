import Checkpoint
import Data
import Distributed
import Foundation
import NN

/// A trained model ready to use: its weights, what it needs of the data, its test split.
public struct LoadedModel {
    public var model: Model
    /// The checkpoint's configuration; for a safetensors file, the defaults with its model.
    public var config: TrainConfig
    /// Classes, their names, the normalisation, the training counts.
    public var statistics: DataStatistics
    /// The test split, normalised as in training by `statistics`.
    public var test: Split
    /// The global training class counts (the card's, or the training set's for older files).
    public var trainCounts: [Int]
    /// The test images of the classes held out of training (`--holdout-classes`), if any.
    public var unseenTest: Split?

    public init(model: Model, config: TrainConfig, statistics: DataStatistics, test: Split, trainCounts: [Int],
                unseenTest: Split? = nil) {
        self.unseenTest = unseenTest
        self.model = model
        self.config = config
        self.statistics = statistics
        self.test = test
        self.trainCounts = trainCounts
    }
}

/// Models for every command: a fresh one for training, or a trained one from a checkpoint or a
/// `.safetensors` file for `eval`, `explain` and the rest (collective: every rank returns the
/// same model, errors end every rank alike). Nobody builds a Trainer to get a model.
public enum ModelLoader {
    /// The model `config` trains on `dataset`, initialised from the seed (or `--init-from`), with
    /// rank 0's parameters and buffers on every rank.
    /// A classifier of another shape in `--init-from`'s file (other classes) is left at its
    /// initial values, and `log` says so.
    public static func fresh(_ config: TrainConfig, dataset: Dataset, comm: Communicator, log: Log? = nil) throws
        -> Model {
        let shape = InputShape(channels: dataset.test.channels, height: dataset.test.height, width: dataset.test.width)
        guard min(shape.height, shape.width) >= config.model.minimumSide else {
            throw CollectiveFailure(rank: 0,
                                    message: "\(config.data): images are \(shape.height) x \(shape.width); --model " +
                                             "\(config.model.rawValue) needs at least \(config.model.minimumSide) x " +
                                             "\(config.model.minimumSide)")
        }
        let model = Model.make(config.model, inputShape: shape, classes: dataset.classes, seed: UInt64(config.seed),
                               head: config.head, convolutions: config.convBackend, precision: config.precision,
                               classScales: config.classScales, stem: config.stem)
        if let path = config.initFrom {
            let rank = comm.rank
            let leftOut = try comm.agree {
                rank == 0 ? try ModelWeights.load(path, into: model, otherClassifier: true) : []
            }
            if !leftOut.isEmpty {
                log?.info("--init-from \(path): the classifier is for other classes; left out, trained from its " +
                          "initial values: \(leftOut.joined(separator: ", "))")
            }
        }
        // Same start everywhere: rank 0's initial parameters and buffers (or --init-from's).
        try comm.broadcast(model.parameters.valueBuffer)
        try comm.broadcast(model.buffers.valueBuffer)
        return model
    }

    /// A checkpoint (its configuration names the model and the data) or a `.safetensors` file
    /// (the model from `architecture` or its metadata). With the model's card only the test files
    /// are read; without one, the data as in training. Batch-norm statistics are the mean of the
    /// checkpoint's ranks'.
    /// - data: another data directory than the file's
    /// - testList: a list file of the test images under the data directory (`--test-list`)
    /// - cardless: what a `.safetensors` file without a card is assumed to hold (`CardlessModel`)
    public static func load(_ path: String, data: String? = nil, testList: String? = nil,
                            cardless: CardlessModel = CardlessModel(), comm: Communicator,
                            log: Log) throws -> LoadedModel {
        path.hasSuffix(".safetensors")
            ? try safetensors(path, data: data, testList: testList, cardless: cardless, comm: comm)
            : try checkpoint(path, data: data, testList: testList, comm: comm, log: log)
    }

    static func checkpoint(_ path: String, data: String?, testList: String?, comm: Communicator,
                           log: Log) throws -> LoadedModel {
        guard let found = try CheckpointReading.read([path], skipDamaged: false, comm: comm, log: log) else {
            throw CheckpointError.invalid(path: path, reason: "not found")
        }
        let state = found.state
        var config = state.config
        if let data { config.data = data }
        if let testList { config.testList = testList }
        config.convBackend = config.convolutionBackend(log: log)
        let dataset = try state.card.map { try Dataset.load(config.dataConfig, known: $0.data, comm: comm) }
            ?? Dataset.load(config.dataConfig, seed: config.dataSelectionSeed, comm: comm)
        let shape = InputShape(channels: dataset.test.channels, height: dataset.test.height, width: dataset.test.width)
        let model = Model.make(config.model, inputShape: shape, classes: dataset.classes, seed: 0, head: config.head,
                               convolutions: config.convBackend, classScales: config.classScales, stem: config.stem)
        try comm.agree {
            guard let c = found.contents else { return }
            try CheckpointModel.validate(c, model: model, worldSize: state.worldSize, saved: state.config.model,
                                         wanted: config.model, path: path)
            CheckpointModel.loadParameters(c, into: model)
        }
        try comm.broadcast(model.parameters.valueBuffer)
        // The mean over the checkpoint's ranks, as training's final evaluation takes it.
        try CheckpointModel.restoreBuffers(found.contents, model: model, savedWorldSize: state.worldSize, ownRank: nil,
                                           comm: comm)
        let counts = state.card?.data.trainCounts ?? dataset.counts
        return LoadedModel(model: model, config: config, statistics: dataset.statistics(trainCounts: counts),
                           test: dataset.test,
                           trainCounts: counts, unseenTest: dataset.unseenTest)
    }

    /// The model from `cardless.model` or the file's metadata; its card (metadata) gives the
    /// classes, their names and the normalisation; without one (another program's file) they
    /// come from `cardless` and the data's training split as given.
    static func safetensors(_ path: String, data: String?, testList: String?, cardless: CardlessModel,
                            comm: Communicator) throws -> LoadedModel {
        let architecture = cardless.model
        let (tensors, metadata) = try comm.agree { try SafeTensors.readWithMetadata(path) }
        let card = try comm.agree { () throws -> ModelCard? in
            let card = try ModelCard.from(metadata: metadata, path: path, architecture: architecture)
            if let card, let conflict = cardless.conflict(with: card, path: path) { throw DataError.mismatch(conflict) }
            return card
        }
        let model = try comm.agree {
            guard let a = architecture ?? card?.model ?? metadata["model"].flatMap(Architecture.init(rawValue:)) else {
                throw DataError.mismatch("\(path): the file does not say which model it holds (no \"model\" in its " +
                                         "metadata): give --model")
            }
            return a
        }
        var config = TrainConfig()
        config.model = model
        if let data { config.data = data }
        config.testList = testList
        if card == nil {
            // The model's training set is unknown: the data's as given gives the counts (shot
            // groups) and, with --normalization dataset, the mean and deviation.
            config.imbalanceRatio = 1
            config.classes = cardless.classes
            config.normalization = cardless.normalization ?? .dataset
            config.imageSize = cardless.imageSize
        }
        let dataset = try card.map { try Dataset.load(config.dataConfig, known: $0.data, comm: comm) }
            ?? Dataset.load(config.dataConfig, seed: 0, comm: comm)
        let shape = InputShape(channels: dataset.test.channels, height: dataset.test.height, width: dataset.test.width)
        // A cosine head (`head.W`, D x K*S; the card says S) or the architecture's linear layer.
        var head = card?.parsedHead ?? .linear
        if card == nil, let w = tensors["head.W"], w.shape.count == 2, dataset.classes > 0,
            w.shape[1] % dataset.classes == 0 {
            head = .cosine(subCenters: w.shape[1] / dataset.classes)
        }
        let built = Model.make(model, inputShape: shape, classes: dataset.classes, seed: 0, head: head,
                               stem: card?.stem ?? .auto)
        try comm.agree { try ModelWeights.load(path, tensors: tensors, into: built) }
        let counts = card?.data.trainCounts ?? dataset.counts
        return LoadedModel(model: built, config: config, statistics: dataset.statistics(trainCounts: counts),
                           test: dataset.test,
                           trainCounts: counts)
    }
}
