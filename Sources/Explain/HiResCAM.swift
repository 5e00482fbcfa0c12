extension ExplainMethodSpec {
    /// `--method hirescam` (Draelos and Carin 2020; pytorch-grad-cam `HiResCAM`).
    public static let hirescam = ExplainMethodSpec(key: "hirescam", tolerance: 2e-3, relative: false,
                                                   needsFeatureMap: true) { e, x in
        (0..<x.pass.batch).map { b in e.elementwise(x.pass, image: b) { a, g in g * a } }
    }
}
