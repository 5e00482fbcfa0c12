import Foundation

/// The files of a layout that messages name.
extension Dataset {
    static func trainImageFile(_ layout: DatasetLayout, shard: Int) -> String {
        switch layout {
        case .idx(let images, _, _, _): return images
        case .cifar10(let batches, _): return batches.joined(separator: ", ")
        case .cifar100(let train, _): return train
        case .npy(let shards, _, _, _): return shards[min(shard, shards.count - 1)].images
        case .imageFolder(_, let train, _, _): return train
        case .imageList(_, let lists): return lists.train
        case .tarShards(let train, _): return train.count == 1 ? train[0] : "\(train[0]) ... (\(train.count) shards)"
        }
    }

    static func testImageFile(_ layout: DatasetLayout) -> String {
        switch layout {
        case .idx(_, _, let images, _): return images
        case .cifar10(_, let test): return test
        case .cifar100(_, let test): return test
        case .npy(_, let images, _, _): return images
        case .imageFolder(_, _, let test, _): return test
        case .imageList(_, let lists): return lists.test
        case .tarShards(_, let test): return test.count == 1 ? test[0] : "\(test[0]) ... (\(test.count) shards)"
        }
    }

    /// The validation images the data holds (`val/` beside `test/`, `--val-list`).
    static func valImageFile(_ layout: DatasetLayout) -> String {
        switch layout {
        case .imageFolder(_, _, _, let val): return val ?? "val"
        case .imageList(_, let lists): return lists.val ?? "--val-list"
        default: return "validation images"
        }
    }

    static func testLabelFile(_ layout: DatasetLayout) -> String {
        switch layout {
        case .idx(_, _, _, let labels): return labels
        case .cifar10(_, let test): return test
        case .cifar100(_, let test): return test
        case .npy(_, _, let labels, _): return labels
        case .imageFolder(_, _, let test, _): return test
        case .imageList(_, let lists): return lists.test
        case .tarShards(_, let test): return test.count == 1 ? test[0] : "\(test[0]) ... (\(test.count) shards)"
        }
    }

    /// The input shape of one sample.
    public var inputShape: (channels: Int, height: Int, width: Int) { (test.channels, test.height, test.width) }
}
