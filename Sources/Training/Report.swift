import Checkpoint
import Foundation

/// `report.html` (placeholder until the full report lands; see issue 8).
public enum Report {
    public static func write(metrics: [EpochMetrics], config: TrainConfig, to path: String) throws {
        let html = "<!doctype html><html><head><meta charset=\"utf-8\"><title>ddp-train report</title></head><body><h1>ddp-train run</h1><p>\(metrics.count) metric lines</p></body></html>\n"
        try AtomicFile.write(path, data: Data(html.utf8))
    }
}
