import CHalf

/// How gradients travel in the all-reduce (PyTorch DDP's `bf16_compress_hook` and
/// `fp16_compress_hook`): rounded to 16 bits before the sum, summed in 16 bits (each
/// pairwise addition in float32, rounded back), widened after. Half the bytes; the
/// result differs from the float32 sum by the roundings (relative 2^-8 per rounding for
/// bfloat16, 2^-11 for float16, which also flushes below 6e-8 and overflows past 65504).
public enum GradientCompression: String, Codable, CaseIterable, Sendable {
    case none, bf16, fp16

    /// The element type on the wire, nil when uncompressed.
    public var kind: ScalarKind? {
        switch self {
        case .none: return nil
        case .bf16: return .bfloat16
        case .fp16: return .float16
        }
    }

    /// Bytes of one gradient element on the wire.
    public var bytesPerElement: Int { kind?.byteCount ?? 4 }

    /// Rounds `count` floats into 16-bit patterns.
    public func compress(_ source: UnsafePointer<Float>, into target: UnsafeMutablePointer<UInt16>, count: Int) {
        switch self {
        case .none: preconditionFailure("compress without compression")
        case .bf16: half_bf16_from_float(source, target, count)
        case .fp16: half_fp16_from_float(source, target, count)
        }
    }

    /// Widens `count` 16-bit patterns back into floats.
    public func decompress(_ source: UnsafePointer<UInt16>, into target: UnsafeMutablePointer<Float>, count: Int) {
        switch self {
        case .none: preconditionFailure("decompress without compression")
        case .bf16: half_bf16_to_float(source, target, count)
        case .fp16: half_fp16_to_float(source, target, count)
        }
    }
}
