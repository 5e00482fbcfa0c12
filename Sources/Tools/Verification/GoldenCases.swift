/// The golden files' formats (`Tests/golden/losses.json`, `longtail_losses.json`,
/// `metric_losses.json`; docs/losses.md): what `GoldenVerifier` checks.
extension GoldenVerifier {
    struct File: Decodable {
        var losses: [LossCase]?
        var classWeights: [WeightCase]?
        var longTailCounts: [LongTailCase]?
        var metricLosses: [MetricCase]?
        var posthoc: [PosthocCase]?
        /// decoupling.json: learnable weight scaling and tau-normalisation.
        var lws: [LWSCase]?
        var tauNorm: [TauNormCase]?
        /// miners.json: triplet losses over mined triplets.
        var miners: [MinerCase]?
        enum CodingKeys: String, CodingKey {
            case miners = "cases"
            case lws
            case tauNorm = "tau_norm"
            case posthoc = "posthoc_logit_adjustment"
            case losses
            case classWeights = "class_weights"
            case longTailCounts = "long_tail_counts"
            case metricLosses = "metric_losses"
        }
    }

    struct MetricCase: Decodable {
        var loss: String
        var params: [String: Double]
        var n: Int, k: Int, d: Int
        var embeddings: [[Double]]
        var target: [Int]
        var W: [[Double]]?
        var centers: [[Double]]?
        var expected: Expected
        struct Expected: Decodable {
            var loss: Double
            var dembeddings: [[Double]]
            var dW: [[Double]]?
            var centersAfter: [[Double]]?
            enum CodingKeys: String, CodingKey {
                case loss, dembeddings, dW
                case centersAfter = "centers_after"
            }
        }
    }

    struct LossCase: Decodable {
        var loss: String
        var params: [String: Double]
        var classWeights: String?
        var globalCounts: [Int]
        var weight: [Double]?
        var n: Int, k: Int, d: Int
        var logits: [[Double]]
        var target: [Int]
        var h: [[Double]]
        var expected: Expected
        struct Expected: Decodable {
            var loss: Double
            var dlogits: [[Double]]
            var dh: [[Double]]
        }
        enum CodingKeys: String, CodingKey {
            case loss, params, weight, n, k, d, logits, target, h, expected
            case classWeights = "class_weights"
            case globalCounts = "global_counts"
        }
    }

    struct PosthocCase: Decodable {
        var tau: Double
        var globalCounts: [Int]
        var logits: [[Double]]
        var expected: [[Double]]
        enum CodingKeys: String, CodingKey {
            case tau, logits, expected
            case globalCounts = "global_counts"
        }
    }

    struct WeightCase: Decodable {
        var counts: [Int]
        var ib: [Double]
        var cb: [Double]
        var crlOmega: Double
        enum CodingKeys: String, CodingKey {
            case counts, ib
            case cb = "cb_0.9999"
            case crlOmega = "crl_omega"
        }
    }

    struct LongTailCase: Decodable {
        var perClass: Int
        var classes: Int
        var ratio: Double
        var exp: [Int]
        var step: [Int]
        enum CodingKeys: String, CodingKey {
            case perClass = "per_class"
            case classes, ratio, exp, step
        }
    }

    /// A triplet loss with a miner (pytorch-metric-learning, float64): the triplets mined, the
    /// loss and its gradient with respect to the (unnormalised) embeddings.
    struct MinerCase: Decodable {
        var loss: String
        var miner: String
        var margin: Double
        var embeddings: [[Double]]
        var labels: [Int]
        var minedTriplets: Int
        var value: Double
        var grad: [[Double]]
        enum CodingKeys: String, CodingKey {
            case loss, miner, margin, embeddings, labels, value, grad
            case minedTriplets = "mined_triplets"
        }
    }
}
