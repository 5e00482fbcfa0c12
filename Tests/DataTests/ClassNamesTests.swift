import Distributed
import Foundation
import Testing
@testable import Data

/// Class names come from the data directory; a model's `DataStatistics` let its test set be
/// read without the training files.
@Suite struct ClassNamesTests {
    @Test func namesFileGivesOneNamePerClass() throws {
        let f = Fixtures()
        defer { f.remove() }
        f.idx(classes: 3)
        #expect(try ClassNames.find(in: f.directory, layout: DatasetLayout.detect(in: f.directory), classes: 3) == nil)
        f.write("classes.txt", Array("  cat \n dog\r\n\nbird\n".utf8))
        #expect(try ClassNames.find(in: f.directory, layout: DatasetLayout.detect(in: f.directory),
                                    classes: 3) == ["cat", "dog", "bird"])
        let c = Fixtures()
        defer { c.remove() }
        c.idx(classes: 3)
        c.write("classes.txt", Array("cat\ndog\n".utf8))
        do {
            _ = try Dataset.load(DataConfig(directory: c.directory, imbalanceRatio: 1, classes: 3), seed: 0,
                                 comm: SingleProcessCommunicator())
            Issue.record("2 names for 3 classes accepted")
        } catch {
            #expect("\(error)".contains(c.path("classes.txt")) && "\(error)".contains("3 lines")
                && "\(error)".contains("2 names"), "\(error)")
        }
    }

    @Test func cifarAndFashionNames() throws {
        let f = Fixtures()
        defer { f.remove() }
        let names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
        f.write("batches.meta.txt", Array((names.joined(separator: "\n") + "\n\n").utf8))
        #expect(try ClassNames.find(in: f.directory, layout: .cifar10(train: [], test: ""), classes: 10) == names)
        let idx = DatasetLayout.idx(trainImages: "", trainLabels: "", testImages: "", testLabels: "")
        #expect(try ClassNames.find(in: "/data/Fashion-MNIST", layout: idx, classes: 10) == ClassNames.fashionMNIST)
        #expect(try ClassNames.find(in: "/data/mnist", layout: idx, classes: 10) == nil)
    }

    @Test func knownStatisticsReadTheTestFilesAlone() throws {
        let f = Fixtures()
        defer { f.remove() }
        f.idx(classes: 10)
        for name in ["train-images-idx3-ubyte",
                     "train-labels-idx1-ubyte"] { try FileManager.default.removeItem(atPath: f.path(name)) }
        let known = DataStatistics(inputShape: [1, 4, 4], classes: 10, classNames: nil, mean: [0.5], std: [0.25],
                                   trainCounts: Array(repeating: 7, count: 10))
        let config = DataConfig(directory: f.directory)
        let d = try Dataset.load(config, known: known, comm: SingleProcessCommunicator())
        #expect(d.test.count == 10 && d.train.count == 0 && d.counts == known.trainCounts && d.statistics() == known)
        var wrong = known
        wrong.inputShape = [3, 32, 32]
        #expect(throws: (any Error).self) { try Dataset.load(config, known: wrong, comm: SingleProcessCommunicator()) }
        wrong = known
        wrong.std = [0]
        #expect(wrong.problem != nil)
        wrong = known
        wrong.classNames = ["a"]
        #expect(wrong.problem != nil)
    }
}
