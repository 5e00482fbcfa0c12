import CHalf
import Foundation
import Testing
@testable import Distributed

/// The 16-bit roundings of `--grad-compression` against Swift's own `Float16` (IEEE
/// binary16, round to nearest even) and against bfloat16 defined as float32's top half
/// rounded to nearest even; lengths that are not multiples of 8 run both the vector body
/// and the scalar tail.
@Suite struct GradientCompressionTests {
    /// Values across binary16's range: normals, subnormals, ties, overflow, zeros, NaN.
    static let probes: [Float] = {
        var v: [Float] = [0, -0, 1, -1, 0.1, 65504, 65519.99, 65520, -65520, 1e9, .infinity, -.infinity, .nan,
                          6.1035156e-5, 6.0e-5, 5.9604645e-8, 2.9802322e-8, 2.98023259e-8, 8.940697e-8, 1e-10,
                          1 + 1.0 / 2048, 1 + 3.0 / 2048, 2049, 2051, 3.14159265, -2.71828]
        var state: UInt32 = 12345
        for _ in 0..<1000 {
            state = state &* 1_664_525 &+ 1_013_904_223
            let exponent = Float(Int(state >> 24) % 48 - 30)
            let mantissa = Float(state & 0xffff) / 65536 + 1
            v.append((state & 1 == 0 ? 1 : -1) * mantissa * Float(pow(2.0, Double(exponent))))
        }
        return v
    }()

    static func bf16Reference(_ x: Float) -> UInt16 {
        if x.isNaN { return UInt16(x.bitPattern >> 16) | 0x40 }
        let u = x.bitPattern
        return UInt16((u &+ 0x7fff &+ ((u >> 16) & 1)) >> 16)
    }

    @Test(arguments: [1, 7, 8, 9, 1027]) func fp16MatchesSwiftFloat16(length: Int) {
        let x = (0..<length).map { Self.probes[$0 % Self.probes.count] }
        var h = [UInt16](repeating: 0, count: length)
        var back = [Float](repeating: 0, count: length)
        half_fp16_from_float(x, &h, length)
        half_fp16_to_float(h, &back, length)
        for i in 0..<length {
            let expected = Float16(x[i])
            if x[i].isNaN { #expect(back[i].isNaN); continue }
            #expect(h[i] == expected.bitPattern, "fp16 of \(x[i]): \(h[i]) != \(expected.bitPattern)")
            #expect(back[i].bitPattern == Float(expected).bitPattern, "fp16 back of \(x[i])")
        }
    }

    @Test(arguments: [1, 7, 8, 9, 1027]) func bf16IsTheRoundedTopHalf(length: Int) {
        let x = (0..<length).map { Self.probes[$0 % Self.probes.count] }
        var h = [UInt16](repeating: 0, count: length)
        var back = [Float](repeating: 0, count: length)
        half_bf16_from_float(x, &h, length)
        half_bf16_to_float(h, &back, length)
        for i in 0..<length {
            #expect(h[i] == Self.bf16Reference(x[i]), "bf16 of \(x[i])")
            if !x[i].isNaN { #expect(back[i].bitPattern == UInt32(h[i]) << 16) } else { #expect(back[i].isNaN) }
        }
        // Ties go to even: 1 + 2^-8 is halfway between 1 and 1 + 2^-7.
        #expect(Self.bf16Reference(1 + 1.0 / 256) == 0x3f80 && Self.bf16Reference(1 + 3.0 / 256) == 0x3f82)
    }

    @Test(arguments: [GradientCompression.bf16,
                      .fp16]) func sumsAddInFloatAndRoundOnce(compression: GradientCompression) {
        let n = 1027
        let a = (0..<n).map { Float(sin(Double($0))) }, b = (0..<n).map { Float(cos(Double($0) * 0.7)) * 0.01 }
        var ha = [UInt16](repeating: 0, count: n), hb = ha, hs = ha
        compression.compress(a, into: &ha, count: n)
        compression.compress(b, into: &hb, count: n)
        var wa = [Float](repeating: 0, count: n), wb = wa
        compression.decompress(ha, into: &wa, count: n)
        compression.decompress(hb, into: &wb, count: n)
        compression.compress(zip(wa, wb).map { $0 + $1 }, into: &hs, count: n)
        if compression == .bf16 { half_bf16_sum(ha, &hb, n) } else { half_fp16_sum(ha, &hb, n) }
        #expect(hs == hb)
    }

    /// One rank rounds its gradients as N ranks' sums are rounded: the reducer leaves exactly the
    /// 16-bit values, within the format's relative precision of the float32 gradients.
    @Test(arguments: [GradientCompression.bf16,
                      .fp16]) func oneRankRoundsItsGradients(compression: GradientCompression) throws {
        let n = 300
        let original = (0..<n).map { Float(sin(Double($0) * 1.3)) * 0.05 }
        let g = UnsafeMutablePointer<Float>.allocate(capacity: n)
        defer { g.deallocate() }
        g.initialize(from: original, count: n)
        let reducer = GradientReducer(comm: SingleProcessCommunicator(), gradients: g, count: n,
                                      layerOffsets: [0, 100, 200],
                                      firstBucketBytes: 400, bucketBytes: 400, compression: compression)
        #expect(reducer.bytesPerStep == 2 * n)
        reducer.reset()
        try reducer.gradientsReady(from: 100)
        try reducer.finish()
        let precision: Float = compression == .bf16 ? 1.0 / 256 : 1.0 / 2048
        var changed = 0
        for i in 0..<n {
            var h: UInt16 = 0, w: Float = 0
            compression.compress([original[i]], into: &h, count: 1)
            compression.decompress([h], into: &w, count: 1)
            #expect(g[i] == w)
            #expect(abs(g[i] - original[i]) <= precision * abs(original[i]))
            if g[i] != original[i] { changed += 1 }
        }
        #expect(changed > n / 2)
    }
}
