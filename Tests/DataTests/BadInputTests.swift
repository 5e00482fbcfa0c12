import Foundation
import Testing
import Distributed
@testable import Data

/// Every kind of bad input is a thrown error naming the file, the field or offset, and what was expected.
@Suite struct BadInputTests {
    func loadError(_ f: Fixtures, ratio: Double = 1) -> String? {
        do {
            _ = try Dataset.load(DataConfig(directory: f.directory, imbalanceRatio: ratio), seed: 0,
                                 comm: SingleProcessCommunicator())
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
        #expect(message.contains("train-images-idx3-ubyte") && message.contains("magic number")
            && message.contains("0x00000803"))
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
        #expect(message.contains("train-labels-idx1-ubyte") && message.contains("label") && message.contains("200")
            && message.contains("sample 17"))
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
        do { _ = try NPYReader.images(f.path("a.npy")) } catch { #expect("\(error)".contains("a.npy")
            && "\(error)".contains("dtype")) }
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

    /// Size fields that would overflow or exceed the file are refused by name before any
    /// arithmetic or allocation: rows = cols = 2^31, a count of 2^32 - 1, a negative, an
    /// overflowing and a non-integer .npy dimension.
    @Test func sizeFieldsAreCheckedBeforeUse() throws {
        let f = Fixtures()
        defer { f.remove() }
        func idx(count: UInt32, rows: UInt32, cols: UInt32) -> [UInt8] {
            var b: [UInt8] = [0, 0, 8, 3]
            for v in [count, rows,
                      cols] { b += [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
            return b + [UInt8](repeating: 7, count: 64)
        }
        for (n, h, w) in [(UInt32(1), UInt32(1) << 31, UInt32(1) << 31), (UInt32.max, 28, 28),
                          (UInt32.max, UInt32.max, UInt32.max), (2, 8, 8)] {
            let path = f.path("images-\(n)-\(h)")
            f.write("images-\(n)-\(h)", idx(count: n, rows: h, cols: w))
            do {
                _ = try IDXReader.images(path)
                Issue.record("accepted \(n) x \(h) x \(w) images in 64 bytes")
            } catch {
                #expect("\(error)".contains(path)
                    && ("\(error)".contains("image count and size") || "\(error)".contains("truncated")), "\(error)")
            }
        }
        f.write("fits", idx(count: 1, rows: 8, cols: 8))
        #expect(try IDXReader.images(f.path("fits")).count == 1)
        func npy(_ shape: String) -> [UInt8] {
            var header = "{'descr': '|u1', 'fortran_order': False, 'shape': \(shape), }"
            while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
            header += "\n"
            let n = header.utf8.count
            return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(n & 0xFF),
                                                   UInt8(n >> 8)] + Array(header.utf8) + [UInt8](repeating: 1,
                                                                                                 count: 16)
        }
        for shape in ["(-1, 4)", "(4, -4)", "(4611686018427387904, 4)", "(100000000000000000000000000, 1)", "(2, 2.5)",
                      "(3037000500, 3037000500)", "(17,)"] {
            let path = f.path("bad\(shape.count).npy")
            f.write("bad\(shape.count).npy", npy(shape))
            do {
                _ = try NPYReader.read(path)
                Issue.record("accepted shape \(shape)")
            } catch {
                #expect("\(error)".contains(path) && ("\(error)".contains("shape") || "\(error)".contains("truncated")),
                        "\(shape): \(error)")
            }
        }
        f.write("good.npy", npy("(4, 4)"))
        #expect(try NPYReader.read(f.path("good.npy")).shape == [4, 4])
    }
}
