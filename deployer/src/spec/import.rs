//! `deployer import`: an existing distribution's config (and the policies it references) as
//! a commented `proxy.toml`, with every setting the config cannot represent named at its
//! place and in a list. Pure: the command (`ops::import`) reads AWS and writes the file.
//!
//! The mapping is the inverse of [`super::distribution::build`]: importing a distribution
//! `up` made gives back a config whose `plan` shows no change to it. What the stack adds to
//! every distribution (the origin-verify header, the viewer-request function, the real-time
//! log config) is not part of the config, so it is recognised by name and left out.

use aws_sdk_cloudfront::types::{
    AllowedMethods as SdkAllowed, CachePolicyConfig, DistributionConfig, FunctionAssociations,
    LambdaFunctionAssociations, Method, ResponseHeadersPolicyConfig, TrustedKeyGroups,
    TrustedSigners,
};
use cfrp_config::naming::STACK_TAG;
use cfrp_config::{Names, PriceClass};
use toml_edit::{Array, Value};

use super::distribution::{ORIGIN_VERIFY_HEADER, cache_policy_name, managed};
use super::headers::response_headers_policy_name;
use crate::ports::cloudfront::{CachePolicy, LogConfigSettings};

/// What `ops::import` read for one distribution.
#[derive(Debug, Clone)]
pub struct Observed<'a> {
    pub id: &'a str,
    pub config: &'a DistributionConfig,
    /// The stack name to write (it names every resource, the policies looked for included).
    pub stack: &'a str,
    pub region: &'a str,
    /// Custom cache policies the distribution's behaviours reference, by id.
    pub cache_policies: &'a [CachePolicy],
    /// Custom response headers policies the behaviours reference: (id, config).
    pub response_headers_policies: &'a [(String, ResponseHeadersPolicyConfig)],
    /// The stack's own real-time log config, when the distribution uses it.
    pub log_config: Option<&'a LogConfigSettings>,
    /// The distribution's additional metrics (monitoring subscription) are on.
    pub additional_metrics: bool,
}

/// A setting of the distribution the config cannot say, and what `up` would do instead.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Unrepresentable {
    /// Where: `distribution`, `origins[ID]`, `behaviors[PATTERN]`, ...
    pub at: String,
    pub setting: String,
    /// What the written config does instead (what `plan` will show changing).
    pub instead: String,
}

/// The written document and what it could not say.
#[derive(Debug, Clone)]
pub struct Imported {
    pub text: String,
    pub unrepresentable: Vec<Unrepresentable>,
}

/// The config document's text, line by line; values go through `toml_edit` so strings are
/// quoted and escaped as TOML wants.
#[derive(Default)]
struct Doc {
    text: String,
    lost: Vec<Unrepresentable>,
}

impl Doc {
    fn line(&mut self, line: &str) {
        self.text.push_str(line);
        self.text.push('\n');
    }
    fn comment(&mut self, text: &str) {
        for line in text.lines() {
            self.line(format!("# {line}").trim_end());
        }
    }
    fn blank(&mut self) {
        self.text.push('\n');
    }
    fn kv(&mut self, key: &str, value: impl Into<Value>) {
        let value: Value = value.into();
        self.line(&format!("{key} = {}", value.to_string().trim()));
    }
    fn strings(&mut self, key: &str, items: &[String]) {
        let array: Array = items.iter().map(String::as_str).collect();
        self.kv(key, array);
    }
    /// A setting the config cannot hold: a comment at its place and an entry in the list.
    fn lost(&mut self, at: &str, setting: String, instead: &str) {
        self.comment(&format!("NOT IMPORTED: {setting} ({instead})"));
        self.lost.push(Unrepresentable {
            at: at.to_string(),
            setting,
            instead: instead.to_string(),
        });
    }
}

/// The config document for `observed`.
pub fn import(observed: &Observed<'_>) -> Imported {
    let c = observed.config;
    let names = Names::new(observed.stack);
    let mut doc = Doc::default();
    doc.comment(&format!(
        "Imported by `deployer import` from CloudFront distribution {}.\nSettings the config cannot hold are marked NOT IMPORTED where they were; `deployer plan`\nshows what `up` would change. Review, then `deployer validate` and `deployer plan`.",
        observed.id
    ));
    doc.kv("name", observed.stack);
    doc.kv("region", observed.region);
    doc.kv("comment", c.comment());
    if !c.enabled() {
        doc.lost(
            "distribution",
            "Enabled = false".into(),
            "the stack's distribution is always enabled: `up` enables it",
        );
    }
    doc.blank();
    distribution(&mut doc, observed, &names);
    origins(&mut doc, c);
    origin_groups(&mut doc, c);
    let mut headers_policy: Option<&(String, ResponseHeadersPolicyConfig)> = None;
    let mut uses_log_config = false;
    let behaviours = behaviour_views(c);
    for (index, b) in behaviours.iter().enumerate() {
        doc.blank();
        if index == 0 {
            doc.line("[default_behavior]");
        } else {
            doc.line("[[behaviors]]");
        }
        behaviour(
            &mut doc,
            observed,
            &names,
            b,
            &mut headers_policy,
            &mut uses_log_config,
        );
    }
    error_responses(&mut doc, c);
    if let Some((id, policy)) = headers_policy {
        response_headers(&mut doc, observed.stack, id, policy);
    }
    logging(&mut doc, observed, &names, uses_log_config);
    doc.blank();
    doc.comment(
        "Not read from AWS: [metrics], [alarms], [manuscripts], [functions] and [encryption] take\ntheir defaults (see the README's Configuration section); copy yours in if you had them.",
    );
    Imported {
        text: doc.text,
        unrepresentable: doc.lost,
    }
}

fn distribution(doc: &mut Doc, observed: &Observed<'_>, names: &Names) {
    let c = observed.config;
    doc.line("[distribution]");
    // CloudFront's default when a config names no price class is PriceClass_All.
    let price = c
        .price_class()
        .map(|p| p.as_str())
        .unwrap_or("PriceClass_All");
    match PriceClass::parse(price) {
        Some(p) => doc.kv("price_class", p.as_str()),
        None => {
            doc.lost(
                "distribution",
                format!("PriceClass = {price}"),
                "written as PriceClass_All",
            );
            doc.kv("price_class", "PriceClass_All");
        }
    }
    let aliases: Vec<String> = c.aliases().map(|a| a.items().to_vec()).unwrap_or_default();
    if !aliases.is_empty() {
        doc.strings("aliases", &aliases);
    }
    if let Some(v) = c.viewer_certificate() {
        if let Some(arn) = v.acm_certificate_arn().filter(|a| !a.is_empty()) {
            doc.kv("certificate_arn", arn);
            if let Some(tls) = v.minimum_protocol_version() {
                doc.kv("minimum_viewer_tls", tls.as_str());
            }
            let method = v.ssl_support_method().map(|m| m.as_str()).unwrap_or("");
            if method != "sni-only" {
                doc.lost(
                    "distribution",
                    format!("SSLSupportMethod = {method}"),
                    "the stack serves HTTPS by SNI only (sni-only)",
                );
            }
        } else if let Some(iam) = v.iam_certificate_id().filter(|a| !a.is_empty()) {
            doc.lost(
                "distribution",
                format!("IAM server certificate {iam}"),
                "the stack takes an ACM certificate (us-east-1) as certificate_arn; without one it serves the *.cloudfront.net certificate",
            );
        }
    }
    match c.web_acl_id().filter(|w| !w.is_empty()) {
        None => {}
        Some(acl) if acl.starts_with("arn:aws:wafv2:") => {
            let own = acl.contains(&format!("/webacl/{}/", names.web_acl()));
            if own {
                doc.lost(
                    "distribution",
                    format!("the stack's own [waf] web ACL {acl}"),
                    "its rules are not read: copy your [waf] section in, or `up` detaches it",
                );
            } else {
                doc.kv("web_acl_arn", acl);
            }
        }
        Some(acl) => doc.lost(
            "distribution",
            format!("WAF Classic web ACL {acl}"),
            "the stack takes a WAFv2 web ACL ARN (scope CLOUDFRONT): `up` would detach it",
        ),
    }
    // CloudFront's defaults for an absent HttpVersion and IsIPV6Enabled: http2, false.
    let http = c.http_version().map(|h| h.as_str()).unwrap_or("http2");
    match cfrp_config::HttpVersion::parse(http) {
        Some(h) => doc.kv("http_version", h.as_str()),
        None => doc.lost(
            "distribution",
            format!("HttpVersion = {http}"),
            "written as the stack's default, http2and3",
        ),
    }
    doc.kv("ipv6", c.is_ipv6_enabled().unwrap_or(false));
    if let Some(root) = c.default_root_object().filter(|r| !r.is_empty()) {
        doc.kv("default_root_object", root);
    }
    if observed.additional_metrics {
        doc.kv("additional_metrics", true);
    }
    if let Some(logging) = c.logging().filter(|l| l.enabled()) {
        doc.lost(
            "distribution",
            format!(
                "standard (legacy) access logs to {}{}",
                logging.bucket(),
                logging.prefix()
            ),
            "the stack's config has no standard logs: `up` turns them off",
        );
    }
    if let Some(policy) = c
        .continuous_deployment_policy_id()
        .filter(|p| !p.is_empty())
    {
        doc.lost(
            "distribution",
            format!("continuous deployment policy {policy}"),
            "kept attached by `up`; `deployer stage` manages staging",
        );
    }
    if c.staging().unwrap_or(false) {
        doc.lost(
            "distribution",
            "Staging = true (a staging distribution)".into(),
            "import the primary instead",
        );
    }
    if let Some(geo) = c.restrictions().and_then(|r| r.geo_restriction()) {
        let mode = match geo.restriction_type().as_str() {
            "whitelist" => "allow",
            "blacklist" => "deny",
            _ => "none",
        };
        if mode != "none" {
            doc.blank();
            doc.line("[distribution.geo_restriction]");
            doc.kv("mode", mode);
            doc.strings("countries", geo.items());
        }
    }
}

fn origins(doc: &mut Doc, c: &DistributionConfig) {
    for o in c.origins().map(|o| o.items()).unwrap_or_default() {
        let at = format!("origins[{}]", o.id());
        doc.blank();
        doc.line("[[origins]]");
        doc.kv("id", o.id());
        doc.kv("domain", o.domain_name());
        if let Some(path) = o.origin_path().filter(|p| !p.is_empty()) {
            doc.kv("path", path);
        }
        match o.custom_origin_config() {
            Some(custom) => {
                doc.kv("protocol", custom.origin_protocol_policy().as_str());
                doc.kv("http_port", i64::from(custom.http_port()));
                doc.kv("https_port", i64::from(custom.https_port()));
                doc.kv(
                    "read_timeout_seconds",
                    i64::from(custom.origin_read_timeout().unwrap_or(30)),
                );
                doc.kv(
                    "keepalive_timeout_seconds",
                    i64::from(custom.origin_keepalive_timeout().unwrap_or(5)),
                );
                let tls: Vec<String> = custom
                    .origin_ssl_protocols()
                    .map(|t| t.items().iter().map(|p| p.as_str().to_string()).collect())
                    .unwrap_or_default();
                if tls.is_empty() {
                    doc.lost(
                        &at,
                        "no OriginSslProtocols".into(),
                        "written as TLSv1.2, the stack's default",
                    );
                } else {
                    doc.strings("tls_versions", &tls);
                }
            }
            None => {
                let what = if o.s3_origin_config().is_some() {
                    "an S3 origin (S3OriginConfig)"
                } else if o.vpc_origin_config().is_some() {
                    "a VPC origin"
                } else {
                    "an origin without CustomOriginConfig"
                };
                doc.lost(
                    &at,
                    what.to_string(),
                    "written as a custom HTTPS-only origin on the same domain",
                );
                doc.kv("protocol", "https-only");
            }
        }
        if let Some(oac) = o.origin_access_control_id().filter(|v| !v.is_empty()) {
            doc.lost(
                &at,
                format!("origin access control {oac}"),
                "the stack signs nothing: `up` detaches it",
            );
        }
        doc.kv(
            "connection_attempts",
            i64::from(o.connection_attempts().unwrap_or(3)),
        );
        doc.kv(
            "connection_timeout_seconds",
            i64::from(o.connection_timeout().unwrap_or(10)),
        );
        if let Some(shield) = o.origin_shield().filter(|s| s.enabled()) {
            doc.kv(
                "origin_shield_region",
                shield.origin_shield_region().unwrap_or_default(),
            );
        }
        for h in o.custom_headers().map(|h| h.items()).unwrap_or_default() {
            if h.header_name().eq_ignore_ascii_case(ORIGIN_VERIFY_HEADER) {
                // The stack's own secret header: `up` keeps the value the distribution has.
                continue;
            }
            doc.lost(
                &at,
                format!("origin custom header {}", h.header_name()),
                &format!("the stack sends only {ORIGIN_VERIFY_HEADER}: `up` removes this header"),
            );
        }
    }
}

fn origin_groups(doc: &mut Doc, c: &DistributionConfig) {
    for g in c.origin_groups().map(|g| g.items()).unwrap_or_default() {
        let at = format!("origin_groups[{}]", g.id());
        let members: Vec<&str> = g
            .members()
            .map(|m| m.items().iter().map(|m| m.origin_id()).collect())
            .unwrap_or_default();
        let codes: Vec<i64> = g
            .failover_criteria()
            .and_then(|f| f.status_codes())
            .map(|s| s.items().iter().map(|c| i64::from(*c)).collect())
            .unwrap_or_default();
        doc.blank();
        doc.line("[[origin_groups]]");
        doc.kv("id", g.id());
        doc.kv("primary", members.first().copied().unwrap_or_default());
        doc.kv("secondary", members.get(1).copied().unwrap_or_default());
        let array: Array = codes.into_iter().collect();
        doc.kv("failover_status_codes", array);
        if let Some(criteria) = g.selection_criteria().filter(|c| c.as_str() != "default") {
            doc.lost(
                &at,
                format!("SelectionCriteria = {}", criteria.as_str()),
                "the stack's groups use the default selection",
            );
        }
    }
}

/// What the default behaviour and the cache behaviours share, read alike.
struct View<'a> {
    pattern: Option<&'a str>,
    origin: &'a str,
    viewer_protocol: &'a str,
    allowed: Option<&'a SdkAllowed>,
    compress: Option<bool>,
    cache_policy: Option<&'a str>,
    origin_request_policy: Option<&'a str>,
    response_headers_policy: Option<&'a str>,
    realtime_log: Option<&'a str>,
    functions: Option<&'a FunctionAssociations>,
    lambdas: Option<&'a LambdaFunctionAssociations>,
    field_level_encryption: Option<&'a str>,
    trusted_signers: Option<&'a TrustedSigners>,
    trusted_key_groups: Option<&'a TrustedKeyGroups>,
    smooth_streaming: Option<bool>,
    grpc: bool,
}

macro_rules! view {
    ($b:expr, $pattern:expr) => {
        View {
            pattern: $pattern,
            origin: $b.target_origin_id(),
            viewer_protocol: $b.viewer_protocol_policy().as_str(),
            allowed: $b.allowed_methods(),
            compress: $b.compress(),
            cache_policy: $b.cache_policy_id().filter(|p| !p.is_empty()),
            origin_request_policy: $b.origin_request_policy_id().filter(|p| !p.is_empty()),
            response_headers_policy: $b.response_headers_policy_id().filter(|p| !p.is_empty()),
            realtime_log: $b.realtime_log_config_arn().filter(|p| !p.is_empty()),
            functions: $b.function_associations(),
            lambdas: $b.lambda_function_associations(),
            field_level_encryption: $b.field_level_encryption_id().filter(|p| !p.is_empty()),
            trusted_signers: $b.trusted_signers(),
            trusted_key_groups: $b.trusted_key_groups(),
            smooth_streaming: $b.smooth_streaming(),
            grpc: $b.grpc_config().is_some_and(|g| g.enabled()),
        }
    };
}

fn behaviour_views(c: &DistributionConfig) -> Vec<View<'_>> {
    let mut views = Vec::new();
    if let Some(b) = c.default_cache_behavior() {
        views.push(view!(b, None));
    }
    for b in c.cache_behaviors().map(|b| b.items()).unwrap_or_default() {
        views.push(view!(b, Some(b.path_pattern())));
    }
    views
}

fn method_set(items: &[Method]) -> Vec<&str> {
    let mut set: Vec<&str> = items.iter().map(Method::as_str).collect();
    set.sort_unstable();
    set.dedup();
    set
}

fn behaviour<'a>(
    doc: &mut Doc,
    observed: &'a Observed<'a>,
    names: &Names,
    b: &View<'_>,
    headers_policy: &mut Option<&'a (String, ResponseHeadersPolicyConfig)>,
    uses_log_config: &mut bool,
) {
    let at = format!("behaviors[{}]", b.pattern.unwrap_or("default"));
    if let Some(pattern) = b.pattern {
        doc.kv("path_pattern", pattern);
    }
    doc.kv("origin", b.origin);
    doc.kv("viewer_protocol", b.viewer_protocol);
    // CloudFront's default methods, when a behaviour names none: GET and HEAD.
    let allowed = b.allowed.map(|a| method_set(a.items())).unwrap_or_default();
    let allowed_text = match allowed.as_slice() {
        [] | ["GET", "HEAD"] => "get-head",
        ["GET", "HEAD", "OPTIONS"] => "get-head-options",
        _ => "all",
    };
    doc.kv("allowed_methods", allowed_text);
    let cached = b
        .allowed
        .and_then(|a| a.cached_methods())
        .map(|c| method_set(c.items()))
        .unwrap_or_default();
    doc.kv(
        "cached_methods",
        if cached == ["GET", "HEAD", "OPTIONS"] {
            "get-head-options"
        } else {
            "get-head"
        },
    );
    doc.kv("compress", b.compress.unwrap_or(false));
    let key = b.pattern.unwrap_or("default");
    match b.cache_policy {
        Some(managed::CACHING_DISABLED) => doc.kv("caching", "disabled"),
        Some(managed::CACHING_OPTIMIZED) => doc.kv("caching", "optimized"),
        Some(managed::USE_ORIGIN_CACHE_CONTROL_HEADERS) => doc.kv("caching", "origin-headers"),
        Some(id) => match observed.cache_policies.iter().find(|p| p.id == id) {
            Some(policy) => custom_cache(doc, observed.stack, &at, key, &policy.config),
            None => {
                doc.lost(
                    &at,
                    format!("cache policy {id} (managed, or not readable)"),
                    "written as caching = \"disabled\" (the managed CachingDisabled policy)",
                );
                doc.kv("caching", "disabled");
            }
        },
        None => {
            doc.lost(
                &at,
                "legacy cache settings (ForwardedValues and TTLs, no cache policy)".into(),
                "written as caching = \"disabled\": `up` attaches a cache policy",
            );
            doc.kv("caching", "disabled");
        }
    }
    match b.origin_request_policy {
        None => doc.kv("origin_request", "none"),
        Some(managed::ALL_VIEWER) => doc.kv("origin_request", "all-viewer"),
        Some(managed::ALL_VIEWER_EXCEPT_HOST_HEADER) => {
            doc.kv("origin_request", "all-viewer-except-host")
        }
        Some(id) => {
            doc.lost(
                &at,
                format!("origin request policy {id}"),
                "written as origin_request = \"none\"; the stack attaches AllViewer, AllViewerExceptHostHeader or none",
            );
            doc.kv("origin_request", "none");
        }
    }
    match b.response_headers_policy {
        None => doc.kv("response_headers", "none"),
        Some(managed::SECURITY_HEADERS) => doc.kv("response_headers", "security-headers"),
        Some(id) => match observed
            .response_headers_policies
            .iter()
            .find(|(p, _)| p == id)
        {
            Some(found) if headers_policy.is_none_or(|(chosen, _)| chosen == id) => {
                *headers_policy = Some(found);
                doc.kv("response_headers", "custom");
            }
            Some(_) => {
                doc.lost(
                    &at,
                    format!("a second custom response headers policy {id}"),
                    "the stack has one policy of its own: written as response_headers = \"custom\" (the first behaviour's)",
                );
                doc.kv("response_headers", "custom");
            }
            None => {
                doc.lost(
                    &at,
                    format!("response headers policy {id} (managed, or not readable)"),
                    "written as response_headers = \"none\"",
                );
                doc.kv("response_headers", "none");
            }
        },
    }
    let own_log = format!("realtime-log-config/{}", names.realtime_log_config());
    match b.realtime_log {
        Some(arn) if arn.ends_with(&own_log) => *uses_log_config = true,
        Some(arn) => doc.lost(
            &at,
            format!("real-time log config {arn}"),
            "the stack attaches its own log config (see [logging])",
        ),
        None => {}
    }
    let own_function = format!("function/{}", names.viewer_request_function());
    for f in b.functions.map(|f| f.items()).unwrap_or_default() {
        if f.function_arn().ends_with(&own_function) && f.event_type().as_str() == "viewer-request"
        {
            continue;
        }
        doc.lost(
            &at,
            format!(
                "CloudFront function {} at {}",
                f.function_arn(),
                f.event_type().as_str()
            ),
            "the stack attaches only its own viewer-request function: `up` replaces it",
        );
    }
    for l in b.lambdas.map(|l| l.items()).unwrap_or_default() {
        doc.lost(
            &at,
            format!(
                "Lambda@Edge function {} at {}",
                l.lambda_function_arn(),
                l.event_type().as_str()
            ),
            "the stack has no Lambda@Edge: `up` removes it",
        );
    }
    if let Some(fle) = b.field_level_encryption {
        doc.lost(
            &at,
            format!("field-level encryption {fle}"),
            "`up` removes it",
        );
    }
    if b.trusted_signers.is_some_and(|t| t.enabled())
        || b.trusted_key_groups.is_some_and(|t| t.enabled())
    {
        doc.lost(
            &at,
            "signed URLs or cookies (trusted signers or key groups)".into(),
            "`up` makes the behaviour public",
        );
    }
    if b.smooth_streaming.unwrap_or(false) {
        doc.lost(&at, "Smooth Streaming".into(), "`up` turns it off");
    }
    if b.grpc {
        doc.lost(&at, "gRPC".into(), "`up` turns it off");
    }
}

fn custom_cache(doc: &mut Doc, stack: &str, at: &str, key: &str, p: &CachePolicyConfig) {
    doc.kv("caching", "custom");
    // `cache_policy_name` only reads the behaviour's key.
    let mut probe = cfrp_config::Behavior::new("");
    probe.path_pattern = (key != "default").then(|| key.to_string());
    let own = cache_policy_name(stack, &probe);
    if p.name() != own {
        doc.comment(&format!(
            "From the cache policy \"{}\"; `up` makes the stack's own, {own}, with these settings.",
            p.name()
        ));
    }
    doc.line(&format!(
        "ttl = {{ min = {}, default = {}, max = {} }}",
        p.min_ttl(),
        p.default_ttl().unwrap_or(86_400),
        p.max_ttl().unwrap_or(31_536_000)
    ));
    let Some(k) = p.parameters_in_cache_key_and_forwarded_to_origin() else {
        return;
    };
    if !k.enable_accept_encoding_gzip() || !k.enable_accept_encoding_brotli().unwrap_or(false) {
        doc.lost(
            at,
            "a cache key without gzip or Brotli normalisation".into(),
            "the stack's policies normalise both",
        );
    }
    if let Some(h) = k.headers_config() {
        let headers: Vec<String> = h.headers().map(|h| h.items().to_vec()).unwrap_or_default();
        if !headers.is_empty() {
            doc.strings("cache_key_headers", &headers);
        }
    }
    let mode = |behaviour: &str| match behaviour {
        "all" => "all",
        "whitelist" => "allow",
        "allExcept" => "deny",
        _ => "none",
    };
    if let Some(q) = k.query_strings_config() {
        let m = mode(q.query_string_behavior().as_str());
        if m != "all" {
            doc.kv("cache_key_query_strings", m);
        }
        let items: Vec<String> = q
            .query_strings()
            .map(|n| n.items().to_vec())
            .unwrap_or_default();
        if !items.is_empty() {
            doc.strings("cache_key_query_string_names", &items);
        }
    }
    if let Some(ck) = k.cookies_config() {
        let m = mode(ck.cookie_behavior().as_str());
        if m != "none" {
            doc.kv("cache_key_cookies", m);
        }
        let items: Vec<String> = ck.cookies().map(|n| n.items().to_vec()).unwrap_or_default();
        if !items.is_empty() {
            doc.strings("cache_key_cookie_names", &items);
        }
    }
}

fn error_responses(doc: &mut Doc, c: &DistributionConfig) {
    for e in c
        .custom_error_responses()
        .map(|e| e.items())
        .unwrap_or_default()
    {
        doc.blank();
        doc.line("[[error_responses]]");
        doc.kv("code", i64::from(e.error_code()));
        doc.kv(
            "caching_min_ttl",
            e.error_caching_min_ttl()
                .unwrap_or(cfrp_config::ErrorResponse::DEFAULT_CACHING_MIN_TTL as i64),
        );
        let page = e.response_page_path().filter(|p| !p.is_empty());
        let code = e.response_code().filter(|c| !c.is_empty());
        if let (Some(page), Some(code)) = (page, code) {
            doc.kv("page", page);
            match code.parse::<i64>() {
                Ok(code) => doc.kv("response_code", code),
                Err(_) => doc.lost(
                    &format!("error_responses[{}]", e.error_code()),
                    format!("ResponseCode = {code}"),
                    "not a status code",
                ),
            }
        } else if page.is_some() || code.is_some() {
            doc.lost(
                &format!("error_responses[{}]", e.error_code()),
                "a response page without a response code, or the reverse".into(),
                "the stack sets both or neither: left out",
            );
        }
    }
}

fn response_headers(doc: &mut Doc, stack: &str, id: &str, p: &ResponseHeadersPolicyConfig) {
    doc.blank();
    doc.line("[response_headers]");
    if p.name() != response_headers_policy_name(stack) {
        doc.comment(&format!(
            "From the response headers policy \"{}\" ({id}); `up` makes the stack's own, {}, with these settings.",
            p.name(),
            response_headers_policy_name(stack)
        ));
    }
    let at = "response_headers";
    let security = p.security_headers_config();
    let mut overrides: Vec<bool> = Vec::new();
    if let Some(s) = security {
        if let Some(csp) = s.content_security_policy() {
            overrides.push(csp.r#override());
        }
        if let Some(f) = s.frame_options() {
            overrides.push(f.r#override());
        }
        if let Some(r) = s.referrer_policy() {
            overrides.push(r.r#override());
        }
        if let Some(t) = s.content_type_options() {
            overrides.push(t.r#override());
        }
        if let Some(h) = s.strict_transport_security() {
            overrides.push(h.r#override());
        }
    }
    let override_origin = overrides.first().copied().unwrap_or(true);
    if overrides.iter().any(|o| *o != override_origin) {
        doc.lost(
            at,
            "a different origin override per security header".into(),
            "the stack has one override_origin for all: written as the first header's",
        );
    }
    doc.kv("override_origin", override_origin);
    if let Some(s) = security {
        if let Some(csp) = s.content_security_policy() {
            doc.kv("content_security_policy", csp.content_security_policy());
        }
        if let Some(f) = s.frame_options() {
            doc.kv("frame_options", f.frame_option().as_str());
        }
        if let Some(r) = s.referrer_policy() {
            doc.kv("referrer_policy", r.referrer_policy().as_str());
        }
        doc.kv("content_type_options", s.content_type_options().is_some());
        if s.xss_protection().is_some() {
            doc.lost(
                at,
                "X-XSS-Protection".into(),
                "the stack does not set it (browsers ignore it)",
            );
        }
    }
    let removed: Vec<String> = p
        .remove_headers_config()
        .map(|r| r.items().iter().map(|h| h.header().to_string()).collect())
        .unwrap_or_default();
    if !removed.is_empty() {
        doc.strings("remove_headers", &removed);
    }
    if let Some(timing) = p.server_timing_headers_config().filter(|t| t.enabled()) {
        let rate = timing.sampling_rate().unwrap_or(0.0);
        // Whole percentages are written as integers, which is how a person writes them.
        if rate.fract() == 0.0 && (0.0..=100.0).contains(&rate) {
            doc.kv("server_timing_sampling_rate", rate as i64);
        } else {
            doc.kv("server_timing_sampling_rate", rate);
        }
    }
    if let Some(h) = security.and_then(|s| s.strict_transport_security()) {
        doc.blank();
        doc.line("[response_headers.hsts]");
        doc.kv("max_age_seconds", i64::from(h.access_control_max_age_sec()));
        doc.kv(
            "include_subdomains",
            h.include_subdomains().unwrap_or(false),
        );
        doc.kv("preload", h.preload().unwrap_or(false));
    }
    if let Some(cors) = p.cors_config() {
        doc.blank();
        doc.line("[response_headers.cors]");
        let list = |items: Option<&[String]>| items.map(<[String]>::to_vec).unwrap_or_default();
        doc.strings(
            "allow_origins",
            &list(cors.access_control_allow_origins().map(|o| o.items())),
        );
        let methods: Vec<String> = cors
            .access_control_allow_methods()
            .map(|m| m.items().iter().map(|m| m.as_str().to_string()).collect())
            .unwrap_or_default();
        doc.strings("allow_methods", &methods);
        doc.strings(
            "allow_headers",
            &list(cors.access_control_allow_headers().map(|h| h.items())),
        );
        let expose = list(cors.access_control_expose_headers().map(|h| h.items()));
        if !expose.is_empty() {
            doc.strings("expose_headers", &expose);
        }
        doc.kv("allow_credentials", cors.access_control_allow_credentials());
        if let Some(age) = cors.access_control_max_age_sec() {
            doc.kv("max_age_seconds", i64::from(age));
        }
        doc.kv("origin_override", cors.origin_override());
    }
    for h in p
        .custom_headers_config()
        .map(|c| c.items())
        .unwrap_or_default()
    {
        doc.blank();
        doc.line("[[response_headers.custom_headers]]");
        doc.kv("name", h.header());
        doc.kv("value", h.value());
        doc.kv("override_origin", h.r#override());
    }
}

fn logging(doc: &mut Doc, observed: &Observed<'_>, names: &Names, used: bool) {
    doc.blank();
    doc.line("[logging]");
    let own = observed.config.caller_reference() == names.caller_reference();
    match observed.log_config.filter(|_| used) {
        Some(settings) => {
            doc.kv("sampling_rate", settings.sampling_rate);
            doc.strings("fields", &settings.fields);
        }
        // The stack's own distribution without a log config: `up` ran with logging off.
        None if own => doc.kv("enabled", false),
        None => doc.comment(
            "`up` adds real-time logging (a Kinesis stream, the log config on every behaviour, and\nthe analyser); set enabled = false to leave it out.",
        ),
    }
}

/// Whether `tags` mark the distribution as a stack's, and whose.
pub fn stack_of(tags: &[(String, String)]) -> Option<&str> {
    tags.iter()
        .find(|(k, _)| k == STACK_TAG)
        .map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::distribution::{Inputs, build, cache_policy, flatten};
    use aws_sdk_cloudfront::types::{
        CookiePreference, CustomHeaders, EventType, ForwardedValues, ItemSelection,
        LambdaFunctionAssociation, OriginCustomHeader, S3OriginConfig,
    };
    use cfrp_config::StackConfig;

    /// A stack with every setting the import maps.
    const EDGE: &str = r#"
name = "edge"
region = "eu-west-1"
comment = "Edge \"test\" stack"

[distribution]
price_class = "PriceClass_200"
aliases = ["cdn.example.com", "www.example.com"]
certificate_arn = "arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
minimum_viewer_tls = "TLSv1.2_2019"
http_version = "http2"
ipv6 = false
default_root_object = "index.html"
additional_metrics = true

[distribution.geo_restriction]
mode = "allow"
countries = ["DE", "FR"]

[[origins]]
id = "blue"
domain = "blue.example.com"
path = "/v1"
origin_shield_region = "eu-west-1"
read_timeout_seconds = 45
tls_versions = ["TLSv1.1", "TLSv1.2"]

[[origins]]
id = "green"
domain = "green.example.com"
protocol = "match-viewer"
http_port = 8080
connection_attempts = 2
connection_timeout_seconds = 5

[[origin_groups]]
id = "site"
primary = "blue"
secondary = "green"
failover_status_codes = [500, 502]

[default_behavior]
origin = "site"
allowed_methods = "get-head-options"
cached_methods = "get-head-options"
response_headers = "custom"

[[behaviors]]
path_pattern = "/static/*"
origin = "blue"
caching = "custom"
ttl = { min = 0, default = 3600, max = 86400 }
cache_key_headers = ["Accept-Language"]
cache_key_query_strings = "allow"
cache_key_query_string_names = ["v"]
cache_key_cookies = "deny"
cache_key_cookie_names = ["tracking"]
origin_request = "none"
compress = false

[[behaviors]]
path_pattern = "/api/*"
origin = "green"
viewer_protocol = "https-only"
caching = "optimized"
origin_request = "all-viewer"
response_headers = "none"

[[error_responses]]
code = 503
caching_min_ttl = 0

[[error_responses]]
code = 404
caching_min_ttl = 300
page = "/errors/404.html"
response_code = 404

[response_headers]
content_security_policy = "default-src 'self'"
frame_options = "DENY"
referrer_policy = "same-origin"
content_type_options = true
remove_headers = ["Server"]
server_timing_sampling_rate = 50

[response_headers.hsts]
max_age_seconds = 31536000
include_subdomains = true

[response_headers.cors]
allow_origins = ["https://app.example.com"]
allow_methods = ["GET", "POST"]
allow_headers = ["Content-Type"]
allow_credentials = true
max_age_seconds = 600

[[response_headers.custom_headers]]
name = "X-Env"
value = "prod"
override_origin = false

[logging]
sampling_rate = 20
"#;

    const LOG_ARN: &str =
        "arn:aws:cloudfront::123456789012:realtime-log-config/cfrp-edge-realtime-logs";
    const FUNCTION_ARN: &str = "arn:aws:cloudfront::123456789012:function/cfrp-edge-viewer-request";

    struct Built {
        config: StackConfig,
        distribution: DistributionConfig,
        cache: Vec<CachePolicy>,
        headers: Vec<(String, ResponseHeadersPolicyConfig)>,
        inputs_cache: Vec<(String, String)>,
    }

    fn built(text: &str) -> Built {
        let config = StackConfig::parse(text, "edge.toml").expect("the edge config is valid");
        let mut cache = Vec::new();
        let mut inputs_cache = Vec::new();
        for (n, b) in config.behaviors.iter().enumerate() {
            if let Some(policy) = cache_policy(&config.name, b).expect("builds") {
                let id = format!("custom-cache-{n}");
                inputs_cache.push((super::super::distribution::behavior_key(b), id.clone()));
                cache.push(CachePolicy {
                    id,
                    etag: "E1".into(),
                    config: policy,
                });
            }
        }
        let headers = crate::spec::headers::response_headers_policy(&config)
            .expect("builds")
            .map(|p| vec![("custom-headers".to_string(), p)])
            .unwrap_or_default();
        let distribution = build(
            &config,
            &Inputs {
                caller_reference: "cfrp-edge-distribution",
                origin_secret: "s3cret",
                realtime_log_config_arn: Some(LOG_ARN),
                viewer_request_function_arn: FUNCTION_ARN,
                custom_cache_policies: &inputs_cache,
                web_acl_arn: None,
                response_headers_policy: Some("custom-headers"),
            },
        )
        .expect("builds");
        Built {
            config,
            distribution,
            cache,
            headers,
            inputs_cache,
        }
    }

    fn log_settings(config: &StackConfig) -> LogConfigSettings {
        LogConfigSettings {
            sampling_rate: i64::from(config.logging.sampling_rate),
            fields: config
                .logging
                .fields
                .iter()
                .map(|f| f.name().to_string())
                .collect(),
            stream_arn: "arn:aws:kinesis:eu-west-1:123456789012:stream/cfrp-edge-logs".into(),
            role_arn: "arn:aws:iam::123456789012:role/cfrp-edge-cloudfront-logs".into(),
        }
    }

    fn observed<'a>(
        b: &'a Built,
        distribution: &'a DistributionConfig,
        log: Option<&'a LogConfigSettings>,
    ) -> Observed<'a> {
        Observed {
            id: "E2EXAMPLE1ABC",
            config: distribution,
            stack: "edge",
            region: "eu-west-1",
            cache_policies: &b.cache,
            response_headers_policies: &b.headers,
            log_config: log,
            additional_metrics: b.config.distribution.additional_metrics,
        }
    }

    #[test]
    fn a_stacks_distribution_maps_back_to_its_config_field_by_field() {
        let b = built(EDGE);
        let log = log_settings(&b.config);
        let imported = import(&observed(&b, &b.distribution, Some(&log)));
        assert_eq!(imported.unrepresentable, Vec::new(), "{}", imported.text);
        let again = StackConfig::parse(&imported.text, "imported.toml")
            .unwrap_or_else(|e| panic!("{e}\n{}", imported.text));
        let original = &b.config;
        assert_eq!(again.name, original.name);
        assert_eq!(again.region, original.region);
        assert_eq!(again.comment, original.comment);
        assert_eq!(again.distribution, original.distribution);
        assert_eq!(again.origins, original.origins);
        assert_eq!(again.origin_groups, original.origin_groups);
        assert_eq!(again.default_behavior, original.default_behavior);
        assert_eq!(again.behaviors, original.behaviors);
        assert_eq!(again.error_responses, original.error_responses);
        assert_eq!(again.response_headers, original.response_headers);
        assert_eq!(again.logging, original.logging);
        // And so the distribution and policies `up` would build are the ones that exist.
        let rebuilt = built(&imported.text);
        assert_eq!(flatten(&rebuilt.distribution), flatten(&b.distribution));
        assert_eq!(rebuilt.inputs_cache, b.inputs_cache);
        assert_eq!(rebuilt.headers, b.headers);
        assert_eq!(rebuilt.cache, b.cache);
    }

    #[test]
    fn the_defaults_of_a_plain_stack_round_trip_too() {
        let text = "name = \"plain\"\nregion = \"us-east-1\"\n[[origins]]\nid = \"app\"\ndomain = \"app.example.com\"\n[default_behavior]\norigin = \"app\"\n";
        let config = StackConfig::parse(text, "plain.toml").expect("valid");
        let distribution = build(
            &config,
            &Inputs {
                caller_reference: "cfrp-plain-distribution",
                origin_secret: "s",
                realtime_log_config_arn: None,
                viewer_request_function_arn: "arn:aws:cloudfront::1:function/cfrp-plain-viewer-request",
                custom_cache_policies: &[],
                web_acl_arn: None,
                response_headers_policy: None,
            },
        )
        .expect("builds");
        let imported = import(&Observed {
            id: "E1",
            config: &distribution,
            stack: "plain",
            region: "us-east-1",
            cache_policies: &[],
            response_headers_policies: &[],
            log_config: None,
            additional_metrics: false,
        });
        let again = StackConfig::parse(&imported.text, "i.toml")
            .unwrap_or_else(|e| panic!("{e}\n{}", imported.text));
        // The stack's own distribution without a log config ran with logging off.
        assert!(!again.logging.enabled);
        assert_eq!(again.distribution, config.distribution);
        assert_eq!(again.origins, config.origins);
        assert_eq!(again.default_behavior, config.default_behavior);
        assert!(imported.unrepresentable.is_empty());
    }

    #[test]
    fn settings_the_config_cannot_hold_are_named_at_their_place_and_listed() {
        let b = built(EDGE);
        let mut d = b.distribution.clone();
        d.enabled = false;
        d.web_acl_id = Some("a1b2c3d4-classic".into());
        if let Some(origins) = d.origins.as_mut() {
            let first = &mut origins.items[0];
            first.custom_headers = Some(
                CustomHeaders::builder()
                    .quantity(1)
                    .items(
                        OriginCustomHeader::builder()
                            .header_name("X-Api-Key")
                            .header_value("k")
                            .build()
                            .expect("builds"),
                    )
                    .build()
                    .expect("builds"),
            );
            let second = &mut origins.items[1];
            second.custom_origin_config = None;
            second.s3_origin_config =
                Some(S3OriginConfig::builder().origin_access_identity("").build());
        }
        if let Some(behaviors) = d.cache_behaviors.as_mut() {
            let api = &mut behaviors.items.as_mut().expect("two behaviours")[1];
            api.cache_policy_id = None;
            // Deprecated in the API, and exactly what a hand-made legacy behaviour carries.
            #[allow(deprecated)]
            let legacy = Some(
                ForwardedValues::builder()
                    .query_string(true)
                    .cookies(
                        CookiePreference::builder()
                            .forward(ItemSelection::None)
                            .build()
                            .expect("builds"),
                    )
                    .build()
                    .expect("builds"),
            );
            #[allow(deprecated)]
            {
                api.forwarded_values = legacy;
            }
            api.lambda_function_associations = Some(
                LambdaFunctionAssociations::builder()
                    .quantity(1)
                    .items(
                        LambdaFunctionAssociation::builder()
                            .lambda_function_arn("arn:aws:lambda:us-east-1:1:function:auth:3")
                            .event_type(EventType::ViewerRequest)
                            .build()
                            .expect("builds"),
                    )
                    .build()
                    .expect("builds"),
            );
            api.realtime_log_config_arn =
                Some("arn:aws:cloudfront::1:realtime-log-config/theirs".into());
        }
        let imported = import(&observed(&b, &d, None));
        let lost: Vec<(&str, &str)> = imported
            .unrepresentable
            .iter()
            .map(|u| (u.at.as_str(), u.setting.as_str()))
            .collect();
        for expected in [
            ("distribution", "Enabled = false"),
            ("distribution", "WAF Classic web ACL a1b2c3d4-classic"),
            ("origins[blue]", "origin custom header X-Api-Key"),
            ("origins[green]", "an S3 origin (S3OriginConfig)"),
            (
                "behaviors[/api/*]",
                "legacy cache settings (ForwardedValues and TTLs, no cache policy)",
            ),
            (
                "behaviors[/api/*]",
                "Lambda@Edge function arn:aws:lambda:us-east-1:1:function:auth:3 at viewer-request",
            ),
            (
                "behaviors[/api/*]",
                "real-time log config arn:aws:cloudfront::1:realtime-log-config/theirs",
            ),
        ] {
            assert!(lost.contains(&expected), "{expected:?} not in {lost:#?}");
        }
        // Each is a comment at its place, and the document still loads.
        assert!(imported.text.contains(
            "# NOT IMPORTED: origin custom header X-Api-Key (the stack sends only X-Origin-Verify: `up` removes this header)"
        ));
        let again = StackConfig::parse(&imported.text, "i.toml")
            .unwrap_or_else(|e| panic!("{e}\n{}", imported.text));
        assert_eq!(
            again.behaviors[1].caching,
            cfrp_config::CachingMode::Disabled
        );
        assert_eq!(
            again.origins[1].protocol,
            cfrp_config::OriginProtocol::HttpsOnly
        );
        // The secret header is the stack's and is not reported.
        assert!(!lost.iter().any(|(_, s)| s.contains(ORIGIN_VERIFY_HEADER)));
    }

    #[test]
    fn a_foreign_policy_is_named_as_the_source_of_the_stacks_own() {
        let mut b = built(EDGE);
        b.cache[0].config.name = "their-static-policy".into();
        b.headers[0].1.name = "their-headers".into();
        let log = log_settings(&b.config);
        let imported = import(&observed(&b, &b.distribution, Some(&log)));
        assert!(imported.text.contains("From the cache policy \"their-static-policy\"; `up` makes the stack's own, cfrp-edge-cache-"));
        assert!(
            imported
                .text
                .contains("From the response headers policy \"their-headers\" (custom-headers)")
        );
        let again = StackConfig::parse(&imported.text, "i.toml").expect("loads");
        assert_eq!(again.behaviors, b.config.behaviors);
    }
}
