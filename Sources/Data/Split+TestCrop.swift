extension Split {
    /// torchvision's evaluation view of a model trained with resized crops (`Resize(256)`,
    /// `CenterCrop(224)`): every image resized (bilinear) to 8/7 of its height and width, then its
    /// centre cropped back to them. Bytes stay bytes, resized as torchvision's uint8 path does
    /// (`FixedPointTaps`): along the rows, rounded to bytes, then along the columns.
    public func centreCropped() -> Split {
        let (h, w, c) = (height, width, channels)
        let bigH = Int((Double(h) * 8 / 7).rounded(.toNearestOrEven))
        let bigW = Int((Double(w) * 8 / 7).rounded(.toNearestOrEven))
        var rows = AxisSamples(capacity: h), columns = AxisSamples(capacity: w)
        rows.set(output: h, source: h, resized: bigH, offset: Int((Double(bigH - h) / 2).rounded(.toNearestOrEven)))
        columns.set(output: w, source: w, resized: bigW,
                    offset: Int((Double(bigW - w) / 2).rounded(.toNearestOrEven)))
        let planes = count * c, hw = h * w
        var out = self
        switch pixels {
        case .bytes(let bytes):
            let across = FixedPointTaps(source: w, resized: bigW), down = FixedPointTaps(source: h, resized: bigH)
            let top = Int((Double(bigH - h) / 2).rounded(.toNearestOrEven))
            let left = Int((Double(bigW - w) / 2).rounded(.toNearestOrEven))
            var result = [UInt8](repeating: 0, count: bytes.count), rowsDone = [UInt8](repeating: 0, count: hw)
            for p in 0..<planes {
                for y in 0..<h {
                    for x in 0..<w { rowsDone[y * w + x] = across.apply(left + x) { bytes[p * hw + y * w + $0] } }
                }
                for y in 0..<h {
                    for x in 0..<w { result[p * hw + y * w + x] = down.apply(top + y) { rowsDone[$0 * w + x] } }
                }
            }
            out.pixels = .bytes(result)
        case .floats(let floats):
            var result = [Float](repeating: 0, count: floats.count)
            floats.withUnsafeBufferPointer { src in
                result.withUnsafeMutableBufferPointer { dst in
                    for p in 0..<planes {
                        AxisSamples.resample(src.baseAddress! + p * hw, width: w, rows: rows, columns: columns,
                                             outputHeight: h, outputWidth: w) { i, v in dst[p * hw + i] = v }
                    }
                }
            }
            out.pixels = .floats(result)
        }
        return out
    }
}

extension AxisSamples {
    /// A plane of `width` columns read through `rows` and `columns`: `write(i, value)` for each
    /// output pixel `i` (row-major), in source units.
    @inline(__always)
    static func resample<T>(_ src: UnsafePointer<T>, width: Int, rows: AxisSamples, columns: AxisSamples,
                            outputHeight: Int, outputWidth: Int, write: (Int, Float) -> Void)
        where T: PixelValue {
        for y in 0..<outputHeight {
            let r0 = src + Int(rows.first[y]) * width, r1 = src + Int(rows.second[y]) * width
            let fy = rows.fraction[y]
            for x in 0..<outputWidth {
                let c0 = Int(columns.first[x]), c1 = Int(columns.second[x]), fx = columns.fraction[x]
                let top = r0[c0].float + fx * (r0[c1].float - r0[c0].float)
                let bottom = r1[c0].float + fx * (r1[c1].float - r1[c0].float)
                write(y * outputWidth + x, top + fy * (bottom - top))
            }
        }
    }
}

/// A stored pixel (a byte or a float) as a float.
protocol PixelValue { var float: Float { get } }
extension UInt8: PixelValue { @inline(__always) var float: Float { Float(self) } }
extension Float: PixelValue { @inline(__always) var float: Float { self } }

/// torchvision's (ATen's) antialiased bilinear resize of bytes along one axis, bit for bit: each
/// output pixel's taps (the triangle filter, normalised) as 16-bit fixed-point weights whose
/// precision is the largest that keeps the largest weight below 2^15, summed with rounding.
struct FixedPointTaps {
    var start: [Int] = [], weights: [[Int32]] = []
    var precision = 0

    init(source: Int, resized: Int) {
        let scale = Double(source) / Double(resized), support = scale >= 1 ? scale : 1.0
        let invScale = scale >= 1 ? 1 / scale : 1.0
        var real: [[Double]] = []
        for o in 0..<resized {
            let center = scale * (Double(o) + 0.5)
            let first = max(Int(center - support + 0.5), 0), end = min(Int(center + support + 0.5), source)
            var w = (first..<end).map { j in max(0, 1 - abs((Double(j) - center + 0.5) * invScale)) }
            let total = w.reduce(0, +)
            if total != 0 { w = w.map { $0 / total } }
            start.append(first)
            real.append(w)
        }
        let largest = real.joined().max() ?? 1
        while precision < 22, Int(0.5 + largest * Double(1 << (precision + 1))) < 1 << 15 { precision += 1 }
        weights = real.map { row in row.map { Int32(Int($0 < 0 ? -0.5 + $0 * Double(1 << precision)
                                                        : 0.5 + $0 * Double(1 << precision))) } }
    }

    /// Output pixel `o` from the source pixels `pixel(j)`.
    @inline(__always)
    func apply(_ o: Int, _ pixel: (Int) -> UInt8) -> UInt8 {
        var sum = precision > 0 ? 1 << (precision - 1) : 0
        for (k, w) in weights[o].enumerated() { sum += Int(w) * Int(pixel(start[o] + k)) }
        return UInt8(min(255, max(0, sum >> precision)))
    }
}
