import COneDNN
import Foundation
import Testing

/// The program's float32 (C, B, H, W) -> bfloat16 nChw16c conversion (what oneDNN's bfloat16
/// convolutions read) against a scalar one, element by element: rounding, channel padding,
/// partial blocks of positions, a run inside a larger batch, the units split in two calls.
/// Only where the CPU has AVX512_BF16, the one place the program runs it.
@Suite(.enabled(if: ddp_bf16_blocked_available() != 0))
struct BlockedConversionTests {
    /// VCVTNEPS2BF16: nearest, ties to even; a denormal becomes a zero of its sign; a NaN stays a
    /// NaN (made quiet).
    static func bfloat16(_ f: Float) -> UInt16 {
        let u = f.bitPattern
        if f.isNaN { return UInt16(u >> 16) | 0x40 }
        if u & 0x7F80_0000 == 0 { return UInt16((u >> 16) & 0x8000) }
        return UInt16(truncatingIfNeeded: (u &+ 0x7FFF &+ ((u >> 16) & 1)) >> 16)
    }

    // (channels, samples in the run, samples in the batch, first sample of the run, positions)
    @Test(arguments: [(16, 2, 2, 0, 7 * 7), (24, 3, 5, 1, 5 * 5), (40, 2, 4, 2, 14 * 14), (5, 1, 1, 0, 33),
                      (17, 4, 4, 0, 16)])
    func matchesScalarConversion(c: Int, n: Int, batch: Int, first: Int, plane: Int) {
        var x = [Float](repeating: 0, count: c * batch * plane)
        for i in x.indices { x[i] = Float(sin(Double(i) * 0.7) * Double(1 + i % 5)) }
        let specials: [Float] = [1.00390625, 1.01171875, -1.00390625, .leastNormalMagnitude / 8,
                                 -.leastNormalMagnitude / 3,
                                 -0.0, .greatestFiniteMagnitude, -.infinity, .nan, Float(bitPattern: 0x7F80_0001)]
        for (i, v) in specials.enumerated() { x[(i * 13) % x.count] = v }
        let blocks = (c + 15) / 16, units = n * blocks
        let sentinel: UInt16 = 0xBEEF
        var out = [UInt16](repeating: sentinel, count: units * plane * 16 + 16)
        let run = ddp_activation_run(n: Int32(n), c: Int32(c), batch_stride: Int32(batch), plane: plane)
        x.withUnsafeBufferPointer { xs in
            out.withUnsafeMutableBufferPointer { o in
                let start = xs.baseAddress! + first * plane
                ddp_bf16_blocked_from_cbhw(start, run, o.baseAddress!, 0, units / 2)  // in two calls, as threads do
                ddp_bf16_blocked_from_cbhw(start, run, o.baseAddress!, units / 2, units)
            }
        }
        var wrong: [String] = []
        for b in 0..<n {
            for ch in 0..<(blocks * 16) {
                for p in 0..<plane {
                    let got = out[((b * blocks + ch / 16) * plane + p) * 16 + ch % 16]
                    let want = ch < c ? Self.bfloat16(x[(ch * batch + first + b) * plane + p]) : 0
                    if got != want,
                        wrong.count < 5 { wrong.append("sample \(b) channel \(ch) position \(p): \(got) for \(want)") }
                }
            }
        }
        #expect(wrong.isEmpty, "\(wrong)")
        #expect(out[(units * plane * 16)...].allSatisfy { $0 == sentinel }, "written past the end")
    }
}
