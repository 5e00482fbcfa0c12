import Foundation
import Testing
import Distributed
@testable import Data

@Suite struct ReaderTests {
    @Test func idxRawAndGzipReadTheSame() throws {
        let raw = Fixtures(), gz = Fixtures("gz")
        defer { raw.remove(); gz.remove() }
        raw.idx()
        gz.idx(gzip: true)
        let a = try DatasetLayout.detect(in: raw.directory), b = try DatasetLayout.detect(in: gz.directory)
        guard case .idx(let ai, let al, _, _) = a,
            case .idx(let bi, let bl, _, _) = b else { Issue.record("not IDX"); return }
        #expect(bi.hasSuffix(".gz"))
        let sa = try IDXReader.split(images: ai, labels: al), sb = try IDXReader.split(images: bi, labels: bl)
        #expect(sa.count == 40 && sa.height == 4 && sa.width == 4 && sa.channels == 1)
        #expect(sa.labels == sb.labels)
        guard case .bytes(let pa) = sa.pixels,
            case .bytes(let pb) = sb.pixels else { Issue.record("not bytes"); return }
        #expect(pa == pb)
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: DatasetLayout.defaultDirectory),
                   "the real Fashion-MNIST is not installed (dataset-fashion-mnist; launch/setup.sh installs it)"))
    func realFashionMNIST() throws {
        let data = try Dataset.load(DataConfig(imbalanceRatio: 1), seed: 0, comm: SingleProcessCommunicator())
        #expect(data.train.count == 60000 && data.test.count == 10000)
        #expect(data.originalCounts == Array(repeating: 6000, count: 10))
        #expect(abs(data.mean[0] - 0.2860) < 1e-3 && abs(data.std[0] - 0.3530) < 1e-3)
        let lt = try Dataset.load(DataConfig(imbalanceRatio: 100), seed: 0, comm: SingleProcessCommunicator())
        #expect(lt.counts == [6000, 3596, 2156, 1292, 774, 464, 278, 166, 100, 60])
        #expect(lt.train.classCounts(classes: 10) == lt.counts)
        let step = try Dataset.load(DataConfig(imbalanceRatio: 10, imbalanceProfile: .step), seed: 0,
                                    comm: SingleProcessCommunicator())
        #expect(step.counts == [6000, 6000, 6000, 6000, 6000, 600, 600, 600, 600, 600])
    }

    @Test func cifarBinaryBatches() throws {
        let f = Fixtures()
        defer { f.remove() }
        func batch(_ n: Int, labelBytes: Int, offset: Int) -> [UInt8] {
            var out: [UInt8] = []
            for i in 0..<n {
                if labelBytes == 2 { out.append(0) }
                out.append(UInt8((i + offset) % 10))
                for j in 0..<3072 { out.append(UInt8((j + i) % 256)) }
            }
            return out
        }
        for b in 1...5 { f.write("data_batch_\(b).bin", batch(4, labelBytes: 1, offset: 4 * (b - 1))) }
        f.write("test_batch.bin", batch(3, labelBytes: 1, offset: 0))
        let data = try Dataset.load(DataConfig(directory: f.directory, imbalanceRatio: 1), seed: 0,
                                    comm: SingleProcessCommunicator())
        #expect(data.layout.name == "cifar10" && data.classes == 10)
        #expect(data.train.count == 20 && data.train.channels == 3 && data.train.height == 32)
        #expect(data.train.labels.prefix(6) == [0, 1, 2, 3, 4, 5])
        guard case .bytes(let p) = data.train.pixels else { Issue.record("bytes"); return }
        #expect(p[3072 + 5] == 6)  // second image, pixel 5: (5 + 1) % 256
        #expect(data.counts == Array(repeating: 2, count: 10))
    }

    @Test func numpyArrays() throws {
        let f = Fixtures()
        defer { f.remove() }
        let n = 12
        let floats = (0..<(n * 2 * 3 * 3)).map { Float($0) / 100 }
        let floatBytes = floats.flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } }
        f.write("train_images.npy", Fixtures.npy(descr: "<f4", shape: [n, 2, 3, 3], data: floatBytes))
        f.write("train_labels.npy",
                Fixtures.npy(descr: "<i8", shape: [n], data: Fixtures.int64Bytes((0..<n).map { $0 % 3 })))
        f.write("test_images.npy",
                Fixtures.npy(descr: "|u1", shape: [2, 2, 3, 3], data: Array(repeating: 7, count: 36)))
        f.write("test_labels.npy", Fixtures.npy(descr: "|u1", shape: [2], data: [0, 2]))
        let train = try NPYReader.split(images: f.path("train_images.npy"), labels: f.path("train_labels.npy"))
        #expect(train.channels == 2 && train.height == 3 && train.count == n)
        #expect(train.labels == (0..<n).map { Int32($0 % 3) })
        #expect(train.value(1, 0) == floats[18])
        let test = try NPYReader.split(images: f.path("test_images.npy"), labels: f.path("test_labels.npy"))
        #expect(test.channels == 2 && abs(test.value(1, 8) - 7.0 / 255) < 1e-7)
        let data = try Dataset.load(DataConfig(directory: f.directory, imbalanceRatio: 1), seed: 0,
                                    comm: SingleProcessCommunicator())
        #expect(data.classes == 3 && data.layout.name == "npy")
        // Test images of another shape than the training images are refused, naming both files.
        f.write("test_images.npy", Fixtures.npy(descr: "|u1", shape: [2, 3, 3], data: Array(repeating: 7, count: 18)))
        do {
            _ = try Dataset.load(DataConfig(directory: f.directory, imbalanceRatio: 1), seed: 0,
                                 comm: SingleProcessCommunicator())
            Issue.record("test images of another shape accepted")
        } catch {
            #expect("\(error)".contains("train_images.npy") && "\(error)".contains("test_images.npy")
                && "\(error)".contains("2 x 3 x 3"), "\(error)")
        }
    }

    @Test func shardedNumpyLayout() throws {
        let f = Fixtures()
        defer { f.remove() }
        for s in 0..<3 {
            f.write("train_images-0000\(s).npy",
                    Fixtures.npy(descr: "|u1", shape: [4, 2, 2], data: Array(repeating: UInt8(s), count: 16)))
            f.write("train_labels-0000\(s).npy",
                    Fixtures.npy(descr: "<i8", shape: [4], data: Fixtures.int64Bytes([0, 1, 1, s])))
        }
        f.write("test_images.npy", Fixtures.npy(descr: "|u1", shape: [1, 2, 2], data: [1, 2, 3, 4]))
        f.write("test_labels.npy", Fixtures.npy(descr: "|u1", shape: [1], data: [0]))
        guard case .npy(let shards, _, _, let sharded) = try DatasetLayout.detect(in: f.directory) else {
            Issue.record("not npy")
            return
        }
        #expect(sharded && shards.count == 3)
        // One process reads every shard: the class counts are the sum over shards.
        let data = try Dataset.load(DataConfig(directory: f.directory, imbalanceRatio: 1), seed: 0,
                                    comm: SingleProcessCommunicator())
        #expect(data.sharded && data.classes == 3)
        #expect(data.counts == [4, 7, 1])
    }
}
