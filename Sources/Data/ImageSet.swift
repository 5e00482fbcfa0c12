import Distributed
import Foundation
import Settings

/// The size and channels every image of an image set is brought to.
public struct ImageTarget: Sendable, Equatable {
    public var channels: Int
    public var height: Int
    public var width: Int
    /// Resample images of another size (`--image-size`); otherwise such an image is an error.
    public var resize: Bool
}

/// One split of an image set, as the work that decodes it: image files with their labels
/// (image folders) or tar shards (WebDataset). Unit u is decoded by rank u mod W; the
/// results are gathered, so every rank holds the whole split in the units' order.
public struct ImageSource: Sendable {
    public enum Unit: Sendable {
        case file(path: String, label: Int32)
        case shard(path: String)

        var path: String {
            switch self {
            case .file(let path, _), .shard(let path): return path
            }
        }
    }

    public var units: [Unit]
    /// "training" or "test": the cache file's name and the messages'.
    public var split: String

    /// The first image, decoded (on every rank): the size and channels when none are given.
    func firstImage() throws -> DecodedImage {
        guard let first = units.first else {
            throw DataError.format(path: split, field: "\(split) images", expected: "at least one", found: "none")
        }
        var image: DecodedImage?
        try Self.decode(first) { decoded, _ in
            if image == nil { image = decoded }
            return image != nil
        }
        guard let image else {
            throw DataError.format(path: first.path, field: "\(split) images", expected: "at least one sample",
                                   found: "none")
        }
        return image
    }

    /// Decodes `unit`'s images in order, handing each with its label to `body` until it
    /// returns true (done).
    static func decode(_ unit: Unit, _ body: (DecodedImage, Int32) throws -> Bool) throws {
        switch unit {
        case .file(let path, let label):
            _ = try body(ImageDecoder.decode(try FileBytes.read(path), name: path), label)
        case .shard(let path):
            let bytes = try shardBytes(path)
            try bytes.withUnsafeBytes { raw in
                for sample in try WebDataset.samples(of: raw, path: path) {
                    let image = try ImageDecoder.decode(Array(raw[sample.image]), name: "\(path): \(sample.key)")
                    if try body(image, sample.label) { return }
                }
            }
        }
    }

    /// A shard's bytes: mapped from disk (pages are read as they are touched), or inflated.
    static func shardBytes(_ path: String) throws -> Data {
        let lower = path.lowercased()
        if lower.hasSuffix(".gz") || lower.hasSuffix(".tgz") { return Data(try FileBytes.read(path)) }
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw DataError.missing(path: path, hint: "every shard that --data names must exist")
        }
        do {
            return try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        } catch {
            throw DataError.format(path: path, field: "tar shard", expected: "a readable file",
                                   found: error.localizedDescription)
        }
    }
}

/// Decoding a split over the ranks, and the cache of decoded splits.
public enum ImageSet {
    /// `source` decoded to `target` (collective): read from `cache` when every rank finds it
    /// there, otherwise each rank decodes its units, the ranks gather the results, and rank 0
    /// stores them in `cache` (when given) for later runs. Returns the split and a note for the log.
    public static func load(_ source: ImageSource, target: ImageTarget, cache: String?,
                            comm: Communicator) throws -> (Split, String) {
        let key = try comm.broadcast(string: comm.rank == 0 ? cacheKey(source, target: target) : "")
        let files = cache.map { dir in
            (images: (dir as NSString).appendingPathComponent("\(source.split)-\(key)-images.npy"),
             labels: (dir as NSString).appendingPathComponent("\(source.split)-\(key)-labels.npy"))
        }
        // The cache is used only when every rank can read it.
        var cached: Split?
        if let files { cached = try? NPYReader.split(images: files.images, labels: files.labels) }
        if let c = cached,
            (c.channels, c.height, c.width) != (target.channels, target.height,
                                                target.width) || !c.isBytes { cached = nil }
        let missing: Int64 = try comm.globalMax(cached == nil ? 1 : 0)
        if missing == 0, let cached, let files {
            return (cached, "\(source.split) images: \(cached.count) read from the cache \(files.images)")
        }

        let start = Date()
        let mine = try comm.agree { try decodeShare(source, target: target, rank: comm.rank, size: comm.size) }
        var counts = [Int64](repeating: 0, count: source.units.count)
        for (u, n) in mine.counts { counts[u] = Int64(n) }
        try comm.allReduceSum(&counts)
        let pixels = try comm.allGather(mine.pixels)
        let labels = try comm.allGather(mine.labels)
        let split = reassemble(pixels: pixels, labels: labels, counts: counts.map { Int($0) }, target: target,
                               ranks: comm.size)
        var note = "\(source.split) images: \(split.count) decoded in " +
                   "\(String(format: "%.1f", Date().timeIntervalSince(start))) s over \(comm.size) rank(s)"
        if comm.rank == 0, let files {
            do {
                try FileManager.default.createDirectory(atPath: (files.images as NSString).deletingLastPathComponent,
                                                        withIntermediateDirectories: true)
                try write(split, images: files.images, labels: files.labels)
                note += ", cached in \(files.images)"
            } catch {
                note += "; warning: not cached (\(files.images): \(error.localizedDescription))"
            }
        }
        return (split, note)
    }

    /// This rank's units (u mod size = rank) decoded in order: pixels, labels, samples per unit.
    static func decodeShare(_ source: ImageSource, target: ImageTarget, rank: Int, size: Int)
        throws -> (pixels: [UInt8], labels: [Int32], counts: [(Int, Int)]) {
        var pixels: [UInt8] = [], labels: [Int32] = [], counts: [(Int, Int)] = []
        for u in stride(from: rank, to: source.units.count, by: size) {
            var n = 0
            let unit = source.units[u]
            try ImageSource.decode(unit) { image, label in
                let fitted = try fit(image, to: target, name: unit.path)
                pixels += fitted.pixels
                labels.append(label)
                n += 1
                return false
            }
            counts.append((u, n))
        }
        return (pixels, labels, counts)
    }

    /// `image` with the target's channels and size; a size that differs without `resize` is
    /// an error naming the file.
    static func fit(_ image: DecodedImage, to target: ImageTarget, name: String) throws -> DecodedImage {
        var out = image.converted(channels: target.channels)
        if (out.height, out.width) != (target.height, target.width) {
            guard target.resize else {
                throw DataError.format(path: name, field: "image size",
                                       expected: "\(target.height) x \(target.width) like the first training image " +
                                                 "(or pass --image-size HxW to resize every image)",
                                       found: "\(image.height) x \(image.width)")
            }
            out = out.resized(height: target.height, width: target.width)
        }
        return out
    }

    /// The gathered rank sections put back in unit order (unit u's samples are the next ones
    /// of rank u mod W's section).
    static func reassemble(pixels: [UInt8], labels: [Int32], counts: [Int], target: ImageTarget, ranks: Int) -> Split {
        let n = target.channels * target.height * target.width
        guard ranks > 1 else {
            return Split(pixels: .bytes(pixels), labels: labels, channels: target.channels, height: target.height,
                         width: target.width)
        }
        var cursor = [Int](repeating: 0, count: ranks)
        var total = [Int](repeating: 0, count: ranks)
        for (u, c) in counts.enumerated() { total[u % ranks] += c }
        for r in 1..<ranks { cursor[r] = cursor[r - 1] + total[r - 1] }
        var outPixels = [UInt8](repeating: 0, count: pixels.count)
        var outLabels = [Int32](repeating: 0, count: labels.count)
        var next = 0
        for (u, c) in counts.enumerated() {
            let r = u % ranks
            for i in 0..<c {
                let from = cursor[r] + i, to = next + i
                outLabels[to] = labels[from]
                outPixels.withUnsafeMutableBufferPointer { o in
                    pixels.withUnsafeBufferPointer { p in
                        (o.baseAddress! + to * n).update(from: p.baseAddress! + from * n, count: n)
                    }
                }
            }
            cursor[r] += c
            next += c
        }
        return Split(pixels: .bytes(outPixels), labels: outLabels, channels: target.channels, height: target.height,
                     width: target.width)
    }

    /// Names the decoded split by what it was decoded from: every unit's path, size and
    /// modification time, the target and the split (FNV-1a, 64 bits, in hexadecimal).
    static func cacheKey(_ source: ImageSource, target: ImageTarget) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func add(_ text: String) {
            for b in text.utf8 { hash = (hash ^ UInt64(b)) &* 0x100_0000_01b3 }
            hash = (hash ^ 0xff) &* 0x100_0000_01b3
        }
        add("ddp-train decoded images v1 \(source.split) \(target.channels)x\(target.height)x\(target.width) " +
            "resize \(target.resize)")
        for unit in source.units {
            var st = stat()
            let known = stat(unit.path, &st) == 0
            add("\(unit.path) \(known ? Int(st.st_size) : -1) " +
                "\(known ? Int(st.st_mtim.tv_sec) : 0).\(known ? Int(st.st_mtim.tv_nsec) : 0)")
            if case .file(_, let label) = unit { add("\(label)") }
        }
        return String(hash, radix: 16)
    }

    static func write(_ split: Split, images: String, labels: String) throws {
        guard case .bytes(let pixels) = split.pixels else { return }
        let y = split.labels
        try NPYWriter.write(y.withUnsafeBytes { NPYWriter.bytes(descr: "<i4", shape: [y.count], body: $0) }, to: labels)
        try NPYWriter.write(pixels.withUnsafeBytes {
            NPYWriter.bytes(descr: "|u1", shape: [split.count, split.channels, split.height, split.width], body: $0)
        }, to: images)
    }
}

extension Split {
    var isBytes: Bool {
        if case .bytes = pixels { return true }
        return false
    }
}

/// `--image-size`: `28` (square) or `32x24` (height x width).
public struct ImageSize: OptionValue, Sendable, Equatable {
    public var height: Int
    public var width: Int

    public init(height: Int, width: Int) {
        self.height = height
        self.width = width
    }

    public static func parse(_ values: [String]) -> ImageSize? {
        guard values.count == 1 else { return nil }
        let parts = values[0].lowercased().split(separator: "x", omittingEmptySubsequences: false).map { Int($0) }
        guard (1...2).contains(parts.count),
            parts.allSatisfy({ $0 != nil && (1...4096).contains($0!) }) else { return nil }
        return ImageSize(height: parts[0]!, width: parts[parts.count - 1]!)
    }

    public static var expected: String { "a size of 1 to 4096 pixels, H or HxW (28, 32x32)" }
    public var text: String { height == width ? "\(height)" : "\(height)x\(width)" }

    public init(from decoder: Decoder) throws {
        guard let size = Self.parse([try String(from: decoder)]) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                                                    debugDescription: "expected \(Self.expected)"))
        }
        self = size
    }

    public func encode(to encoder: Encoder) throws { try text.encode(to: encoder) }
}
