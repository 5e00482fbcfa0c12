import Data
import Explain
import Foundation
import Testing

/// Image folders and tar shards: the pieces that do not need MPI (Tests/mpi/test-images.sh
/// trains from real PNG folders and shards on 1 and 2 ranks).
struct ImageSetTests {
    /// A ustar archive of `files` as Python's tarfile writes it.
    static func tar(_ files: [(String, [UInt8])]) -> [UInt8] {
        var out: [UInt8] = []
        for (name, data) in files {
            var h = [UInt8](repeating: 0, count: 512)
            func put(_ text: String, _ at: Int) { for (i, b) in text.utf8.enumerated() { h[at + i] = b } }
            put(name, 0)
            put("0000644", 100); put("0000000", 108); put("0000000", 116)
            put(String(format: "%011o", data.count), 124)
            put("00000000000", 136)
            h[156] = UInt8(ascii: "0")
            put("ustar", 257); h[262] = 0; put("00", 263)
            for i in 148..<156 { h[i] = 32 }
            put(String(format: "%06o", h.reduce(0) { $0 + Int($1) }), 148)
            h[154] = 0
            out += h + data + [UInt8](repeating: 0, count: (512 - data.count % 512) % 512)
        }
        return out + [UInt8](repeating: 0, count: 1024)
    }

    static func png(_ width: Int, _ height: Int, _ value: (Int, Int) -> (UInt8, UInt8, UInt8)) -> [UInt8] {
        var rgb: [UInt8] = []
        for y in 0..<height { for x in 0..<width { let (r, g, b) = value(x, y); rgb += [r, g, b] } }
        return [UInt8](PNG.encode(width: width, height: height, rgb: rgb))
    }

    @Test func naturalOrderComparesDigitRunsAsNumbers() {
        let names = ["img10.png", "img2.png", "img1.png", "00003.png", "3.png", "b.png", "a.png"]
        let sorted = names.sorted { NaturalOrder.compare($0, $1) < 0 }
        #expect(sorted == ["00003.png", "3.png", "a.png", "b.png", "img1.png", "img2.png", "img10.png"])
        #expect(NaturalOrder.compare("x", "x") == 0)
    }

    @Test func shardPatternsExpandAsTheShellDoes() throws {
        #expect(try ShardPattern.expand("s/train-{00000..00002}.tar") == ["s/train-00000.tar", "s/train-00001.tar",
                                                                          "s/train-00002.tar"])
        #expect(try ShardPattern.expand("{a,b}-{8..10}.tar") == ["a-8.tar", "a-9.tar", "a-10.tar", "b-8.tar", "b-9.tar",
                                                                 "b-10.tar"])
        #expect(try ShardPattern.expand("one.tar") == ["one.tar"])
        #expect(throws: DataError.self) { try ShardPattern.expand("train-{5..2}.tar") }
        #expect(throws: DataError.self) { try ShardPattern.expand("train-{0..2.tar") }
    }

    @Test func imageSizeParses() {
        #expect(ImageSize.parse(["28"]) == ImageSize(height: 28, width: 28))
        #expect(ImageSize.parse(["32x24"]) == ImageSize(height: 32, width: 24))
        #expect(ImageSize.parse(["0"]) == nil)
        #expect(ImageSize.parse(["3x4x5"]) == nil)
        #expect(ImageSize.parse(["big"]) == nil)
    }

    @Test func webDatasetSamplesGroupMembersByKey() throws {
        let image = Self.png(3, 2) { x, y in (UInt8(x * 10), UInt8(y * 20), 7) }
        let bytes = Self.tar([("d/a.png", image), ("d/a.cls", Array("4\n".utf8)), ("d/a.json", Array("{}".utf8)),
                              ("d/b.cls", Array("1".utf8)), ("d/b.png", image)])
        let samples = try bytes.withUnsafeBytes { try WebDataset.samples(of: $0, path: "t.tar") }
        #expect(samples.map(\.key) == ["d/a", "d/b"])
        #expect(samples.map(\.label) == [4, 1])
        let decoded = try ImageDecoder.decode(Array(bytes[samples[0].image]), name: "a.png")
        #expect((decoded.channels, decoded.height, decoded.width) == (3, 2, 3))
        #expect(decoded.pixels[0 * 6 + 1 * 3 + 2] == 20)  // red plane, row 1, column 2
        #expect(decoded.pixels[1 * 6 + 1 * 3 + 2] == 20)  // green plane: y * 20
        #expect(decoded.pixels[2 * 6 + 0] == 7)
    }

    @Test func badShardsAreRefusedNamingTheSample() {
        let image = Self.png(2, 2) { _, _ in (1, 2, 3) }
        let cases: [([(String, [UInt8])], String)] = [
            ([("a.png", image)], "a.cls"),
            ([("a.cls", Array("x".utf8)), ("a.png", image)], "class index"),
            ([("a.cls", Array("-1".utf8)), ("a.png", image)], "class index"),
            ([("a.cls", Array("1".utf8)), ("a.png", image), ("a.jpg", image)], "more than one"),
        ]
        for (files, expected) in cases {
            let bytes = Self.tar(files)
            #expect { try bytes.withUnsafeBytes { try WebDataset.samples(of: $0, path: "s.tar") } } throws: { error in
                "\(error)".contains("s.tar") && "\(error)".contains(expected)
            }
        }
        let whole = Self.tar([("a.cls", Array("1".utf8)), ("a.png", image)])
        #expect { try Array(whole.prefix(700)).withUnsafeBytes { try TarArchive.members(of: $0,
            path: "cut.tar") } } throws: { error in
            "\(error)".contains("cut.tar") && "\(error)".contains("truncated")
        }
        var damaged = whole
        damaged[10] ^= 0xff
        #expect { try damaged.withUnsafeBytes { try TarArchive.members(of: $0, path: "bad.tar") } } throws: { error in
            "\(error)".contains("bad.tar") && "\(error)".contains("checksum")
        }
    }

    @Test func decoderRefusesWhatIsNotAWholeImage() {
        let image = Self.png(8, 8) { x, y in (UInt8(x * y), 0, 0) }
        for bytes in [Array("hello".utf8), Array(image.prefix(image.count / 2)), []] {
            #expect { try ImageDecoder.decode(bytes, name: "x.png") } throws: { "\($0)".contains("x.png") }
        }
    }

    @Test func greyConversionIsPillowsLuma() {
        let rgb = DecodedImage(channels: 3, height: 1, width: 2, pixels: [255, 10, 0, 200, 0, 30])
        // Pillow: L = (R * 19595 + G * 38470 + B * 7471 + 0x8000) >> 16; Image.convert("L") gives 76 and 124 here
        #expect(rgb.converted(channels: 1).pixels == [76, 124])
        #expect(rgb.converted(channels: 1).converted(channels: 3).pixels == [76, 124, 76, 124, 76, 124])
    }

    @Test func resizeKeepsFlatImagesFlatAndAveragesWhenShrinking() {
        let flat = DecodedImage(channels: 1, height: 7, width: 9, pixels: [UInt8](repeating: 93, count: 63))
        #expect(flat.resized(height: 4, width: 13).pixels.allSatisfy { $0 == 93 })
        // A 1-pixel checkerboard halved averages to grey, not to one of its colours.
        let checker = DecodedImage(channels: 1, height: 8, width: 8,
                                   pixels: (0..<64).map { ($0 / 8 + $0 % 8) % 2 == 0 ? 0 : 200 })
        let half = checker.resized(height: 4, width: 4)
        #expect(half.pixels.allSatisfy { (80...120).contains($0) })
        #expect(checker.resized(height: 8, width: 8) == checker)
    }
}
