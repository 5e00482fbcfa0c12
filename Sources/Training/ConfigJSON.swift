import Foundation

/// The configuration as one line of JSON (the start-of-run log line).
public enum ConfigJSON {
    public static func encode(_ config: TrainConfig) throws -> Data {
        try RunDirectory.json(config)
    }
}
