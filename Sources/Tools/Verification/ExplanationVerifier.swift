import Explain
import Training
import Foundation
import NN
import Tensor

/// Checks the explanation maps against a golden file (the format of
/// `Tests/golden/explain/explain.json`, docs/explain.md): for each model (weights beside the
/// file) its logits, and for each case (a class per image) every map, within the tolerances of
/// docs/explain.md.
public enum ExplanationVerifier {
    /// One checked item, e.g. `cnn/other/gradcam`.
    public struct Outcome: Sendable {
        public var name: String
        /// Nil when it passed.
        public var error: String?
        public var passed: Bool { error == nil }
    }

    struct File: Decodable {
        var inputs: [[[[Double]]]]
        var models: [GoldenModel]
        /// The methods' parameters the maps were made with (captum's defaults when absent).
        var settings: Settings?
    }

    struct Settings: Decodable {
        var integratedGradientsSteps: Int?
        var occlusionWindow: Int?
        var occlusionStride: Int?
        enum CodingKeys: String, CodingKey {
            case integratedGradientsSteps = "integrated_gradients_steps"
            case occlusionWindow = "occlusion_window"
            case occlusionStride = "occlusion_stride"
        }

        var resolved: ExplainSettings {
            var s = ExplainSettings()
            if let v = integratedGradientsSteps { s.steps = v }
            if let v = occlusionWindow { s.window = v }
            if let v = occlusionStride { s.stride = v }
            return s
        }
    }

    struct GoldenModel: Decodable {
        var model: String
        var weights: String
        var logits: [[Double]]
        var targetLayer: String?
        var cases: [GoldenCase]
        enum CodingKeys: String, CodingKey {
            case model, weights, logits, cases
            case targetLayer = "target_layer"
        }
    }

    /// A class per image and, by the methods' golden keys (`ExplainMethodSpec.golden`), their maps.
    struct GoldenCase: Decodable {
        var targets: String
        var classes: [Int]
        var maps: [String: [[[Double]]]] = [:]

        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: Key.self)
            targets = try c.decode(String.self, forKey: Key(stringValue: "targets"))
            classes = try c.decode([Int].self, forKey: Key(stringValue: "classes"))
            for method in ExplainMethod.allCases {
                for g in method.spec.golden where c.contains(Key(stringValue: g.key)) {
                    maps[g.key] = try c.decode([[[Double]]].self, forKey: Key(stringValue: g.key))
                }
            }
        }
    }

    public static func verify(path: String) throws -> [Outcome] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ExplainError("\(path): cannot read the file")
        }
        let file: File
        do {
            file = try JSONDecoder().decode(File.self, from: data)
        } catch let error as DecodingError {
            throw ExplainError("\(path): not a golden-explanations file: \(describe(error))")
        }
        // (N, C, H, W) images, each the same shape.
        guard let first = file.inputs.first, let rows = first.first, let row = rows.first, !row.isEmpty,
              file.inputs.allSatisfy({ $0.count == first.count
                  && $0.allSatisfy { $0.count == rows.count && $0.allSatisfy { $0.count == row.count } } })
        else { throw ExplainError("\(path): inputs: expected N images of the same shape (N, C, H, W)") }
        let (n, c, h, w) = (file.inputs.count, first.count, rows.count, row.count)
        let directory = (path as NSString).deletingLastPathComponent
        var outcomes: [Outcome] = []
        for (mi, g) in file.models.enumerated() {
            let name = "models[\(mi)] \(g.model)"
            do {
                outcomes += try check(g, name: name, inputs: file.inputs, shape: (n, c, h, w),
                                      settings: file.settings?.resolved ?? ExplainSettings(),
                                      directory: directory)
            } catch {
                outcomes.append(Outcome(name: name, error: "\(error)"))
            }
        }
        return outcomes
    }

    static func check(_ g: GoldenModel, name: String, inputs: [[[[Double]]]], shape: (n: Int, c: Int, h: Int, w: Int),
                      settings: ExplainSettings, directory: String) throws -> [Outcome] {
        if let problem = settings.problem { throw ExplainError("settings: \(problem)") }
        guard let architecture = Architecture(rawValue: g.model) else {
            throw ExplainError("model \"\(g.model)\": expected one of " +
                               "\(Architecture.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard g.logits.count == shape.n, let k = g.logits.first?.count, k > 0,
            g.logits.allSatisfy({ $0.count == k }) else {
            throw ExplainError("logits: expected \(shape.n) rows of the same length (one per input)")
        }
        guard min(shape.h, shape.w) >= architecture.minimumSide else {
            throw ExplainError("inputs of \(shape.h) x \(shape.w): \(architecture.rawValue) needs images of at least " +
                               "\(architecture.minimumSide) x \(architecture.minimumSide)")
        }
        let model = Model.make(architecture, inputShape: InputShape(channels: shape.c, height: shape.h, width: shape.w),
                               classes: k, seed: 0)
        let weights = g.weights.hasPrefix("/") ? g.weights : directory + "/" + g.weights
        try ModelWeights.load(weights, into: model)
        let explainer = try Explainer(model: model, layer: g.targetLayer)
        // The model's layout: channel-major (C, N, H, W), or rows (N, C*H*W) for the mlp.
        let input = Tensor(shape: model.inputLayout == .rows ? [shape.n, shape.c * shape.h * shape.w] : [shape.c,
            shape.n, shape.h, shape.w])
        let hw = shape.h * shape.w
        for b in 0..<shape.n {
            for ch in 0..<shape.c {
                let base = model.inputLayout == .rows ? b * shape.c * hw + ch * hw : (ch * shape.n + b) * hw
                for y in 0..<shape.h { for x in 0..<shape.w { input.data[base + y * shape.w
                    + x] = Float(inputs[b][ch][y][x]) } }
            }
        }
        let logits = explainer.pass(input, classes: Array(repeating: 0, count: shape.n)).logits.map(Double.init)
        var outcomes = [Outcome(name: "\(name) logits",
                                error: compare(logits, g.logits.flatMap { $0 }, tolerance: 1e-4, relative: true,
                                               width: k))]
        for (ci, c) in g.cases.enumerated() {
            let caseName = "\(name) cases[\(ci)] (\(c.targets))"
            guard c.classes.count == shape.n, c.classes.allSatisfy({ (0..<k).contains($0) }) else {
                outcomes.append(Outcome(name: caseName, error: "classes: expected \(shape.n) classes in 0..<\(k)"))
                continue
            }
            let pass = explainer.pass(input, classes: c.classes)
            for method in ExplainMethod.allCases {
                for golden in method.spec.golden {
                    guard let want = c.maps[golden.key] else { continue }
                    let itemName = "\(caseName) \(golden.key)"
                    if let problem = method.problem(explainer, layerGiven: g.targetLayer != nil) {
                        outcomes.append(Outcome(name: itemName, error: problem))
                        continue
                    }
                    let got = golden.compute(explainer,
                                             ExplainInput(input: input, classes: c.classes, pass: pass,
                                                          settings: settings))
                    guard want.count == got.count,
                        zip(want, got).allSatisfy({ pair in pair.0.count == pair.1.height
                        && pair.0.allSatisfy { $0.count == pair.1.width } }) else {
                        outcomes.append(Outcome(name: itemName,
                                                error: "expected \(got.count) maps of \(got.first?.height ?? 0) x " +
                                                       "\(got.first?.width ?? 0)"))
                        continue
                    }
                    // Per image, so that a failure names it.
                    var problems: [String] = []
                    for (i, (m, wm)) in zip(got, want).enumerated() {
                        if let e = compare(m.values, wm.flatMap { $0 }, tolerance: golden.tolerance,
                                           relative: golden.relative, width: m.width) {
                            problems.append("image \(i): \(e)")
                        }
                    }
                    outcomes.append(Outcome(name: itemName,
                                            error: problems.isEmpty ? nil : problems.joined(separator: "; ")))
                }
            }
        }
        return outcomes
    }

    /// Nil when `|got - want| <= tolerance * (relative ? max(1, max|want|) : 1)` everywhere.
    /// Elements are named (row, column) of rows of `width`.
    static func compare(_ got: [Double], _ want: [Double], tolerance: Double, relative: Bool, width: Int) -> String? {
        guard got.count == want.count else { return "\(got.count) values, expected \(want.count)" }
        let bound = tolerance * (relative ? max(1, want.map(abs).max() ?? 0) : 1)
        var worst = 0.0, at = 0
        for i in got.indices {
            let e = abs(got[i] - want[i])
            if !(e <= worst) { worst = e; at = i }  // NaN counts as the worst
        }
        return worst <= bound ? nil : "max error \(worst) at (\(at / width), \(at % width)) (got \(got[at]), want " +
                                      "\(want[at]); tolerance \(bound))"
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
        }
        switch error {
        case .keyNotFound(let key, let context): return "\(path(context)).\(key.stringValue): missing"
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            return "\(path(context)): \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }
}
