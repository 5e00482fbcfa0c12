import Foundation
import Testing
@testable import Data
import Tensor

/// The augmentation's geometry against torchvision (Tests/golden/augment_views.json: resized
/// crops and the 8/7 centre crop), torchvision's crop boxes, Cutout, and mixup / CutMix as
/// `BatchAssembler` writes them.
@Suite struct AugmentationTests {
    static let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../golden/augment_views.json").standardized.path

    struct Case: Decodable {
        var kind: String, `case`: Int, shape: [Int], box: [Int]?, sums: [Double], samples: [[Double]]
    }

    struct File: Decodable { var cases: [Case] }

    /// The generator's image: floor(256 frac(sin(12.9898 i + 78.233 c) 43758.5453)).
    static func image(_ c: Int, count: Int) -> [UInt8] {
        (0..<count).map { i in
            let s = sin(12.9898 * Double(i) + 78.233 * Double(c)) * 43758.5453
            var v = s - s.rounded(.towardZero)
            if v < 0 { v += 1 }
            return UInt8(min(255, max(0, (256 * v).rounded(.down))))
        }
    }

    /// Compares a result (C planes of H*W) with a case: sums within `tolerance` grey levels (a
    /// resized crop's floats are summed in another order), samples within 1e-3.
    static func check(_ out: [Float], _ c: Case, tolerance: Double) {
        let hw = c.shape[1] * c.shape[2]
        for ch in 0..<c.shape[0] {
            let sum = out[(ch * hw)..<((ch + 1) * hw)].reduce(0.0) { $0 + Double($1) }
            #expect(abs(sum - c.sums[ch]) <= tolerance, "case \(c.case) channel \(ch): sum \(sum), torchvision \(c.sums[ch])")
        }
        for (k, s) in c.samples.enumerated() {
            let ch = k / (c.samples.count / c.shape[0])
            let got = Double(out[ch * hw + Int(s[0])])
            #expect(abs(got - s[1]) <= 1e-3, "case \(c.case) channel \(ch) pixel \(Int(s[0])): \(got), torchvision \(s[1])")
        }
    }

    @Test func resizedCropsAndTheCentreCropEqualTorchvision() throws {
        let file = try JSONDecoder().decode(File.self, from: Data(contentsOf: URL(fileURLWithPath: Self.golden)))
        #expect(file.cases.count == 7)
        for c in file.cases {
            let (channels, h, w) = (c.shape[0], c.shape[1], c.shape[2])
            let pixels = Self.image(c.case, count: channels * h * w)
            let split = Split(pixels: .bytes(pixels), labels: [0], channels: channels, height: h, width: w)
            if c.kind == "centre_crop" {
                guard case .bytes(let out) = split.centreCropped().pixels else { Issue.record("bytes"); continue }
                Self.check(out.map(Float.init), c, tolerance: 0)  // bytes: bit for bit
                continue
            }
            let box = try #require(c.box)
            var rows = AxisSamples(capacity: h), columns = AxisSamples(capacity: w)
            rows.set(output: h, source: box[2], start: box[0])
            columns.set(output: w, source: box[3], start: box[1])
            var out = [Float](repeating: 0, count: channels * h * w)
            pixels.withUnsafeBufferPointer { src in
                for ch in 0..<channels {
                    AxisSamples.resample(src.baseAddress! + ch * h * w, width: w, rows: rows, columns: columns,
                                         outputHeight: h, outputWidth: w) { out[ch * h * w + $0] = $1 }
                }
            }
            Self.check(out, c, tolerance: 0.05)
        }
    }

    @Test func resizedCropBoxesKeepTorchvisionsAreaAndAspect() {
        var rng = RandomSource(seed: 7)
        for (h, w) in [(64, 64), (224, 224), (64, 300), (300, 64)] {
            for _ in 0..<500 {
                let b = Augmentation.resizedCropBox(&rng, height: h, width: w)
                #expect(b.top >= 0 && b.left >= 0 && b.top + b.height <= h && b.left + b.width <= w)
                let area = Double(b.height * b.width) / Double(h * w), aspect = Double(b.width) / Double(b.height)
                // Rounding each side to a pixel moves the area and the aspect by a little.
                let inRange = area >= 0.075 && aspect >= 0.7 && aspect <= 1.4
                let fallback = b.height == h || b.width == w
                #expect(inRange || fallback, "\(h)x\(w): \(b)")
            }
        }
    }

    @Test func viewsFollowTheImageSize() {
        let a = Augmentation(cropAndFlip: true)
        var shifts = 0, crops = 0
        for p in 0..<50 {
            if case .shift = a.view(seed: 1, epoch: 0, position: p, height: 32, width: 100).kind { shifts += 1 }
            if case .crop = a.view(seed: 1, epoch: 0, position: p, height: 64, width: 64).kind { crops += 1 }
        }
        #expect(shifts == 50 && crops == 50)
        #expect(Augmentation.testCrop(cropAndFlip: true, height: 64, width: 80))
        #expect(!Augmentation.testCrop(cropAndFlip: true, height: 63, width: 200))
        #expect(!Augmentation.testCrop(cropAndFlip: false, height: 224, width: 224))
    }

    /// A split of `n` images, image i filled with i + 1 (bytes), 1 x h x w.
    static func constantImages(_ n: Int, h: Int, w: Int) -> Split {
        Split(pixels: .bytes((0..<n).flatMap { [UInt8](repeating: UInt8($0 + 1), count: h * w) }),
              labels: (0..<n).map { Int32($0 % 3) }, channels: 1, height: h, width: w)
    }

    @Test func mixupBlendsEachImageWithItsPartner() throws {
        let split = Self.constantImages(6, h: 4, w: 5)
        let a = BatchAssembler(split: split, mean: [0], std: [1 / 255.0], channelMajor: false,
                               augmentation: Augmentation(mixup: 0.4), seed: 3)
        let mix = try #require(BatchMix.draw(a.augmentation, seed: 3, epoch: 0, step: 0, height: 4, width: 5))
        #expect(mix.kind == .mixup && mix.lambda > 0 && mix.lambda < 1)
        let own = [0, 1, 2], partner = [5, 4, 3], positions = [0, 1, 2], partnerPositions = [5, 4, 3]
        partner.withUnsafeBufferPointer { p in
            partnerPositions.withUnsafeBufferPointer { q in
                a.assemble(indices: own, positions: positions, count: 3, epoch: 0, mix: mix,
                           partners: (p.baseAddress!, q.baseAddress!))
            }
        }
        for b in 0..<3 {
            let want = Float(mix.lambda) * Float(own[b] + 1) + Float(1 - mix.lambda) * Float(partner[b] + 1)
            #expect(abs(a.input.data[b * 20 + 7] - want) < 1e-3)
            #expect(a.targets[b] == Int32(own[b] % 3) && a.partnerTargets[b] == Int32(partner[b] % 3))
        }
    }

    @Test func cutmixPastesTheBoxAndLambdaIsTheRest() throws {
        let split = Self.constantImages(2, h: 16, w: 16)
        let aug = Augmentation(cutmix: 1)
        var seen = false
        for step in 0..<20 {
            let mix = try #require(BatchMix.draw(aug, seed: 5, epoch: 1, step: step, height: 16, width: 16))
            guard case .cutmix(let rows, let columns) = mix.kind else { Issue.record("not CutMix"); continue }
            #expect(abs(mix.lambda - (1 - Double(rows.count * columns.count) / 256)) < 1e-12)
            guard rows.count * columns.count > 0 else { continue }
            seen = true
            let a = BatchAssembler(split: split, mean: [0], std: [1 / 255.0], channelMajor: true, augmentation: aug,
                                   seed: 5)
            let one = [1]
            one.withUnsafeBufferPointer { p in
                a.assemble(indices: [0], positions: [0], count: 1, epoch: 1, mix: mix,
                           partners: (p.baseAddress!, p.baseAddress!))
            }
            let pasted = (0..<256).filter { a.input.data[$0] == 2 }.count
            #expect(pasted == rows.count * columns.count)
            #expect(a.input.data[rows.lowerBound * 16 + columns.lowerBound] == 2)
        }
        #expect(seen)
    }

    @Test func policiesRefuseFloatsAndOtherChannelCounts() {
        let policy = Augmentation(policy: .rand(RandAugmentSetting(operations: 2, magnitude: 9)))
        let floats = Split(pixels: .floats([0, 1, 2, 3]), labels: [0], channels: 1, height: 2, width: 2)
        let four = Split(pixels: .bytes([UInt8](repeating: 0, count: 16)), labels: [0], channels: 4, height: 2, width: 2)
        let grey = Split(pixels: .bytes([0, 1, 2, 3]), labels: [0], channels: 1, height: 2, width: 2)
        #expect(policy.problem(for: floats)?.contains("--randaugment works on 8-bit images") == true)
        #expect(policy.problem(for: four)?.contains("1 or 3 channels") == true)
        #expect(policy.problem(for: grey) == nil)
        #expect(Augmentation(cropAndFlip: true).problem(for: floats) == nil)
    }

    @Test func betaDrawsHaveTheirMean() {
        var rng = RandomSource(seed: 11)
        for (a, b) in [(0.2, 0.2), (1.0, 1.0), (2.0, 5.0)] {
            let draws = (0..<20_000).map { _ in rng.nextBeta(a, b) }
            let mean = draws.reduce(0, +) / Double(draws.count)
            #expect(draws.allSatisfy { $0 >= 0 && $0 <= 1 })
            #expect(abs(mean - a / (a + b)) < 0.01, "Beta(\(a), \(b)): mean \(mean)")
        }
    }

    @Test func cutoutZeroesASquareOfTheNormalisedImage() {
        let split = Self.constantImages(1, h: 12, w: 12)
        let a = BatchAssembler(split: split, mean: [0], std: [1 / 255.0], channelMajor: false,
                               augmentation: Augmentation(cutout: 4), seed: 9)
        var sizes = Set<Int>()
        for p in 0..<30 {
            a.assemble(indices: [0], positions: [p], count: 1, epoch: 0)
            let zeros = (0..<144).filter { a.input.data[$0] == 0 }.count
            #expect(zeros >= 4 && zeros <= 16)
            sizes.insert(zeros)
        }
        #expect(sizes.contains(16) && sizes.count > 1)  // whole squares, and squares clipped at a border
    }
}
