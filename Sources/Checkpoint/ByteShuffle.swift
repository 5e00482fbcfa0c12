/// Splits 4-byte floats into 4 byte planes (all first bytes, then all second bytes, ...).
///
/// Trained weights share sign and exponent bytes, so the planes of high bytes
/// compress far better than interleaved floats (the Blosc/HDF5 shuffle filter).
public enum ByteShuffle {
    /// `count` floats at `source` into `4 * count` bytes at `destination`, plane by plane.
    public static func shuffle(_ source: UnsafeRawPointer, count: Int, into destination: UnsafeMutableRawPointer) {
        let src = source.assumingMemoryBound(to: UInt8.self)
        let dst = destination.assumingMemoryBound(to: UInt8.self)
        for plane in 0..<4 {
            let out = dst + plane * count
            for i in 0..<count { out[i] = src[4 * i + plane] }
        }
    }

    /// The inverse of `shuffle`.
    public static func unshuffle(_ source: UnsafeRawPointer, count: Int, into destination: UnsafeMutableRawPointer) {
        let src = source.assumingMemoryBound(to: UInt8.self)
        let dst = destination.assumingMemoryBound(to: UInt8.self)
        for plane in 0..<4 {
            let input = src + plane * count
            for i in 0..<count { dst[4 * i + plane] = input[i] }
        }
    }
}
