import Files
import Checkpoint
import Distributed
import Explain
import Foundation
import Training

extension ExplainJob {
    /// `explain --features`: for each selected test image, the `count` strongest feature maps of
    /// `--layer` (the last feature map by default) as pictures, and the first layer's filters, in
    /// `features.html` and `filters.png` of `--out` (rank 0 writes; the passes are cheap).
    /// Returns the layer's name.
    public static func features(_ r: Request, count: Int = 8, comm: Communicator, log: Log) throws -> String {
        let loaded = try ModelLoader.load(r.source, data: r.data, testList: r.testList, cardless: r.cardless,
                                          comm: comm, log: log)
        let explainer = try comm.agree { () throws -> Explainer in
            let explainer = try Explainer(model: loaded.model, layer: r.layer)
            guard let target = explainer.target else {
                throw ExplainError("--features needs a feature map (a convolutional layer's output); " +
                                   "\(loaded.model.architecture.rawValue) has none")
            }
            _ = target
            if case .indices(let indices) = r.selection,
                let bad = indices.first(where: { !(0..<loaded.test.count).contains($0) }) {
                throw ExplainError("--indices \(bad): the test set has images 0..<\(loaded.test.count)")
            }
            return explainer
        }
        let indices = try select(r.selection, loaded: loaded, comm: comm)
        let layer = loaded.model.tapNames[explainer.target!]
        try comm.agree {
            guard comm.rank == 0 else { return }
            if indices.isEmpty { throw ExplainError("no test image matches the selection") }
            let strongest = FeatureView.strongest(explainer, input: input(indices, loaded), images: indices.count,
                                                  count: count)
            try FileManager.default.createDirectory(atPath: r.out, withIntermediateDirectories: true)
            let title = "ddp-train explain --features: \(layer) of \(loaded.model.architecture.rawValue)"
            var body = "<h1>\(Report.escape(title))</h1>\n"
            body += "<p class=\"note\">\(Report.escape(r.source)). For each image, the \(count) channels of " +
                    "\(Report.escape(layer)) with the largest mean activation, strongest first (viridis, each from " +
                    "its minimum to its maximum).</p>\n"
            if let f = FeatureView.filters(loaded.model) {
                let png = Data(PNG.encode(width: f.width, height: f.height, rgb: f.rgb))
                try AtomicFile.write(r.out + "/filters.png", data: png)
                body += "<h2>The first layer's \(f.count) filters</h2>\n<p class=\"note\">Each filter's weights " +
                        "(averaged over the input channels) from black (lowest) to white (highest).</p>\n"
                body += "<img src=\"data:image/png;base64,\(png.base64EncodedString())\" width=\"\(f.width)\" " +
                        "height=\"\(f.height)\" alt=\"filters.png\">\n"
            }
            for (index, channels) in zip(indices, strongest) {
                let label = Int(loaded.test.labels[index])
                body += "<h2>#\(index) &middot; true " +
                        "\(Report.escape(loaded.statistics.label(label)))</h2>\n<div class=\"row\">\n"
                let image = ExplanationMap(height: loaded.test.height, width: loaded.test.width,
                                           values: (0..<(loaded.test.height
                                               * loaded.test.width)).map { Double(loaded.test.value(index, $0)) })
                body += figure(FeatureView.tile(image), caption: "input")
                for c in channels { body += figure(FeatureView.tile(c.map),
                                                   caption: String(format: "channel %d, mean %.3g", c.channel,
                                                                   c.mean)) }
                body += "</div>\n"
            }
            let html = """
                <!doctype html>
                <html lang="en"><head><meta charset="utf-8"><title>ddp-train explain --features</title>
                <style>
                body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1480px; color: #222; }
                h1 { font-size: 1.4em; } h2 { font-size: 1.1em; margin-top: 1.4em; } p.note { color: #555; }
                .row { display: flex; flex-wrap: wrap; gap: 12px; }
                figure { margin: 0; } figcaption { font-size: 12px; }
                img { image-rendering: pixelated; border: 1px solid #ddd; }
                </style></head><body>
                \(body)</body></html>

                """
            try AtomicFile.write(r.out + "/features.html", data: Data(html.utf8))
        }
        return layer
    }

    static func figure(_ t: (rgb: [UInt8], height: Int, width: Int), caption: String) -> String {
        let png = Data(PNG.encode(width: t.width, height: t.height, rgb: t.rgb))
        return "<figure><img src=\"data:image/png;base64,\(png.base64EncodedString())\" width=\"\(t.width)\" " +
               "height=\"\(t.height)\"><figcaption>\(Report.escape(caption))</figcaption></figure>\n"
    }
}
