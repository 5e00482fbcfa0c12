import Foundation
import Testing
@testable import Checkpoint

/// Runs `body` with a path named `name` in a directory of its own, removed afterwards.
func withTemporaryPath<T>(_ name: String, _ body: (String) throws -> T) throws -> T {
    let dir = NSTemporaryDirectory() + "ddp-train-ckpt-\(getpid())-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    return try body(dir + "/" + name)
}

/// SplitMix64: the same weight-like values on every run.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite struct CheckpointFileTests {
    @Test func xxhash64KnownValues() {
        // Reference values of XXH64 with seed 0.
        #expect(XXHash64.hash(UnsafeRawBufferPointer(start: nil, count: 0)) == 0xEF46_DB37_51D8_E999)
        let abc = Array("abc".utf8)
        #expect(abc.withUnsafeBytes { XXHash64.hash($0) } == 0x44BC_2CF5_AD77_0999)
        // Streaming in pieces equals one call.
        let long = (0..<1000).map { UInt8($0 % 251) }
        var h = XXHash64()
        long.withUnsafeBytes { raw in
            h.update(UnsafeRawBufferPointer(rebasing: raw[0..<7]))
            h.update(UnsafeRawBufferPointer(rebasing: raw[7..<500]))
            h.update(UnsafeRawBufferPointer(rebasing: raw[500...]))
        }
        #expect(h.digest() == long.withUnsafeBytes { XXHash64.hash($0) })
    }

    @Test func byteShuffleRoundTrips() {
        let values: [Float] = (0..<1001).map { Float($0) * 0.37 - 12 }
        var planes = [UInt8](repeating: 0, count: 4 * values.count)
        var back = [Float](repeating: 0, count: values.count)
        values.withUnsafeBytes { v in planes.withUnsafeMutableBytes { ByteShuffle.shuffle(v.baseAddress!,
            count: values.count, into: $0.baseAddress!) } }
        planes.withUnsafeBytes { p in back.withUnsafeMutableBytes { ByteShuffle.unshuffle(p.baseAddress!,
            count: values.count, into: $0.baseAddress!) } }
        #expect(back == values)
        // The first plane holds every float's lowest byte.
        #expect(planes[1] == UInt8(values[1].bitPattern & 0xFF))
    }

    func writeSample(_ path: String, count: Int = 50_000) throws -> [Float] {
        var rng = SeededGenerator(state: 42)
        let a = (0..<count).map { _ in Float.random(in: -0.05...0.05, using: &rng) }
        let b: [Float] = [1, 2, 3, 4, 5, 6]
        _ = try a.withUnsafeBufferPointer { pa in
            try b.withUnsafeBufferPointer { pb in
                try CheckpointFile.write(path: path, manifest: Data("{\"hello\": 1}".utf8),
                                         tensors: [.init(name: "a", shape: [count], values: pa),
                                                   .init(name: "b", shape: [2, 3], values: pb)],
                                         level: 3)
            }
        }
        return a
    }

    @Test func writeAndReadBack() throws {
        try withTemporaryPath("step-00000001.ckpt") { try writeAndReadBack(path: $0) }
    }

    func writeAndReadBack(path: String) throws {
        let a = try writeSample(path)
        let c = try CheckpointFile.read(path: path)
        #expect(String(decoding: c.manifest, as: UTF8.self) == "{\"hello\": 1}")
        #expect(Array(c.values(of: "a")!) == a)
        #expect(Array(c.values(of: "b")!) == [1, 2, 3, 4, 5, 6])
        #expect(c.entries.map(\.shape) == [[50_000], [2, 3]])
        // Shuffled zstd beats plain float32 for weight-like values.
        #expect(c.fileBytes < 4 * (a.count + 6))
        // No temporary file is left behind.
        let dir = (path as NSString).deletingLastPathComponent
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["step-00000001.ckpt"])
    }

    @Test func damagedFilesAreRefusedWithTheReason() throws {
        try withTemporaryPath("x.ckpt") { try damagedFilesAreRefused(path: $0) }
    }

    func damagedFilesAreRefused(path: String) throws {
        _ = try writeSample(path)
        let good = [UInt8](FileManager.default.contents(atPath: path)!)
        func reason(_ bytes: [UInt8]) -> String {
            _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
            do { _ = try CheckpointFile.read(path: path); return "accepted" } catch { return "\(error)" }
        }
        #expect(reason(Array(good.prefix(good.count / 2))).contains("truncated"))
        #expect(reason(Array(good.prefix(20))).contains("truncated"))
        var magic = good; magic[0] = UInt8(ascii: "X")
        #expect(reason(magic).contains("magic"))
        var version = good; version[8] = 9
        #expect(reason(version).contains("version 9"))
        for position in [40, good.count / 2, good.count - 1, 30] {
            var flipped = good
            flipped[position] ^= 0x01
            let r = reason(flipped)
            #expect(r.contains("checksum") || r.contains("truncated"), "byte \(position): \(r)")
            #expect(r.contains(path))
        }
        #expect(reason(good) == "accepted")
    }

    /// Size fields of 2^63 and more (which trapped on conversion to Int) are refused with the
    /// reason, whether the checksum is broken or recomputed to match them.
    @Test func hugeSizeFieldsAreRefused() throws {
        try withTemporaryPath("huge.ckpt") { path in
            _ = try writeSample(path, count: 100)
            let good = [UInt8](FileManager.default.contents(atPath: path)!)
            for (field, value) in [(16, UInt64.max), (16, UInt64(1) << 63), (24, UInt64.max), (24, UInt64(1) << 63),
                                   (16, UInt64(1) << 41)] {
                for rehash in [false, true] {
                    var bytes = good
                    for i in 0..<8 { bytes[field + i] = UInt8((value >> (8 * UInt64(i))) & 255) }
                    if rehash {
                        var hash = XXHash64()
                        bytes.withUnsafeBytes { raw in
                            hash.update(UnsafeRawBufferPointer(rebasing: raw[0..<32]))
                            hash.update(UnsafeRawBufferPointer(rebasing: raw[40...]))
                        }
                        let digest = hash.digest()
                        for i in 0..<8 { bytes[32 + i] = UInt8((digest >> (8 * UInt64(i))) & 255) }
                    }
                    _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
                    do {
                        _ = try CheckpointFile.read(path: path)
                        Issue.record("accepted size field \(field) = \(value)")
                    } catch {
                        let text = "\(error)"
                        #expect(text.contains(path)
                            && (text.contains("checksum") || text.contains("truncated")
                            || text.contains("implausible")),
                                "field \(field) = \(value), rehash \(rehash): \(text)")
                    }
                }
            }
        }
    }

    @Test func safetensorsRoundTrip() throws {
        try withTemporaryPath("w.safetensors") { try safetensorsRoundTrip(path: $0) }
    }

    func safetensorsRoundTrip(path: String) throws {
        try SafeTensors.write([
            .init(name: "fc.weight", shape: [2, 3], values: [1, 2, 3, 4, 5, 6]),
            .init(name: "bn.num_batches_tracked", shape: [], values: [42], integer: true),
        ], to: path, metadata: ["format": "pt"])
        let back = try SafeTensors.read(path)
        #expect(back["fc.weight"]?.shape == [2, 3] && back["fc.weight"]?.values == [1, 2, 3, 4, 5, 6])
        #expect(back["bn.num_batches_tracked"]?.values == [42])
        let bytes = [UInt8](FileManager.default.contents(atPath: path)!)
        let headerLength = bytes[0..<8].enumerated().reduce(0) { $0 | (Int($1.element) << (8 * $1.offset)) }
        #expect(headerLength % 8 == 0)
        #expect(bytes.count == 8 + headerLength + 6 * 4 + 8)
    }
}
