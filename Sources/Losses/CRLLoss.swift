import Settings

/// Where CRL chooses its minority classes and hard samples.
public enum CRLMining: String, Codable, CaseIterable, Sendable, OptionEnum {
    /// Each rank mines its own local batch.
    case local
    /// Scores and labels are all-gathered and mined over the global batch (N ranks = one process).
    case global
}

extension Options {
    public var crlEta: Option<Double> { Option("crl-eta", 0.01, "CRL eta: the rectification term's weight is eta * Omega.", check: .atLeast(0)) }
    public var crlKappa: Option<Int> { Option("crl-kappa", 25, "CRL kappa: hard positives and negatives per minority class.", check: .range(1, 1 << 20)) }
    public var crlMargin: Option<Double> { Option("crl-margin", 0.5, "CRL triplet margin.", check: .atLeast(0)) }
    public var crlRho: Option<Double> { Option("crl-rho", 0.5, "CRL rho: minority classes cover at most this share of the batch.", check: OptionCheck { $0 > 0 && $0 <= 1 ? nil : "must be in (0, 1], got \($0)" }) }
    public var crlMining: Option<CRLMining> { Option("crl-mining", CRLMining.local, "CRL mining over each rank's batch (local) or the all-gathered global batch (global).") }
}

extension LossSpec {
    /// `--loss crl`: class rectification loss (Dong et al. 2017/2019), hard-sample triplets of the
    /// minority classes (`ClassRectification`) beside cross-entropy.
    public static let crl = LossSpec(
        options: { [Options().crlEta, Options().crlKappa, Options().crlMargin, Options().crlRho, Options().crlMining] },
        golden: [GoldenParameter("eta") { $0.crlEta = $1 }, GoldenParameter("kappa") { $0.crlKappa = Int($1) },
                 GoldenParameter("margin") { $0.crlMargin = $1 }, GoldenParameter("rho") { $0.crlRho = $1 }]
    ) { settings, classes, d in
        LossFunction(LossConfig(settings, variant: .crl), classes: classes, featureDimension: d)
    }
}
