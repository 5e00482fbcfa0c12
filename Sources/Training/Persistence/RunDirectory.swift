import Files
import Data
import Checkpoint
import Foundation

/// The files of one run: `config.json`, `subset.npy`, `metrics.jsonl`, `metrics.csv`, `tensorboard/`,
/// `checkpoints/`, `final.safetensors`, `report.html`. Only rank 0 writes here.
public struct RunDirectory: Sendable {
    public let path: String

    public init(path: String) {
        self.path = path
    }

    public var configFile: String { path + "/config.json" }
    public var metricsFile: String { path + "/metrics.jsonl" }
    public var metricsCSV: String { path + "/metrics.csv" }
    /// TensorBoard's log directory of the run (`tensorboard --logdir runs/` finds it).
    public var tensorboardDirectory: String { path + "/tensorboard" }
    public var checkpointDirectory: String { path + "/checkpoints" }
    public var finalWeights: String { path + "/final.safetensors" }
    /// The model of the epoch best on the validation split (`--select-by`), and its checkpoint.
    public var bestWeights: String { path + "/best.safetensors" }
    public var bestCheckpoint: String { path + "/best.ckpt" }
    /// The model at the end of the first stage of a two-stage run (`--stage2`).
    public var stage1Weights: String { path + "/stage1.safetensors" }
    public var reportFile: String { path + "/report.html" }
    /// The training samples trained on: int64 indices into the training set, ascending.
    public var subsetFile: String { path + "/subset.npy" }
    /// Each rank's flight record (its last collectives), written on a stall, error, signal or abort.
    public var flightDirectory: String { path + "/flight" }

    /// `runs/<date-time>` in the current directory.
    public static func defaultPath(now: Date = Date()) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.dateFormat = "yyyyMMdd-HHmmss"
        return "runs/" + f.string(from: now)
    }

    /// Creates the directory and its checkpoint folder and takes the directory's lock (first:
    /// the stale temporaries removed next could otherwise be another job's files in progress).
    public func create() throws -> RunLock {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue {
            throw FileError(path: path, reason: "exists and is not a directory; expected a run directory")
        }
        // Say what is in the way (a file where a directory should be, a directory this user may
        // not write to) instead of Foundation's error code.
        var prefix = path.hasPrefix("/") ? "" : "."
        var deepest = prefix.isEmpty ? "/" : "."
        for part in path.split(separator: "/") {
            prefix += "/" + part
            guard FileManager.default.fileExists(atPath: prefix, isDirectory: &isDirectory) else { break }
            guard isDirectory.boolValue else {
                throw FileError(path: path, reason: "cannot create the run directory: \(prefix) is a file")
            }
            deepest = prefix
        }
        do {
            try FileManager.default.createDirectory(atPath: checkpointDirectory, withIntermediateDirectories: true)
        } catch {
            let reason = FileManager.default.isWritableFile(atPath: deepest)
                ? error.localizedDescription : "\(deepest) is not writable"
            throw FileError(path: path, reason: "cannot create the run directory: \(reason)")
        }
        let lock = try RunLock(directory: path)
        AtomicFile.removeStaleTemporaries(in: path)
        AtomicFile.removeStaleTemporaries(in: checkpointDirectory)
        return lock
    }

    public static func json<T: Encodable>(_ value: T, pretty: Bool = false) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys,
            .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity",
                                                                      negativeInfinity: "-Infinity", nan: "NaN")
        return try encoder.encode(value)
    }

    /// - shotGroups: the classes of each shot group (`many_shot`, `medium_shot`, `few_shot`) by
    ///   the training counts, as `shot_groups`
    public func writeConfig(_ config: TrainConfig, shotGroups: [String: [Int]]? = nil) throws {
        var data = try Self.json(ConfigFile(config: config, shotGroups: shotGroups), pretty: true)
        data.append(0x0A)
        try AtomicFile.write(configFile, data: data)
    }

    /// `subset.npy`: the indices of the training samples trained on (`Dataset.trainIndices`), as
    /// `--subset` reads them back.
    public func writeSubset(_ indices: [Int]) throws {
        let values = indices.map { Int64($0).littleEndian }
        let data = values.withUnsafeBytes { NPYWriter.bytes(descr: "<i8", shape: [values.count], body: $0) }
        try AtomicFile.write(subsetFile, data: data)
    }

    /// config.json: the options, and what they and the data make of them (`TrainConfig.derivedKeys`).
    struct ConfigFile: Encodable {
        var config: TrainConfig
        var shotGroups: [String: [Int]]?
        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }
        func encode(to encoder: Encoder) throws {
            try config.encode(to: encoder)
            var c = encoder.container(keyedBy: Key.self)
            try c.encodeIfPresent(shotGroups, forKey: Key(stringValue: "shot_groups"))
        }
    }

    /// Rewrites `metrics.jsonl` with `lines` (atomically: a resumed run drops what came after its
    /// checkpoint).
    public func writeMetrics(_ lines: [EpochMetrics]) throws {
        var data = Data()
        for line in lines {
            data.append(try Self.json(line))
            data.append(0x0A)
        }
        try AtomicFile.write(metricsFile, data: data)
    }

    /// Checkpoint path for a global step.
    public func checkpointPath(step: Int) -> String {
        checkpointDirectory + "/" + String(format: "step-%08d.ckpt", step)
    }

    /// Checkpoints present, newest (highest step) first.
    public func checkpoints() -> [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: checkpointDirectory)) ?? []
        return files.filter { $0.hasPrefix("step-") && $0.hasSuffix(".ckpt") }.sorted(by: >).map { checkpointDirectory
            + "/" + $0 }
    }

    /// Deletes all but the newest `keep` checkpoints.
    public func pruneCheckpoints(keep: Int) {
        for old in checkpoints().dropFirst(keep) { try? FileManager.default.removeItem(atPath: old) }
    }
}
