import Foundation
import Testing
@testable import Data

/// AutoAugment's and RandAugment's operations against torchvision's own
/// (Tests/golden/augment_ops.json): every operation at two magnitudes on grey and colour,
/// noisy and smooth images, and the magnitude tables of 10 and 31 bins.
@Suite struct ImageOpsTests {
    static let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../golden/augment_ops.json").standardized.path

    struct Case: Decodable {
        var op: String, magnitude: Double, image: String, `case`: Int, shape: [Int], output: String
    }

    struct File: Decodable { var magnitudes: [String: [String: [Double]]], cases: [Case] }

    static func load() throws -> File {
        try JSONDecoder().decode(File.self, from: Data(contentsOf: URL(fileURLWithPath: golden)))
    }

    /// The generator's smooth image: a gradient plus the formula's noise / 4.
    static func smooth(_ c: Int, channels: Int, h: Int, w: Int) -> [UInt8] {
        let noise = AugmentationTests.image(c, count: channels * h * w)
        return (0..<(channels * h * w)).map { i in
            let ch = i / (h * w), y = (i / w) % h, x = i % w
            let base = min(255, max(0, Float(40 + 6 * y + 3 * x + 20 * ch)))
            return UInt8(min(255, max(0, base + Float(noise[i]) / 4)))
        }
    }

    static func bytes(_ hex: String) -> [UInt8] {
        var out: [UInt8] = [], chars = Array(hex.utf8)
        for k in stride(from: 0, to: chars.count, by: 2) {
            out.append(UInt8(String(decoding: chars[k..<(k + 2)], as: UTF8.self), radix: 16)!)
        }
        chars.removeAll()
        return out
    }

    @Test func operationsEqualTorchvisions() throws {
        let file = try Self.load()
        #expect(file.cases.count == 104)
        var checked = Set<String>()
        for c in file.cases {
            let (channels, h, w) = (c.shape[0], c.shape[1], c.shape[2])
            var image = c.image == "noise" ? AugmentationTests.image(c.case, count: channels * h * w)
                : Self.smooth(c.case, channels: channels, h: h, w: w)
            var scratch = [UInt8](repeating: 0, count: image.count)
            let op = try #require(ImageOp(rawValue: c.op))
            image.withUnsafeMutableBufferPointer { p in
                scratch.withUnsafeMutableBufferPointer { s in
                    op.apply(p.baseAddress!, channels: channels, height: h, width: w, magnitude: c.magnitude,
                             scratch: s.baseAddress!)
                }
            }
            let want = Self.bytes(c.output)
            let differing = zip(image, want).filter { $0 != $1 }.count
            #expect(differing == 0, "\(c.op) \(c.magnitude) on \(c.image) \(c.shape): \(differing) of \(want.count) differ")
            checked.insert(c.op)
        }
        #expect(checked == Set(ImageOp.allCases.map(\.rawValue)))
    }

    @Test func magnitudeTablesEqualTorchvisions() throws {
        let file = try Self.load()
        for bins in [10, 31] {
            let table = try #require(file.magnitudes[String(bins)])
            for op in ImageOp.allCases where op != .invert {
                let want = try #require(table[op.rawValue], "\(op)")
                guard !want.isEmpty else { #expect(!op.hasMagnitude, "\(op)"); continue }
                let got = (0..<bins).map { op.magnitude(bin: $0, bins: bins, height: 20, width: 24) }
                // torch.linspace's vectorised kernel rounds a few values of 31 bins one float32 ulp
                // away from its scalar formula, which this follows (the CPU's vector width decides).
                #expect(zip(got, want).allSatisfy { abs($0 - $1) <= 1.5e-7 * max(1, abs($1)) }, "\(op), \(bins) bins")
                if bins == 10 { #expect(got == want, "\(op), 10 bins (AutoAugment's), bit for bit") }
            }
        }
    }

    @Test func policiesAreSeededPerSample() {
        for policy in [ImagePolicy.auto(.cifar10), .auto(.imagenet), .rand(RandAugmentSetting(operations: 2,
                                                                                                magnitude: 9))] {
            let original = AugmentationTests.image(3, count: 3 * 16 * 16)
            func run(position: Int) -> [UInt8] {
                var image = original, scratch = original
                image.withUnsafeMutableBufferPointer { p in
                    scratch.withUnsafeMutableBufferPointer { s in
                        policy.apply(p.baseAddress!, channels: 3, height: 16, width: 16, seed: 4, epoch: 2,
                                     position: position, scratch: s.baseAddress!)
                    }
                }
                return image
            }
            #expect(run(position: 5) == run(position: 5))
            #expect((0..<12).contains { run(position: $0) != original })
            #expect(Set((0..<12).map { run(position: $0) }).count > 3)
        }
    }
}
