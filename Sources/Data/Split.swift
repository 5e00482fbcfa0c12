/// One part of a data set (training or test): images and labels.
///
/// Images keep their source type: bytes (0-255) for IDX, CIFAR and uint8 NumPy,
/// floats for float32 NumPy. Each sample is (C, H, W), row-major.
public struct Split: Sendable {
    public enum Pixels: Sendable {
        case bytes([UInt8])
        case floats([Float])
    }

    public var pixels: Pixels
    public var labels: [Int32]
    public var channels: Int
    public var height: Int
    public var width: Int

    public init(pixels: Pixels, labels: [Int32], channels: Int, height: Int, width: Int) {
        self.pixels = pixels
        self.labels = labels
        self.channels = channels
        self.height = height
        self.width = width
    }

    public var count: Int { labels.count }
    /// Floats per sample.
    public var sampleSize: Int { channels * height * width }

    /// Pixel `j` of sample `i`, as a float (bytes scaled to [0, 1]).
    @inlinable public func value(_ i: Int, _ j: Int) -> Float {
        switch pixels {
        case .bytes(let b): return Float(b[i * sampleSize + j]) * (1 / 255)
        case .floats(let f): return f[i * sampleSize + j]
        }
    }

    /// The samples at `indices`, in that order.
    public func subset(_ indices: [Int]) -> Split {
        let n = sampleSize
        switch pixels {
        case .bytes(let b):
            var out = [UInt8](); out.reserveCapacity(indices.count * n)
            for i in indices { out.append(contentsOf: b[(i * n)..<((i + 1) * n)]) }
            return Split(pixels: .bytes(out), labels: indices.map { labels[$0] }, channels: channels, height: height,
                         width: width)
        case .floats(let f):
            var out = [Float](); out.reserveCapacity(indices.count * n)
            for i in indices { out.append(contentsOf: f[(i * n)..<((i + 1) * n)]) }
            return Split(pixels: .floats(out), labels: indices.map { labels[$0] }, channels: channels, height: height,
                         width: width)
        }
    }

    /// Samples of `other` appended (same sample shape and pixel type).
    public mutating func append(_ other: Split) throws {
        guard other.channels == channels, other.height == height, other.width == width else {
            throw DataError.mismatch("shards differ in sample shape: \(channels)x\(height)x\(width) and " +
                                     "\(other.channels)x\(other.height)x\(other.width)")
        }
        switch (pixels, other.pixels) {
        case (.bytes(var a), .bytes(let b)): a += b; pixels = .bytes(a)
        case (.floats(var a), .floats(let b)): a += b; pixels = .floats(a)
        default: throw DataError.mismatch("shards mix uint8 and float32 images")
        }
        labels += other.labels
    }

    /// Label counts over `classes`.
    public func classCounts(classes: Int) -> [Int] {
        var counts = [Int](repeating: 0, count: classes)
        for y in labels { counts[Int(y)] += 1 }
        return counts
    }

    /// Throws unless every label lies in `0..<classes`, naming the file and the sample.
    public func validateLabels(classes: Int, file: String, firstIndex: Int = 0) throws {
        for (i, y) in labels.enumerated() where y < 0 || Int(y) >= classes {
            throw DataError.label(path: file, index: firstIndex + i, value: Int(y), classes: classes)
        }
    }
}
