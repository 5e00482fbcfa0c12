extension ExplainMethodSpec {
    /// `--method guided-backprop` (Springenberg et al. 2015; captum `GuidedBackprop`): the input
    /// gradient with every ReLU passing back only positive gradients where its input was positive.
    public static let guidedBackprop = ExplainMethodSpec(key: "guided_backprop", tolerance: 1e-4, relative: true,
                                                         signed: true) { e, x in
        e.guidedBackprop(x)
    }
}

extension Explainer {
    /// Guided backpropagation of each image's class, summed over channels.
    public func guidedBackprop(_ x: ExplainInput) -> [ExplanationMap] {
        inputMaps(pass(x.input, classes: x.classes, reluGradient: .guided).inputGradient, batch: x.classes.count)
    }
}
