/// Post-hoc logit adjustment (Menon et al. 2021): a model trained without regard to the prior
/// predicts `argmax_c z_c - tau * log(prior_c)`, `prior_c = n_c / sum n` over the global
/// training counts. A class without samples counts as one (its offset stays finite).
public enum PosthocAdjustment {
    /// `-tau * log(prior_c)` for each class: what is added to the logits.
    public static func offsets(counts: [Int], tau: Double) -> [Double] {
        ClassWeights.logPriors(counts: counts).map { -tau * $0 }
    }
}
