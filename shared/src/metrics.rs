//! The metric catalog: every metric the analyser and the evaluator publish in the stack's
//! namespace, and the `AWS/CloudFront` and `AWS/WAFV2` metrics rules may use. Rules, the dashboard and the
//! functions name metrics through these constants, never by retyping strings.

/// The namespace CloudFront publishes its own distribution metrics in (region us-east-1,
/// dimensions `DistributionId` and `Region=Global`).
pub const CLOUDFRONT_NAMESPACE: &str = "AWS/CloudFront";

/// Prefix by which a rule names a CloudFront metric: `CloudFront:5xxErrorRate`.
pub const CLOUDFRONT_PREFIX: &str = "CloudFront:";

/// The namespace WAF publishes its web ACL metrics in. For a CLOUDFRONT-scope web ACL they
/// exist only in us-east-1, with the dimensions `WebACL` (the web ACL's metric name) and
/// `Rule` (a rule's metric name, or `ALL` for the whole web ACL), and no `Region` dimension
/// (that one is for regional web ACLs only).
pub const WAF_NAMESPACE: &str = "AWS/WAFV2";

/// Prefix by which a rule names a WAF metric of the stack's web ACL: `WAF:BlockedRequests`
/// (the whole web ACL) or `WAF:BlockedRequests:rate-limit` (one of its rules).
pub const WAF_PREFIX: &str = "WAF:";

/// WAF's metrics of a web ACL and its rules that the stack's web ACL can produce: its rules
/// allow, block or count (none uses CAPTCHA or Challenge, so `CaptchaRequests` and
/// `ChallengeRequests` would stay empty).
pub const WAF_METRICS: &[&str] = &["AllowedRequests", "BlockedRequests", "CountedRequests"];
pub const WAF_ALLOWED: &str = "AllowedRequests";
pub const WAF_BLOCKED: &str = "BlockedRequests";
pub const WAF_COUNTED: &str = "CountedRequests";
/// WAF's dimension names and the `Rule` value of a web ACL's totals.
pub const DIM_WEB_ACL: &str = "WebACL";
pub const DIM_WAF_RULE: &str = "Rule";
pub const WAF_ALL_RULES: &str = "ALL";

pub const REQUESTS: &str = "Requests";
pub const BYTES_SENT: &str = "BytesSent";
pub const BYTES_RECEIVED: &str = "BytesReceived";
pub const STATUS_2XX: &str = "Status2xx";
pub const STATUS_3XX: &str = "Status3xx";
pub const STATUS_4XX: &str = "Status4xx";
pub const STATUS_5XX: &str = "Status5xx";
pub const ERROR_RATE_4XX: &str = "ErrorRate4xx";
pub const ERROR_RATE_5XX: &str = "ErrorRate5xx";
pub const CACHE_HITS: &str = "CacheHits";
pub const CACHE_HIT_RATIO: &str = "CacheHitRatio";
pub const TIME_TAKEN: &str = "TimeTaken";
pub const TIME_TO_FIRST_BYTE: &str = "TimeToFirstByte";
pub const ORIGIN_FIRST_BYTE_LATENCY: &str = "OriginFirstByteLatency";
pub const ORIGIN_LAST_BYTE_LATENCY: &str = "OriginLastByteLatency";
pub const REQUESTS_BY_COUNTRY: &str = "RequestsByCountry";
pub const REQUESTS_BY_EDGE_LOCATION: &str = "RequestsByEdgeLocation";
pub const REQUESTS_BY_PATH_PATTERN: &str = "RequestsByPathPattern";
pub const REQUESTS_BY_PROTOCOL_VERSION: &str = "RequestsByProtocolVersion";
pub const REQUESTS_BY_APP_HEADER: &str = "RequestsByAppHeader";
pub const CLIENTS_BY_THREAT_LEVEL: &str = "ClientsByThreatLevel";
/// Clients scored HIGH or CRITICAL in a minute (the built-in rule alarms on it).
pub const HIGH_THREAT_CLIENTS: &str = "HighThreatClients";
pub const MALFORMED_RECORDS: &str = "MalformedRecords";
/// Published by the evaluator: 0 OK, 1 ALARM, 2 INSUFFICIENT_DATA, dimension `Rule`.
pub const RULE_STATE: &str = "RuleState";

/// Dimension names. A real-time log record names its distribution only by domain
/// (`x-host-header`, e.g. d111111abcdef8.cloudfront.net), so that is the dimension value.
pub const DIM_DISTRIBUTION: &str = "Distribution";
pub const DIM_COUNTRY: &str = "Country";
pub const DIM_EDGE_LOCATION: &str = "EdgeLocation";
pub const DIM_PATH_PATTERN: &str = "PathPattern";
pub const DIM_PROTOCOL_VERSION: &str = "ProtocolVersion";
pub const DIM_HEADER: &str = "Header";
pub const DIM_HEADER_VALUE: &str = "Value";
pub const DIM_THREAT_LEVEL: &str = "ThreatLevel";
pub const DIM_RULE: &str = "Rule";

/// Metrics in the stack's namespace that rules may reference.
pub const STACK_METRICS: &[&str] = &[
    REQUESTS,
    BYTES_SENT,
    BYTES_RECEIVED,
    STATUS_2XX,
    STATUS_3XX,
    STATUS_4XX,
    STATUS_5XX,
    ERROR_RATE_4XX,
    ERROR_RATE_5XX,
    CACHE_HITS,
    CACHE_HIT_RATIO,
    TIME_TAKEN,
    TIME_TO_FIRST_BYTE,
    ORIGIN_FIRST_BYTE_LATENCY,
    ORIGIN_LAST_BYTE_LATENCY,
    REQUESTS_BY_COUNTRY,
    REQUESTS_BY_EDGE_LOCATION,
    REQUESTS_BY_PATH_PATTERN,
    REQUESTS_BY_PROTOCOL_VERSION,
    REQUESTS_BY_APP_HEADER,
    CLIENTS_BY_THREAT_LEVEL,
    HIGH_THREAT_CLIENTS,
    MALFORMED_RECORDS,
    RULE_STATE,
];

/// CloudFront's own metrics (from `OriginLatency` on, they need the distribution's
/// additional metrics: `[distribution] additional_metrics = true`).
pub const CLOUDFRONT_METRICS: &[&str] = &[
    "Requests",
    "BytesDownloaded",
    "BytesUploaded",
    "TotalErrorRate",
    "4xxErrorRate",
    "5xxErrorRate",
    "OriginLatency",
    "CacheHitRate",
    "401ErrorRate",
    "403ErrorRate",
    "404ErrorRate",
    "502ErrorRate",
    "503ErrorRate",
    "504ErrorRate",
];

/// A metric a rule refers to, resolved against the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricRef<'a> {
    Stack(&'a str),
    CloudFront(&'a str),
    /// A metric of the stack's web ACL (`[waf]`): of one rule (by its metric name), or of the
    /// whole web ACL when `rule` is `None` (dimension `Rule=ALL`).
    Waf {
        metric: &'a str,
        rule: Option<&'a str>,
    },
}

/// Whether `name` can be a WAF rule's metric name: 1–128 letters, digits, `-` and `_` (WAF's
/// own rule for metric names), and not a name WAF reserves (`ALL`, `Default_Action`).
pub fn is_waf_rule_name(name: &str) -> bool {
    (1..=128).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && !["ALL", "All", "Default_Action"].contains(&name)
}

/// Resolves a rule's metric name; `None` when the catalog has no such metric. A WAF rule
/// name is only checked for its form here: which rules the web ACL has is the config's.
pub fn resolve(name: &str) -> Option<MetricRef<'_>> {
    if let Some(rest) = name.strip_prefix(CLOUDFRONT_PREFIX) {
        return CLOUDFRONT_METRICS
            .contains(&rest)
            .then_some(MetricRef::CloudFront(rest));
    }
    if let Some(rest) = name.strip_prefix(WAF_PREFIX) {
        let (metric, rule) = match rest.split_once(':') {
            Some((metric, rule)) => (metric, Some(rule)),
            None => (rest, None),
        };
        let known = WAF_METRICS.contains(&metric) && rule.is_none_or(is_waf_rule_name);
        return known.then_some(MetricRef::Waf { metric, rule });
    }
    STACK_METRICS
        .contains(&name)
        .then_some(MetricRef::Stack(name))
}

/// The metric names of the rules of the web ACL `[waf]` creates (the `Rule` dimension of its
/// per-rule metrics), in evaluation order: the allow list, the block list, the rate limit
/// (when on) and the managed rule groups. The deployer's web ACL spec names its rules the
/// same (a test there holds the two together).
pub fn waf_rule_names(waf: &crate::schema::Waf) -> Vec<String> {
    let mut names = vec![
        WAF_RULE_ALLOW_LIST.to_string(),
        WAF_RULE_BLOCK_LIST.to_string(),
    ];
    if waf.rate_limit.requests_per_5_minutes > 0 {
        names.push(WAF_RULE_RATE_LIMIT.to_string());
    }
    names.extend(waf.managed_rule_groups.iter().map(|g| g.name.clone()));
    names
}

/// The metric names of the web ACL's own rules (see [`waf_rule_names`]).
pub const WAF_RULE_ALLOW_LIST: &str = "allow-list";
pub const WAF_RULE_BLOCK_LIST: &str = "block-list";
pub const WAF_RULE_RATE_LIMIT: &str = "rate-limit";

/// Whether `statistic` is one CloudWatch accepts for a rule: a plain statistic or a
/// percentile `pNN` / `pNN.N` between 0 and 100.
pub fn is_statistic(statistic: &str) -> bool {
    if ["Sum", "Average", "Minimum", "Maximum", "SampleCount"].contains(&statistic) {
        return true;
    }
    statistic
        .strip_prefix('p')
        .and_then(|number| number.parse::<f64>().ok())
        .is_some_and(|p| (0.0..=100.0).contains(&p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_both_namespaces() {
        assert_eq!(resolve("TimeTaken"), Some(MetricRef::Stack("TimeTaken")));
        assert_eq!(
            resolve("CloudFront:5xxErrorRate"),
            Some(MetricRef::CloudFront("5xxErrorRate"))
        );
        assert_eq!(resolve("CloudFront:TimeTaken"), None);
        assert_eq!(
            resolve("WAF:BlockedRequests"),
            Some(MetricRef::Waf {
                metric: "BlockedRequests",
                rule: None
            })
        );
        assert_eq!(
            resolve("WAF:CountedRequests:rate-limit"),
            Some(MetricRef::Waf {
                metric: "CountedRequests",
                rule: Some("rate-limit")
            })
        );
        assert_eq!(resolve("WAF:PassedRequests"), None);
        assert_eq!(resolve("WAF:BlockedRequests:"), None);
        assert_eq!(resolve("WAF:BlockedRequests:ALL"), None);
        assert_eq!(resolve("WAF:BlockedRequests:a b"), None);
        assert_eq!(resolve("Latency"), None);
    }

    #[test]
    fn statistics() {
        assert!(is_statistic("p99.9"));
        assert!(is_statistic("Sum"));
        assert!(!is_statistic("p101"));
        assert!(!is_statistic("median"));
    }
}
