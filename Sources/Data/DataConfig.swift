/// What to load and how to make it long-tailed.
public struct DataConfig: Codable, Sendable, Equatable {
    /// The `--data` directory; its layout is recognised from its files.
    public var directory: String = DatasetLayout.defaultDirectory
    /// `--imbalance-ratio R`: largest over smallest class size after sub-sampling (1 = as given).
    public var imbalanceRatio: Double = 100
    public var imbalanceProfile: ImbalanceProfile = .exp
    /// Number of classes; nil: 10 for IDX and CIFAR-10, 100 for CIFAR-100, max label + 1 for NumPy.
    public var classes: Int?
    /// `--augment`: random crops and flips of the training images (`Augmentation`); from 64 px
    /// it also resizes and centre-crops the evaluated images.
    public var augment: Bool = false
    /// Drop the last incomplete global batch of each epoch instead of padding by wrapping.
    public var dropLast: Bool = false
    /// `--holdout-classes`: classes left out of training (`Holdout`), none when empty.
    public var holdout: [Int] = []
    /// Image folders and tar shards: `--image-size` (height, width) to resize every image to,
    /// `--channels` (1 or 3) to convert to; nil: the first training image's.
    public var imageSize: [Int]?
    public var channels: Int?
    /// Where decoded image sets are kept for later runs (nil: decoded each time).
    public var cache: String?
    /// `--val-split`: the validation split taken out of the training set, none when nil.
    public var validation: ValidationSplit?
    /// `--subset`: the training samples (LDAM-DRW's or a file's) instead of the own selection.
    public var subset: TrainingSubset?
    /// `--train-list`, `--val-list`, `--test-list`: images under `directory` named by list files.
    public var lists: ImageLists?
    /// `--normalization`: the training set's statistics, ImageNet's, or none.
    public var normalization: NormalizationKind = .dataset

    public init(directory: String = DatasetLayout.defaultDirectory, imbalanceRatio: Double = 100,
                imbalanceProfile: ImbalanceProfile = .exp, classes: Int? = nil, augment: Bool = false,
                dropLast: Bool = false,
                holdout: [Int] = [], imageSize: [Int]? = nil, channels: Int? = nil, cache: String? = nil,
                validation: ValidationSplit? = nil, subset: TrainingSubset? = nil, lists: ImageLists? = nil) {
        self.lists = lists
        self.subset = subset
        self.validation = validation
        self.imageSize = imageSize
        self.channels = channels
        self.cache = cache
        self.directory = directory
        self.imbalanceRatio = imbalanceRatio
        self.imbalanceProfile = imbalanceProfile
        self.classes = classes
        self.augment = augment
        self.dropLast = dropLast
        self.holdout = holdout
    }
}
