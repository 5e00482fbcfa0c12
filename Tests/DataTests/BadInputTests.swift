import Foundation
import Testing
import Distributed
@testable import Data

/// Every kind of bad input is a thrown error naming the file, the field or offset, and what was expected.
@Suite struct BadInputTests {
    func loadError(_ f: Fixtures, ratio: Double = 1) -> String? {
        do {
            _ = try Dataset.load(DataConfig(directory: f.directory, imbalanceRatio: ratio), seed: 0, comm: SingleProcessCommunicator())
            return nil
        } catch {
            return String(describing: error)
        }
    }

    @Test func wrongMagicNumber() {
        let f = Fixtures(); defer { f.remove() }
        f.idx()
        var bytes = Fixtures.idxImages(40, 4, 4)
        bytes[3] = 0x01
        f.write("train-images-idx3-ubyte", bytes)
        let message = loadError(f) ?? ""
        #expect(message.contains("train-images-idx3-ubyte") && message.contains("magic number") && message.contains("0x00000803"))
    }

    @Test func truncatedImages() {
        let f = Fixtures(); defer { f.remove() }
        f.idx()
        f.write("train-images-idx3-ubyte", Array(Fixtures.idxImages(40, 4, 4).prefix(300)))
        let message = loadError(f) ?? ""
        #expect(message.contains("train-images-idx3-ubyte") && message.contains("truncated") && message.contains("300"))
    }

    @Test func imagesAndLabelsOfDifferentCounts() {
        let f = Fixtures(); defer { f.remove() }
        f.idx()
        f.write("train-labels-idx1-ubyte", Fixtures.idxLabels((0..<39).map { UInt8($0 % 10) }))
        let message = loadError(f) ?? ""
        #expect(message.contains("40 images") && message.contains("39 labels"))
    }

    @Test func labelOutOfRange() {
        let f = Fixtures(); defer { f.remove() }
        f.idx()
        var labels = (0..<40).map { UInt8($0 % 10) }
        labels[17] = 200
        f.write("train-labels-idx1-ubyte", Fixtures.idxLabels(labels))
        let message = loadError(f) ?? ""
        #expect(message.contains("train-labels-idx1-ubyte") && message.contains("label") && message.contains("200") && message.contains("sample 17"))
    }

    @Test func negativeNumpyLabel() {
        let f = Fixtures(); defer { f.remove() }
        f.write("train_images.npy", Fixtures.npy(descr: "|u1", shape: [3, 2, 2], data: Array(repeating: 1, count: 12)))
        f.write("train_labels.npy", Fixtures.npy(descr: "<i8", shape: [3], data: Fixtures.int64Bytes([0, -1, 1])))
        f.write("test_images.npy", Fixtures.npy(descr: "|u1", shape: [1, 2, 2], data: [1, 2, 3, 4]))
        f.write("test_labels.npy", Fixtures.npy(descr: "|u1", shape: [1], data: [0]))
        let message = loadError(f) ?? ""
        #expect(message.contains("train_labels.npy") && message.contains("label") && message.contains("-1"))
    }

    @Test func classLeftEmptyBySubsampling() {
        let f = Fixtures(); defer { f.remove() }
        f.idx(n: 40)  // 4 per class: ratio 10 (exp) leaves int(4 * 0.1^(6/9)) = 0 first in class 6
        let message = loadError(f, ratio: 10) ?? ""
        #expect(message.contains("class 6") && message.contains("--imbalance-ratio"))
    }

    @Test func brokenGzipStream() {
        let f = Fixtures(); defer { f.remove() }
        f.idx(gzip: true)
        let path = f.path("train-images-idx3-ubyte.gz")
        var bytes = [UInt8](FileManager.default.contents(atPath: path)!)
        for i in 20..<min(60, bytes.count) { bytes[i] ^= 0x5A }
        f.write("train-images-idx3-ubyte.gz", bytes)
        let message = loadError(f) ?? ""
        #expect(message.contains("train-images-idx3-ubyte.gz") && message.contains("gzip"))
        // A .gz cut short.
        f.write("train-images-idx3-ubyte.gz", Array(bytes.prefix(15)))
        let cut = loadError(f) ?? ""
        #expect(cut.contains("train-images-idx3-ubyte.gz") && cut.contains("gzip"))
    }

    @Test func unsupportedNumpyDtypeAndShape() {
        let f = Fixtures(); defer { f.remove() }
        f.write("a.npy", Fixtures.npy(descr: "<f8", shape: [2, 2, 2], data: Array(repeating: 0, count: 64)))
        #expect(throws: DataError.self) { try NPYReader.images(f.path("a.npy")) }
        do { _ = try NPYReader.images(f.path("a.npy")) } catch { #expect("\(error)".contains("a.npy") && "\(error)".contains("dtype")) }
        f.write("b.npy", Fixtures.npy(descr: "|u1", shape: [2, 4], data: Array(repeating: 0, count: 8)))
        do { _ = try NPYReader.images(f.path("b.npy")); Issue.record("2-D images accepted") } catch {
            #expect("\(error)".contains("b.npy") && "\(error)".contains("shape"))
        }
        f.write("c.npy", Fixtures.npy(descr: "<f4", shape: [3], data: Array(repeating: 0, count: 12)))
        do { _ = try NPYReader.labels(f.path("c.npy")); Issue.record("float labels accepted") } catch {
            #expect("\(error)".contains("c.npy") && "\(error)".contains("integer"))
        }
    }

    @Test func unrecognisedDirectory() {
        let f = Fixtures(); defer { f.remove() }
        f.write("something.txt", [1, 2, 3])
        let message = loadError(f) ?? ""
        #expect(message.contains(f.directory) && message.contains("train-images-idx3-ubyte"))
    }
}
