/// Why a checkpoint could not be written or read.
public enum CheckpointError: Error, CustomStringConvertible {
    case compression(String)
    case invalid(path: String, reason: String)

    public var description: String {
        switch self {
        case .compression(let reason):
            return "zstd: \(reason)"
        case .invalid(let path, let reason):
            return "\(path): not a valid checkpoint: \(reason)"
        }
    }
}
