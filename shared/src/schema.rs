//! The stack description: what one `proxy.toml` says, after defaults are applied.
//!
//! Defaults reproduce the reverse-proxy profile: https-only origin on 443 speaking TLSv1.2,
//! 30 s read and 5 s keep-alive timeouts; viewers redirected to HTTPS; all methods allowed,
//! GET/HEAD cached; all query strings, cookies and viewer headers (but Host, which the viewer
//! request function passes as X-Forwarded-Host) forwarded; compression on; HTTP/2 and HTTP/3;
//! IPv6; PriceClass_100; viewer TLS at least TLSv1.2_2021.

use serde::{Deserialize, Serialize};

use crate::fields::Field;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StackConfig {
    /// Lower-case letters, digits and hyphens; every resource name derives from it.
    pub name: String,
    /// Region of the stack's regional resources (stream, functions, queue, alarms).
    /// CloudFront itself is global.
    pub region: String,
    pub comment: String,
    pub distribution: Distribution,
    pub origins: Vec<Origin>,
    pub default_behavior: Behavior,
    pub behaviors: Vec<Behavior>,
    pub logging: Logging,
    pub metrics: Metrics,
    pub alarms: Alarms,
    pub manuscripts: Option<Manuscripts>,
    pub functions: Functions,
    /// Server-side encryption of the stream, queues, topic and the bucket `up` creates.
    #[serde(default, skip_serializing_if = "Encryption::is_default")]
    pub encryption: Encryption,
    /// `[[origin_groups]]`: failover pairs a behaviour's `origin` may name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub origin_groups: Vec<OriginGroup>,
    /// `[[error_responses]]`: how long CloudFront caches each error code, and the page it
    /// answers with.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub error_responses: Vec<ErrorResponse>,
    /// `[waf]`: a WAFv2 web ACL the stack creates and attaches (exclusive with
    /// `distribution.web_acl_arn`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waf: Option<Waf>,
    /// `[response_headers]`: the stack's own response headers policy, used by the behaviours
    /// with `response_headers = "custom"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_headers: Option<ResponseHeadersPolicy>,
    /// `[staging]`: the canary thresholds `deployer stage` is watched with.
    #[serde(default, skip_serializing_if = "Staging::is_default")]
    pub staging: Staging,
    /// `[standard_logs]`: CloudFront standard access logs (v2), every request, delivered by
    /// CloudWatch Logs to an S3 bucket or a log group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub standard_logs: Option<StandardLogs>,
}

/// An origin group: CloudFront sends a request to `primary`, and again to `secondary` when
/// the primary answers one of `failover_status_codes` (or cannot be reached). CloudFront
/// only fails over GET, HEAD and OPTIONS requests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OriginGroup {
    pub id: String,
    /// Origin ids.
    pub primary: String,
    pub secondary: String,
    pub failover_status_codes: Vec<u16>,
}

impl OriginGroup {
    /// The status codes a group fails over on when the config names none.
    pub const DEFAULT_FAILOVER_STATUS_CODES: [u16; 4] = [500, 502, 503, 504];
}

/// A custom error response: how long CloudFront caches an error status from the origin, and
/// optionally the page (with its status) it returns instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorResponse {
    pub code: u16,
    /// Seconds CloudFront caches the error before asking the origin again (10 unless set).
    pub caching_min_ttl: u64,
    /// A path starting with `/`; only with `response_code`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<String>,
    /// The status CloudFront answers the page with; only with `page`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_code: Option<u16>,
}

impl ErrorResponse {
    /// CloudFront's error caching time when a distribution says nothing for a code.
    pub const DEFAULT_CACHING_MIN_TTL: u64 = 10;
}

/// `[encryption]`: which KMS key encrypts the stack's data at rest. Without a key each
/// service uses its own: Kinesis the AWS-managed key `alias/aws/kinesis`, SQS its SQS-owned
/// keys (SSE-SQS; S3 cannot deliver events to a queue under `alias/aws/sqs`), S3 SSE-S3; the
/// topic is then not encrypted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Encryption {
    /// A customer managed key in the stack's region, by its key ARN
    /// (`arn:aws:kms:REGION:ACCOUNT:key/ID`): IAM grants are scoped to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_arn: Option<String>,
}

impl Encryption {
    pub fn is_default(&self) -> bool {
        self == &Encryption::default()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Distribution {
    pub price_class: PriceClass,
    pub aliases: Vec<String>,
    /// ACM certificate for the aliases; CloudFront requires it in us-east-1.
    pub certificate_arn: Option<String>,
    /// WAF (v2) web ACL ARN, scope CLOUDFRONT.
    pub web_acl_arn: Option<String>,
    pub http_version: HttpVersion,
    pub ipv6: bool,
    pub minimum_viewer_tls: String,
    pub geo_restriction: GeoRestriction,
    pub default_root_object: Option<String>,
    /// CloudFront's additional CloudWatch metrics for the distribution (a monitoring
    /// subscription; billed per distribution and month).
    #[serde(default, skip_serializing_if = "is_false")]
    pub additional_metrics: bool,
}

fn is_false(value: &bool) -> bool {
    !*value
}

impl Default for Distribution {
    fn default() -> Self {
        Distribution {
            price_class: PriceClass::PriceClass100,
            aliases: Vec::new(),
            certificate_arn: None,
            web_acl_arn: None,
            http_version: HttpVersion::Http2And3,
            ipv6: true,
            minimum_viewer_tls: "TLSv1.2_2021".to_string(),
            geo_restriction: GeoRestriction::default(),
            default_root_object: None,
            additional_metrics: false,
        }
    }
}

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $text)] $variant,)*
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The spelling used in the config file and in the AWS API.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                }
            }

            pub fn parse(text: &str) -> Option<$name> {
                match text {
                    $($text => Some($name::$variant),)*
                    _ => None,
                }
            }

            pub(crate) fn allowed() -> String {
                [$($text,)*].join(", ")
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum!(PriceClass {
    PriceClass100 = "PriceClass_100",
    PriceClass200 = "PriceClass_200",
    PriceClassAll = "PriceClass_All",
});

string_enum!(HttpVersion {
    Http11 = "http1.1",
    Http2 = "http2",
    Http3 = "http3",
    Http2And3 = "http2and3",
});

string_enum!(GeoMode {
    None = "none",
    Allow = "allow",
    Deny = "deny",
});

string_enum!(OriginProtocol {
    HttpOnly = "http-only",
    HttpsOnly = "https-only",
    MatchViewer = "match-viewer",
});

string_enum!(OriginTls {
    SslV3 = "SSLv3",
    TlsV1 = "TLSv1",
    TlsV1_1 = "TLSv1.1",
    TlsV1_2 = "TLSv1.2",
});

string_enum!(ViewerProtocol {
    RedirectToHttps = "redirect-to-https",
    HttpsOnly = "https-only",
    AllowAll = "allow-all",
});

string_enum!(AllowedMethods {
    All = "all",
    GetHead = "get-head",
    GetHeadOptions = "get-head-options",
});

string_enum!(CachedMethods {
    GetHead = "get-head",
    GetHeadOptions = "get-head-options",
});

string_enum!(
    /// How a behaviour caches: a managed cache policy, or a custom one built from `ttl` and
    /// the cache-key settings.
    CachingMode {
        Disabled = "disabled",
        Optimized = "optimized",
        OriginHeaders = "origin-headers",
        Custom = "custom",
    }
);

string_enum!(OriginRequest {
    AllViewerExceptHost = "all-viewer-except-host",
    AllViewer = "all-viewer",
    None = "none",
});

string_enum!(
    /// A behaviour's response headers policy: the managed SecurityHeadersPolicy, none, or the
    /// stack's own (`[response_headers]`).
    ResponseHeaders {
        SecurityHeaders = "security-headers",
        None = "none",
        Custom = "custom",
    }
);

string_enum!(StreamMode {
    OnDemand = "on-demand",
    Provisioned = "provisioned",
});

string_enum!(Architecture {
    Arm64 = "arm64",
    X86_64 = "x86_64",
});

string_enum!(Comparison {
    GreaterThan = ">",
    GreaterOrEqual = ">=",
    LessThan = "<",
    LessOrEqual = "<=",
});

string_enum!(
    /// What a period without data means for a rule (CloudWatch's TreatMissingData).
    MissingData {
        Breaching = "breaching",
        NotBreaching = "not-breaching",
        Ignore = "ignore",
        Missing = "missing",
    }
);

string_enum!(Severity {
    Warning = "WARNING",
    Critical = "CRITICAL",
});

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GeoRestriction {
    pub mode: GeoMode,
    /// ISO 3166-1 alpha-2 codes.
    pub countries: Vec<String>,
}

impl Default for GeoRestriction {
    fn default() -> Self {
        GeoRestriction {
            mode: GeoMode::None,
            countries: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    pub id: String,
    pub domain: String,
    /// `""` or a path starting with `/` and not ending with one.
    pub path: String,
    pub protocol: OriginProtocol,
    pub http_port: u16,
    pub https_port: u16,
    pub read_timeout_seconds: u32,
    pub keepalive_timeout_seconds: u32,
    pub tls_versions: Vec<OriginTls>,
    pub connection_attempts: u32,
    pub connection_timeout_seconds: u32,
    /// The AWS region of this origin's Origin Shield (one of
    /// [`crate::checks::ORIGIN_SHIELD_REGIONS`]); none: no Origin Shield.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin_shield_region: Option<String>,
}

impl Origin {
    pub fn new(id: &str, domain: &str) -> Origin {
        Origin {
            id: id.to_string(),
            domain: domain.to_string(),
            path: String::new(),
            protocol: OriginProtocol::HttpsOnly,
            http_port: 80,
            https_port: 443,
            read_timeout_seconds: 30,
            keepalive_timeout_seconds: 5,
            tls_versions: vec![OriginTls::TlsV1_2],
            connection_attempts: 3,
            connection_timeout_seconds: 10,
            origin_shield_region: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ttl {
    pub min: u64,
    pub default: u64,
    pub max: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Behavior {
    /// `None` for the default behaviour.
    pub path_pattern: Option<String>,
    pub origin: String,
    pub viewer_protocol: ViewerProtocol,
    pub allowed_methods: AllowedMethods,
    pub cached_methods: CachedMethods,
    pub compress: bool,
    pub caching: CachingMode,
    /// Only with `caching = "custom"`.
    pub ttl: Option<Ttl>,
    /// Viewer headers in the cache key; only with `caching = "custom"`.
    pub cache_key_headers: Vec<String>,
    /// Query strings in the cache key; only with `caching = "custom"`.
    #[serde(default = "KeyItems::all", skip_serializing_if = "KeyItems::is_all")]
    pub cache_key_query_strings: KeyItems,
    /// The allow or deny list of `cache_key_query_strings`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cache_key_query_string_names: Vec<String>,
    /// Cookies in the cache key; only with `caching = "custom"`.
    #[serde(default = "KeyItems::none", skip_serializing_if = "KeyItems::is_none")]
    pub cache_key_cookies: KeyItems,
    /// The allow or deny list of `cache_key_cookies`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cache_key_cookie_names: Vec<String>,
    pub origin_request: OriginRequest,
    pub response_headers: ResponseHeaders,
}

impl Behavior {
    pub fn new(origin: &str) -> Behavior {
        Behavior {
            path_pattern: None,
            origin: origin.to_string(),
            viewer_protocol: ViewerProtocol::RedirectToHttps,
            allowed_methods: AllowedMethods::All,
            cached_methods: CachedMethods::GetHead,
            compress: true,
            caching: CachingMode::Disabled,
            ttl: None,
            cache_key_headers: Vec::new(),
            cache_key_query_strings: KeyItems::All,
            cache_key_query_string_names: Vec::new(),
            cache_key_cookies: KeyItems::None,
            cache_key_cookie_names: Vec::new(),
            origin_request: OriginRequest::AllViewerExceptHost,
            response_headers: ResponseHeaders::SecurityHeaders,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Logging {
    pub enabled: bool,
    /// Fields in record order.
    pub fields: Vec<Field>,
    /// Percent of viewer requests logged, 1–100.
    pub sampling_rate: u8,
    pub stream_mode: StreamMode,
    /// Shards, only with `stream_mode = "provisioned"`.
    pub shards: Option<u32>,
    pub retention_hours: u32,
}

impl Default for Logging {
    fn default() -> Self {
        Logging {
            enabled: true,
            fields: Field::default_set(),
            sampling_rate: 100,
            stream_mode: StreamMode::OnDemand,
            shards: None,
            retention_hours: 24,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metrics {
    pub namespace: String,
    /// Countries, POPs, path patterns and app-header values kept per minute before "Other".
    pub top_n: u32,
    /// Request headers (from `cs-headers`) whose values become extra metric dimensions.
    pub app_headers: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alarms {
    pub enabled: bool,
    /// EventBridge schedule expression for the evaluator.
    pub schedule: String,
    /// Optional e-mail subscription to the alarm topic.
    pub email: Option<String>,
    /// Whether the built-in rules are added to `rules`.
    pub default_rules: bool,
    /// The built-in ThroughputDegradation rule's baseline, requests per second (0: no rule).
    pub throughput_baseline_rps: f64,
    pub rules: Vec<Rule>,
    /// Alarms on the stack's own pipeline (`[alarms.pipeline]`).
    pub pipeline: PipelineAlarms,
}

/// Alarms that fire when the pipeline itself breaks: records in the analyser's on-failure
/// queue or the manuscripts dead-letter queue, a function erroring or throttled, the analyser
/// falling behind the stream, malformed records, or the evaluator no longer running.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PipelineAlarms {
    pub enabled: bool,
    /// The analyser's IteratorAge above which it is behind, in seconds.
    pub iterator_age_seconds: u32,
    /// Errors per function in 5 minutes above which it alarms (0: any error).
    pub function_errors: u32,
    /// Malformed log records in 5 minutes above which it alarms.
    pub malformed_records: u32,
}

impl Default for PipelineAlarms {
    fn default() -> PipelineAlarms {
        PipelineAlarms {
            enabled: true,
            iterator_age_seconds: 300,
            function_errors: 0,
            malformed_records: 100,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    pub name: String,
    /// A metric from the catalog ([`crate::metrics`]), e.g. `TimeTaken` or
    /// `CloudFront:5xxErrorRate`. Exactly one of `metric` and `expression`.
    pub metric: Option<String>,
    /// Metric math over catalog metrics, e.g. `100 * (1 - Status5xx / Requests)`.
    pub expression: Option<String>,
    /// `Sum`, `Average`, `Minimum`, `Maximum`, `SampleCount` or a percentile `p50`…`p99.9`.
    pub statistic: String,
    pub period_seconds: u32,
    pub comparison: Comparison,
    pub threshold: f64,
    /// M of the N datapoints must breach.
    pub datapoints_to_alarm: u32,
    pub evaluation_periods: u32,
    pub missing_data: MissingData,
    pub severity: Severity,
    /// What to do when the rule fires.
    pub action: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manuscripts {
    pub bucket: String,
    /// Only keys under this prefix trigger invalidations.
    pub key_prefix: String,
    /// The URL path the key prefix maps to: key `<key_prefix>a/b.html` → `<path_prefix>a/b.html`.
    pub path_prefix: String,
    /// SQS batching window: uploads within it become one invalidation.
    pub batch_window_seconds: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Functions {
    pub architecture: Architecture,
    pub memory_mb: u32,
    pub timeout_seconds: u32,
    pub log_retention_days: u32,
}

impl Default for Functions {
    fn default() -> Self {
        Functions {
            architecture: Architecture::Arm64,
            memory_mb: 256,
            timeout_seconds: 60,
            log_retention_days: 14,
        }
    }
}

string_enum!(
    /// What a WAF rule does with a request it matches: its own action (`block`; the allow
    /// list allows), or only count it (`count`, to try a rule before it acts).
    WafMode {
        Block = "block",
        Count = "count",
    }
);

/// `[waf]`: the web ACL the stack owns (scope CLOUDFRONT, in us-east-1). Its rules, in this
/// order: the allow list, the block list, the rate limit per client IP, then the managed rule
/// groups in config order. The default action allows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Waf {
    /// The mode of every rule that does not set its own.
    pub mode: WafMode,
    /// Addresses (CIDR, IPv4 or IPv6) the allow-list rule allows before any other rule.
    #[serde(default)]
    pub allow_list: Vec<String>,
    /// The mode of the allow-list rule (`count`: allow-listed addresses meet the other rules).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_list_mode: Option<WafMode>,
    /// The mode of the block-list rule; the stack manages the list (`deployer block`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_list_mode: Option<WafMode>,
    /// The rate-based rule per client IP.
    pub rate_limit: WafRateLimit,
    /// AWS managed rule groups (vendor AWS), in evaluation order.
    #[serde(default)]
    pub managed_rule_groups: Vec<WafManagedGroup>,
    /// `[waf.auto_block]`: the analyser's high scorers put on the block list for a while.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_block: Option<AutoBlock>,
}

string_enum!(
    /// The lowest client threat level `[waf.auto_block]` acts on (the analyser's levels; LOW
    /// is every client, so it is not offered).
    BlockLevel {
        Medium = "MEDIUM",
        High = "HIGH",
        Critical = "CRITICAL",
    }
);

/// `[waf.auto_block]`: clients scored at or above `level` in `minutes` of the last `window`
/// minutes go on the block list for `expiry_minutes`, at most `max` of them at once (the
/// oldest expire first), never an address the allow list contains; `count` only logs and
/// publishes what it would block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutoBlock {
    pub enabled: bool,
    pub level: BlockLevel,
    /// M of M-of-N: minutes (at or above the level) needed within the window.
    pub minutes: u32,
    /// N of M-of-N: the window in minutes, 1–60.
    pub window: u32,
    /// How long an automatic block lasts (config `expiry`, e.g. "1h", "30m", "2d").
    pub expiry_minutes: u32,
    /// Most automatically blocked addresses at once, 1–10,000 (WAF's IP set limit).
    pub max: u32,
    pub mode: WafMode,
}

pub const AUTO_BLOCK_DEFAULT_MINUTES: u32 = 3;
pub const AUTO_BLOCK_DEFAULT_WINDOW: u32 = 5;
pub const AUTO_BLOCK_DEFAULT_EXPIRY_MINUTES: u32 = 60;
pub const AUTO_BLOCK_DEFAULT_MAX: u32 = 100;
/// AWS WAF: "An IP set can hold up to 10,000 IP addresses or IP address ranges" (developer
/// guide, IP set match rule statement).
pub const WAF_IP_SET_LIMIT: u32 = 10_000;

/// `[waf.rate_limit]`: requests per client IP in a 5-minute window above which its requests
/// are blocked (or counted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WafRateLimit {
    /// Requests per 5 minutes, 10–2,000,000,000 (WAF's range); 0: no rate rule.
    pub requests_per_5_minutes: u64,
    /// Only requests whose URI path starts with this count (a scope-down statement).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_prefix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<WafMode>,
}

/// `[[waf.managed_rule_groups]]`: one AWS managed rule group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WafManagedGroup {
    /// E.g. `AWSManagedRulesCommonRuleSet`.
    pub name: String,
    /// `count` overrides the group's actions to count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<WafMode>,
}

/// The AWS managed rule groups `[waf]` accepts (the baseline, use-case and IP reputation
/// groups; the paid Bot Control, ATP and ACFP groups need their own configuration) with
/// their capacity in web ACL capacity units, from the AWS WAF developer guide.
pub const WAF_MANAGED_GROUPS: &[(&str, u32)] = &[
    ("AWSManagedRulesCommonRuleSet", 700),
    ("AWSManagedRulesAdminProtectionRuleSet", 100),
    ("AWSManagedRulesKnownBadInputsRuleSet", 200),
    ("AWSManagedRulesSQLiRuleSet", 200),
    ("AWSManagedRulesLinuxRuleSet", 200),
    ("AWSManagedRulesUnixRuleSet", 100),
    ("AWSManagedRulesWindowsRuleSet", 200),
    ("AWSManagedRulesPHPRuleSet", 100),
    ("AWSManagedRulesWordPressRuleSet", 100),
    ("AWSManagedRulesAmazonIpReputationList", 25),
    ("AWSManagedRulesAnonymousIpList", 50),
];

/// The groups a `[waf]` without `managed_rule_groups` gets.
pub const WAF_DEFAULT_GROUPS: &[&str] = &[
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesAmazonIpReputationList",
];

/// The rate limit a `[waf]` without `[waf.rate_limit]` gets (WAF console's default).
pub const WAF_DEFAULT_RATE_LIMIT: u64 = 2000;

// ------------------------------------------------------------------ cache keys, response headers

string_enum!(
    /// Which query strings or cookies a custom cache policy keys on: every one, none, only
    /// the listed names (`allow`), or all but the listed names (`deny`).
    KeyItems {
        All = "all",
        None = "none",
        Allow = "allow",
        Deny = "deny",
    }
);

impl KeyItems {
    fn all() -> KeyItems {
        KeyItems::All
    }
    fn none() -> KeyItems {
        KeyItems::None
    }
    fn is_all(&self) -> bool {
        *self == KeyItems::All
    }
    fn is_none(&self) -> bool {
        *self == KeyItems::None
    }
}

string_enum!(
    /// X-Frame-Options.
    FrameOption {
        Deny = "DENY",
        SameOrigin = "SAMEORIGIN",
    }
);

string_enum!(
    /// Referrer-Policy, the values CloudFront accepts.
    ReferrerPolicy {
        NoReferrer = "no-referrer",
        NoReferrerWhenDowngrade = "no-referrer-when-downgrade",
        Origin = "origin",
        OriginWhenCrossOrigin = "origin-when-cross-origin",
        SameOrigin = "same-origin",
        StrictOrigin = "strict-origin",
        StrictOriginWhenCrossOrigin = "strict-origin-when-cross-origin",
        UnsafeUrl = "unsafe-url",
    }
);

string_enum!(
    /// Access-Control-Allow-Methods values CloudFront accepts.
    CorsMethod {
        Get = "GET",
        Post = "POST",
        Options = "OPTIONS",
        Put = "PUT",
        Delete = "DELETE",
        Patch = "PATCH",
        Head = "HEAD",
        All = "ALL",
    }
);

/// `[response_headers]`: the stack's own CloudFront response headers policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponseHeadersPolicy {
    /// Whether the security headers below replace the ones the origin sends.
    pub override_origin: bool,
    /// Content-Security-Policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_security_policy: Option<String>,
    /// X-Frame-Options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frame_options: Option<FrameOption>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referrer_policy: Option<ReferrerPolicy>,
    /// X-Content-Type-Options: nosniff.
    pub content_type_options: bool,
    /// Headers CloudFront removes from the origin's responses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remove_headers: Vec<String>,
    /// Percent of responses (0–100) that carry CloudFront's Server-Timing header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_timing_sampling_rate: Option<f64>,
    /// Strict-Transport-Security.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hsts: Option<Hsts>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cors: Option<Cors>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub custom_headers: Vec<CustomHeader>,
}

impl Default for ResponseHeadersPolicy {
    fn default() -> Self {
        ResponseHeadersPolicy {
            override_origin: true,
            content_security_policy: None,
            frame_options: None,
            referrer_policy: None,
            content_type_options: false,
            remove_headers: Vec::new(),
            server_timing_sampling_rate: None,
            hsts: None,
            cors: None,
            custom_headers: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hsts {
    pub max_age_seconds: u32,
    pub include_subdomains: bool,
    pub preload: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cors {
    /// `*` or origins such as `https://app.example.com`.
    pub allow_origins: Vec<String>,
    pub allow_methods: Vec<CorsMethod>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_headers: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expose_headers: Vec<String>,
    pub allow_credentials: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age_seconds: Option<u32>,
    /// Whether these CORS headers replace the ones the origin sends.
    pub origin_override: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomHeader {
    pub name: String,
    pub value: String,
    /// Whether the value replaces the origin's header of the same name.
    pub override_origin: bool,
}

/// `[staging]`: how `deployer stage` is watched. Only the canary thresholds for now.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Staging {
    #[serde(default)]
    pub canary: Canary,
}

impl Staging {
    pub fn is_default(&self) -> bool {
        *self == Staging::default()
    }
}

/// `[staging.canary]`: the built-in canary rules comparing the staging distribution with the
/// primary over the same minutes. A minute counts only when staging served at least
/// `min_requests` (and the primary some); a rule is ALARM when `datapoints_to_alarm` of the
/// last `evaluation_minutes` counted minutes breach, OK when at least that many minutes
/// counted and fewer breach, else INSUFFICIENT_DATA.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Canary {
    pub enabled: bool,
    /// `canary-5xx`: staging's 5xx rate above the primary's plus this many percentage points.
    pub error_rate_margin: f64,
    /// `canary-latency`: staging's p95 time-taken above the primary's times this factor.
    pub latency_p95_factor: f64,
    /// `canary-hit-ratio`: staging's cache hit ratio below the primary's minus this many
    /// percentage points.
    pub hit_ratio_margin: f64,
    /// Requests staging must serve in a minute (as the analyser counts them) for the minute
    /// to count.
    pub min_requests: u32,
    pub evaluation_minutes: u32,
    pub datapoints_to_alarm: u32,
}

impl Default for Canary {
    fn default() -> Canary {
        Canary {
            enabled: true,
            error_rate_margin: 1.0,
            latency_p95_factor: 1.5,
            hit_ratio_margin: 10.0,
            min_requests: 20,
            evaluation_minutes: 5,
            datapoints_to_alarm: 3,
        }
    }
}
// ------------------------------------------------------------------ standard access logs (v2)

string_enum!(
    /// Where CloudWatch Logs delivers the distribution's standard access logs.
    StandardLogsDestination {
        S3 = "s3",
        CloudwatchLogs = "cloudwatch_logs",
    }
);

string_enum!(
    /// The delivery destination's output format (CloudWatch Logs' `outputFormat` values);
    /// `parquet` only for S3.
    StandardLogsFormat {
        Json = "json",
        Plain = "plain",
        W3c = "w3c",
        Raw = "raw",
        Parquet = "parquet",
    }
);

/// `[standard_logs]`: a CloudWatch Logs delivery source for the distribution (log type
/// ACCESS_LOGS), a delivery destination (the bucket or log group, which the stack does not
/// create) and the delivery between them, all in us-east-1 as CloudFront requires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StandardLogs {
    pub destination: StandardLogsDestination,
    /// `s3`: the bucket's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket: Option<String>,
    /// `s3`: the key prefix the logs go under (no leading or trailing `/`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// `cloudwatch_logs`: the log group's name, in us-east-1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_group: Option<String>,
    pub format: StandardLogsFormat,
    /// The record fields, in order (CloudFront's standard log field names).
    pub fields: Vec<String>,
}

/// The fields CloudFront's standard logs (v2) carry, in CloudFront's default order: a
/// delivery without `fields` gets all of them.
pub const STANDARD_LOG_FIELDS: &[&str] = &[
    "date",
    "time",
    "x-edge-location",
    "sc-bytes",
    "c-ip",
    "cs-method",
    "cs(Host)",
    "cs-uri-stem",
    "sc-status",
    "cs(Referer)",
    "cs(User-Agent)",
    "cs-uri-query",
    "cs(Cookie)",
    "x-edge-result-type",
    "x-edge-request-id",
    "x-host-header",
    "cs-protocol",
    "cs-bytes",
    "time-taken",
    "x-forwarded-for",
    "ssl-protocol",
    "ssl-cipher",
    "x-edge-response-result-type",
    "cs-protocol-version",
    "fle-status",
    "fle-encrypted-fields",
    "c-port",
    "time-to-first-byte",
    "x-edge-detailed-result-type",
    "sc-content-type",
    "sc-content-len",
    "sc-range-start",
    "sc-range-end",
];
