extension ExplainMethodSpec {
    /// `--method layercam` (Jiang et al. 2021; pytorch-grad-cam `LayerCAM`): `sum_k relu(G_k) A_k` at each position.
    public static let layercam = ExplainMethodSpec(key: "layercam", tolerance: 2e-3, relative: false,
                                                   needsFeatureMap: true) { e, x in
        (0..<x.pass.batch).map { b in e.elementwise(x.pass, image: b) { a, g in max(g, 0) * a } }
    }
}
