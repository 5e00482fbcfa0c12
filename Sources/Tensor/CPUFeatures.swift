import Foundation

/// What the CPU can run, read from `/proc/cpuinfo` (Linux).
public struct CPUFeatures: Sendable {
    public var avx512f: Bool
    public var avx2: Bool
    public var fma: Bool
    /// AVX-512 bfloat16 instructions (Cooper Lake, Sapphire Rapids, AMD Zen 4 and 5).
    public var avx512bf16: Bool
    public var modelName: String

    /// The features of this machine's CPU.
    public static let current: CPUFeatures = {
        let text = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        return CPUFeatures(cpuinfo: text)
    }()

    /// Parses the first processor's `flags` and `model name` lines of a cpuinfo text.
    public init(cpuinfo text: String) {
        var flags = Set<Substring>()
        var model = "unknown"
        for line in text.split(separator: "\n") {
            if flags.isEmpty, line.hasPrefix("flags"), let colon = line.firstIndex(of: ":") {
                flags = Set(line[line.index(after: colon)...].split(separator: " "))
            } else if model == "unknown", line.hasPrefix("model name"), let colon = line.firstIndex(of: ":") {
                model = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        avx512f = flags.contains("avx512f")
        avx2 = flags.contains("avx2")
        fma = flags.contains("fma")
        avx512bf16 = flags.contains("avx512_bf16")
        modelName = model
    }
}
