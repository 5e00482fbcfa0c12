extension ExplainMethodSpec {
    /// `--method deconvnet` (Zeiler and Fergus 2014; captum `Deconvolution`): the input gradient
    /// with every ReLU passing back `max(dy, 0)`, summed over channels.
    public static let deconvnet = ExplainMethodSpec(key: "deconvnet", tolerance: 1e-4, relative: true,
                                                    signed: true) { e, x in
        e.inputMaps(e.pass(x.input, classes: x.classes, reluGradient: .deconvnet).inputGradient, batch: x.classes.count)
    }
}
