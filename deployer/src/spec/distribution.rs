//! The distribution's config as the CloudFront API wants it, and its flattened form for
//! comparison. `flatten` reads both the config we build and the one CloudFront returns, so
//! a setting that does not round-trip shows up as a change instead of hiding.

use aws_sdk_cloudfront::types::{
    self as cf, AllowedMethods, CacheBehavior, CacheBehaviors, CachedMethods, CustomHeaders,
    CustomOriginConfig, DefaultCacheBehavior, DistributionConfig, EventType, FunctionAssociation,
    FunctionAssociations, GeoRestriction, GeoRestrictionType, Method, MinimumProtocolVersion,
    Origin, OriginCustomHeader, OriginProtocolPolicy, OriginSslProtocols, Origins, PriceClass,
    Restrictions, SslProtocol, SslSupportMethod, ViewerCertificate, ViewerProtocolPolicy,
};
use aws_sdk_cloudfront::types::{
    CachePolicyConfig, CachePolicyCookieBehavior, CachePolicyCookiesConfig,
    CachePolicyHeaderBehavior, CachePolicyHeadersConfig, CachePolicyQueryStringBehavior,
    CachePolicyQueryStringsConfig, Headers, ParametersInCacheKeyAndForwardedToOrigin,
};
use cfrp_config::{
    self as config, AllowedMethods as Allowed, Behavior, CachedMethods as Cached, CachingMode,
    GeoMode, HttpVersion, KeyItems, OriginRequest, ResponseHeaders, StackConfig, ViewerProtocol,
};
use sha2::{Digest, Sha256};

use crate::diff::Fields;
use crate::error::DeployError;

/// The custom header every origin request carries; the origin rejects requests without the
/// stack's secret value, so nobody can bypass CloudFront (and its WAF and logs).
pub const ORIGIN_VERIFY_HEADER: &str = "X-Origin-Verify";

/// AWS managed policies (ids are fixed by AWS and documented in the CloudFront developer
/// guide's "Use managed policies" pages).
pub mod managed {
    pub const CACHING_DISABLED: &str = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad";
    pub const CACHING_OPTIMIZED: &str = "658327ea-f89d-4fab-a63d-7e88639e58f6";
    pub const USE_ORIGIN_CACHE_CONTROL_HEADERS: &str = "83da9c7e-98b4-4e11-a168-04f0df8e2c65";
    pub const ALL_VIEWER: &str = "216adef6-5c7f-47e4-b989-5492eafa07d3";
    pub const ALL_VIEWER_EXCEPT_HOST_HEADER: &str = "b689b0a8-53d0-40ab-baf2-68738e2966ac";
    pub const SECURITY_HEADERS: &str = "67f7725c-6f97-4210-82d7-5512b31e9d03";
}

/// What the distribution's config depends on besides the stack config.
#[derive(Debug, Clone)]
pub struct Inputs<'a> {
    pub caller_reference: &'a str,
    pub origin_secret: &'a str,
    /// `None` when real-time logging is off.
    pub realtime_log_config_arn: Option<&'a str>,
    pub viewer_request_function_arn: &'a str,
    /// The custom cache policy id of each behavior with `caching = "custom"`, by key
    /// (see [`behavior_key`]).
    pub custom_cache_policies: &'a [(String, String)],
    /// The `[waf]` web ACL's ARN; None: `distribution.web_acl_arn` (bring your own) or none.
    pub web_acl_arn: Option<&'a str>,
    /// The id of the stack's own response headers policy, when it has one.
    pub response_headers_policy: Option<&'a str>,
}

/// The stable key of a behavior: `default` or its path pattern.
pub fn behavior_key(behavior: &Behavior) -> String {
    behavior
        .path_pattern
        .clone()
        .unwrap_or_else(|| "default".to_string())
}

/// The name of the custom cache policy of a behavior. CloudFront policy names allow
/// letters, digits, `-` and `_` up to 128 characters, so the path pattern is hashed.
pub fn cache_policy_name(stack: &str, behavior: &Behavior) -> String {
    let digest = Sha256::digest(behavior_key(behavior).as_bytes());
    let short: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
    format!("cfrp-{stack}-cache-{short}")
}

/// The cache policy of a behavior with `caching = "custom"`.
pub fn cache_policy(
    stack: &str,
    behavior: &Behavior,
) -> Result<Option<CachePolicyConfig>, DeployError> {
    if behavior.caching != CachingMode::Custom {
        return Ok(None);
    }
    let ttl = behavior.ttl.clone().unwrap_or(config::Ttl {
        min: 0,
        default: 86_400,
        max: 31_536_000,
    });
    let headers = if behavior.cache_key_headers.is_empty() {
        CachePolicyHeadersConfig::builder()
            .header_behavior(CachePolicyHeaderBehavior::None)
            .build()?
    } else {
        CachePolicyHeadersConfig::builder()
            .header_behavior(CachePolicyHeaderBehavior::Whitelist)
            .headers(
                Headers::builder()
                    .quantity(behavior.cache_key_headers.len() as i32)
                    .set_items(Some(behavior.cache_key_headers.clone()))
                    .build()?,
            )
            .build()?
    };
    let names = |names: &[String]| -> Result<Option<cf::CookieNames>, DeployError> {
        Ok(Some(
            cf::CookieNames::builder()
                .quantity(names.len() as i32)
                .set_items(Some(names.to_vec()))
                .build()?,
        ))
    };
    let cookies = CachePolicyCookiesConfig::builder()
        .cookie_behavior(match behavior.cache_key_cookies {
            KeyItems::All => CachePolicyCookieBehavior::All,
            KeyItems::None => CachePolicyCookieBehavior::None,
            KeyItems::Allow => CachePolicyCookieBehavior::Whitelist,
            KeyItems::Deny => CachePolicyCookieBehavior::AllExcept,
        })
        .set_cookies(match behavior.cache_key_cookies {
            KeyItems::Allow | KeyItems::Deny => names(&behavior.cache_key_cookie_names)?,
            KeyItems::All | KeyItems::None => None,
        })
        .build()?;
    let query_names = match behavior.cache_key_query_strings {
        KeyItems::Allow | KeyItems::Deny => Some(
            cf::QueryStringNames::builder()
                .quantity(behavior.cache_key_query_string_names.len() as i32)
                .set_items(Some(behavior.cache_key_query_string_names.clone()))
                .build()?,
        ),
        KeyItems::All | KeyItems::None => None,
    };
    let query_strings = CachePolicyQueryStringsConfig::builder()
        .query_string_behavior(match behavior.cache_key_query_strings {
            KeyItems::All => CachePolicyQueryStringBehavior::All,
            KeyItems::None => CachePolicyQueryStringBehavior::None,
            KeyItems::Allow => CachePolicyQueryStringBehavior::Whitelist,
            KeyItems::Deny => CachePolicyQueryStringBehavior::AllExcept,
        })
        .set_query_strings(query_names)
        .build()?;
    let parameters = ParametersInCacheKeyAndForwardedToOrigin::builder()
        .enable_accept_encoding_gzip(true)
        .enable_accept_encoding_brotli(true)
        .headers_config(headers)
        .cookies_config(cookies)
        .query_strings_config(query_strings)
        .build()?;
    Ok(Some(
        CachePolicyConfig::builder()
            .name(cache_policy_name(stack, behavior))
            .comment(format!(
                "cloudfront-reverse-proxy {stack}: {}",
                behavior_key(behavior)
            ))
            .min_ttl(ttl.min as i64)
            .default_ttl(ttl.default as i64)
            .max_ttl(ttl.max as i64)
            .parameters_in_cache_key_and_forwarded_to_origin(parameters)
            .build()?,
    ))
}

/// Flattened cache policy settings.
pub fn flatten_cache_policy(policy: &CachePolicyConfig) -> Fields {
    let mut f = Fields::new();
    f.insert(
        "comment".into(),
        policy.comment().unwrap_or_default().into(),
    );
    f.insert("min_ttl".into(), policy.min_ttl().to_string());
    f.insert(
        "default_ttl".into(),
        policy.default_ttl().unwrap_or(0).to_string(),
    );
    f.insert("max_ttl".into(), policy.max_ttl().unwrap_or(0).to_string());
    if let Some(p) = policy.parameters_in_cache_key_and_forwarded_to_origin() {
        let headers = p
            .headers_config()
            .and_then(|h| h.headers())
            .map(|h| sorted(h.items()))
            .unwrap_or_default();
        f.insert("cache_key_headers".into(), headers);
        f.insert(
            "query_strings".into(),
            p.query_strings_config()
                .map(|q| q.query_string_behavior().as_str().to_string())
                .unwrap_or_default(),
        );
        f.insert(
            "query_string_names".into(),
            p.query_strings_config()
                .and_then(|q| q.query_strings())
                .map(|n| sorted(n.items()))
                .unwrap_or_default(),
        );
        f.insert(
            "cookies".into(),
            p.cookies_config()
                .map(|c| c.cookie_behavior().as_str().to_string())
                .unwrap_or_default(),
        );
        f.insert(
            "cookie_names".into(),
            p.cookies_config()
                .and_then(|c| c.cookies())
                .map(|n| sorted(n.items()))
                .unwrap_or_default(),
        );
    }
    f
}

/// The whole distribution config.
pub fn build(config: &StackConfig, inputs: &Inputs<'_>) -> Result<DistributionConfig, DeployError> {
    let d = &config.distribution;
    let origins = config
        .origins
        .iter()
        .map(|o| origin(o, inputs.origin_secret))
        .collect::<Result<Vec<_>, _>>()?;
    let mut builder = DistributionConfig::builder()
        .caller_reference(inputs.caller_reference)
        .comment(&config.comment)
        .enabled(true)
        .price_class(PriceClass::from(d.price_class.as_str()))
        .http_version(cf::HttpVersion::from(match d.http_version {
            HttpVersion::Http11 => "http1.1",
            HttpVersion::Http2 => "http2",
            HttpVersion::Http3 => "http3",
            HttpVersion::Http2And3 => "http2and3",
        }))
        .is_ipv6_enabled(d.ipv6)
        .default_root_object(d.default_root_object.clone().unwrap_or_default())
        .web_acl_id(
            inputs
                .web_acl_arn
                .or(d.web_acl_arn.as_deref())
                .unwrap_or_default(),
        )
        .aliases(
            cf::Aliases::builder()
                .quantity(d.aliases.len() as i32)
                .set_items((!d.aliases.is_empty()).then(|| d.aliases.clone()))
                .build()?,
        )
        .viewer_certificate(viewer_certificate(config))
        .restrictions(
            Restrictions::builder()
                .geo_restriction(
                    GeoRestriction::builder()
                        .restriction_type(match d.geo_restriction.mode {
                            GeoMode::None => GeoRestrictionType::None,
                            GeoMode::Allow => GeoRestrictionType::Whitelist,
                            GeoMode::Deny => GeoRestrictionType::Blacklist,
                        })
                        .quantity(d.geo_restriction.countries.len() as i32)
                        .set_items(
                            (!d.geo_restriction.countries.is_empty())
                                .then(|| d.geo_restriction.countries.clone()),
                        )
                        .build()?,
                )
                .build(),
        )
        .origins(
            Origins::builder()
                .quantity(origins.len() as i32)
                .set_items(Some(origins))
                .build()?,
        )
        .default_cache_behavior(default_behavior(config, inputs)?)
        .origin_groups(super::edge::origin_groups(config)?)
        .custom_error_responses(super::edge::error_responses(config)?);
    let behaviors = config
        .behaviors
        .iter()
        .map(|b| behavior(b, inputs))
        .collect::<Result<Vec<_>, _>>()?;
    builder = builder.cache_behaviors(
        CacheBehaviors::builder()
            .quantity(behaviors.len() as i32)
            .set_items((!behaviors.is_empty()).then_some(behaviors))
            .build()?,
    );
    Ok(builder.build()?)
}

fn viewer_certificate(config: &StackConfig) -> ViewerCertificate {
    match &config.distribution.certificate_arn {
        Some(arn) => ViewerCertificate::builder()
            .acm_certificate_arn(arn)
            .ssl_support_method(SslSupportMethod::SniOnly)
            .minimum_protocol_version(MinimumProtocolVersion::from(
                config.distribution.minimum_viewer_tls.as_str(),
            ))
            .build(),
        // Without an alias certificate CloudFront serves *.cloudfront.net, whose TLS policy
        // AWS fixes (TLSv1); the minimum only applies to a custom certificate.
        None => ViewerCertificate::builder()
            .cloud_front_default_certificate(true)
            .build(),
    }
}

fn origin(o: &config::Origin, secret: &str) -> Result<Origin, DeployError> {
    let tls: Vec<SslProtocol> = o
        .tls_versions
        .iter()
        .map(|t| SslProtocol::from(t.as_str()))
        .collect();
    let custom = CustomOriginConfig::builder()
        .http_port(i32::from(o.http_port))
        .https_port(i32::from(o.https_port))
        .origin_protocol_policy(OriginProtocolPolicy::from(o.protocol.as_str()))
        .origin_read_timeout(o.read_timeout_seconds as i32)
        .origin_keepalive_timeout(o.keepalive_timeout_seconds as i32)
        .origin_ssl_protocols(
            OriginSslProtocols::builder()
                .quantity(tls.len() as i32)
                .set_items(Some(tls))
                .build()?,
        )
        .build()?;
    let header = OriginCustomHeader::builder()
        .header_name(ORIGIN_VERIFY_HEADER)
        .header_value(secret)
        .build()?;
    Ok(Origin::builder()
        .id(&o.id)
        .domain_name(&o.domain)
        .origin_path(&o.path)
        .custom_origin_config(custom)
        .connection_attempts(o.connection_attempts as i32)
        .connection_timeout(o.connection_timeout_seconds as i32)
        .origin_shield(super::edge::origin_shield(o)?)
        .custom_headers(CustomHeaders::builder().quantity(1).items(header).build()?)
        .build()?)
}

/// The settings every behavior shares, as plain values.
struct BehaviorParts {
    allowed: AllowedMethods,
    viewer_protocol: ViewerProtocolPolicy,
    functions: FunctionAssociations,
    cache_policy: String,
    origin_request_policy: Option<String>,
    response_headers_policy: Option<String>,
}

fn parts(b: &Behavior, inputs: &Inputs<'_>) -> Result<BehaviorParts, DeployError> {
    let allowed: Vec<Method> = match b.allowed_methods {
        Allowed::All => vec![
            Method::Get,
            Method::Head,
            Method::Options,
            Method::Put,
            Method::Patch,
            Method::Post,
            Method::Delete,
        ],
        Allowed::GetHead => vec![Method::Get, Method::Head],
        Allowed::GetHeadOptions => vec![Method::Get, Method::Head, Method::Options],
    };
    let cached: Vec<Method> = match b.cached_methods {
        Cached::GetHead => vec![Method::Get, Method::Head],
        Cached::GetHeadOptions => vec![Method::Get, Method::Head, Method::Options],
    };
    let allowed = AllowedMethods::builder()
        .quantity(allowed.len() as i32)
        .set_items(Some(allowed))
        .cached_methods(
            CachedMethods::builder()
                .quantity(cached.len() as i32)
                .set_items(Some(cached))
                .build()?,
        )
        .build()?;
    let association = FunctionAssociation::builder()
        .function_arn(inputs.viewer_request_function_arn)
        .event_type(EventType::ViewerRequest)
        .build()?;
    let functions = FunctionAssociations::builder()
        .quantity(1)
        .items(association)
        .build()?;
    let key = behavior_key(b);
    let cache_policy = match b.caching {
        CachingMode::Disabled => managed::CACHING_DISABLED.to_string(),
        CachingMode::Optimized => managed::CACHING_OPTIMIZED.to_string(),
        CachingMode::OriginHeaders => managed::USE_ORIGIN_CACHE_CONTROL_HEADERS.to_string(),
        CachingMode::Custom => inputs
            .custom_cache_policies
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, id)| id.clone())
            .unwrap_or_else(|| super::KNOWN_AFTER_UP.to_string()),
    };
    Ok(BehaviorParts {
        allowed,
        viewer_protocol: ViewerProtocolPolicy::from(match b.viewer_protocol {
            ViewerProtocol::RedirectToHttps => "redirect-to-https",
            ViewerProtocol::HttpsOnly => "https-only",
            ViewerProtocol::AllowAll => "allow-all",
        }),
        functions,
        cache_policy,
        // Viewer headers only: neither managed policy adds CloudFront headers (Developer
        // Guide, "Use managed origin request policies"), so CloudFront-Viewer-Address never
        // reaches the origin from CloudFront, and the viewer-request function removes a
        // viewer-sent one. No custom policy can add it without forwarding the viewer's Host
        // (allViewerAndWhitelistCloudFront), which Lambda URL and API Gateway origins refuse;
        // the function passes the viewer's address as True-Client-IP instead.
        origin_request_policy: match b.origin_request {
            OriginRequest::AllViewer => Some(managed::ALL_VIEWER.to_string()),
            OriginRequest::AllViewerExceptHost => {
                Some(managed::ALL_VIEWER_EXCEPT_HOST_HEADER.to_string())
            }
            OriginRequest::None => None,
        },
        response_headers_policy: match b.response_headers {
            ResponseHeaders::SecurityHeaders => Some(managed::SECURITY_HEADERS.to_string()),
            ResponseHeaders::None => None,
            ResponseHeaders::Custom => Some(
                inputs
                    .response_headers_policy
                    .unwrap_or(super::KNOWN_AFTER_UP)
                    .to_string(),
            ),
        },
    })
}

fn default_behavior(
    config: &StackConfig,
    inputs: &Inputs<'_>,
) -> Result<DefaultCacheBehavior, DeployError> {
    let b = &config.default_behavior;
    let p = parts(b, inputs)?;
    Ok(DefaultCacheBehavior::builder()
        .target_origin_id(&b.origin)
        .viewer_protocol_policy(p.viewer_protocol)
        .allowed_methods(p.allowed)
        .compress(b.compress)
        .cache_policy_id(p.cache_policy)
        .set_origin_request_policy_id(p.origin_request_policy)
        .set_response_headers_policy_id(p.response_headers_policy)
        .set_realtime_log_config_arn(inputs.realtime_log_config_arn.map(str::to_string))
        .function_associations(p.functions)
        .build()?)
}

fn behavior(b: &Behavior, inputs: &Inputs<'_>) -> Result<CacheBehavior, DeployError> {
    let p = parts(b, inputs)?;
    Ok(CacheBehavior::builder()
        .path_pattern(behavior_key(b))
        .target_origin_id(&b.origin)
        .viewer_protocol_policy(p.viewer_protocol)
        .allowed_methods(p.allowed)
        .compress(b.compress)
        .cache_policy_id(p.cache_policy)
        .set_origin_request_policy_id(p.origin_request_policy)
        .set_response_headers_policy_id(p.response_headers_policy)
        .set_realtime_log_config_arn(inputs.realtime_log_config_arn.map(str::to_string))
        .function_associations(p.functions)
        .build()?)
}

fn sorted(items: &[String]) -> String {
    let mut items = items.to_vec();
    items.sort();
    items.join(",")
}

fn methods(items: &[Method]) -> String {
    let mut items: Vec<&str> = items.iter().map(Method::as_str).collect();
    items.sort_unstable();
    items.join(",")
}

/// A secret shown by digest only, so `plan` output can be shared.
pub fn secret_digest(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    let short: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    format!("(secret, sha256 {short}…)")
}

/// The comparable form of a distribution config.
pub fn flatten(c: &DistributionConfig) -> Fields {
    let mut f = Fields::new();
    let mut put = |k: String, v: String| {
        f.insert(k, v);
    };
    put("comment".into(), c.comment().to_string());
    put("enabled".into(), c.enabled().to_string());
    put(
        "price_class".into(),
        c.price_class()
            .map(|p| p.as_str().to_string())
            .unwrap_or_default(),
    );
    put(
        "http_version".into(),
        c.http_version()
            .map(|p| p.as_str().to_string())
            .unwrap_or_default(),
    );
    put(
        "ipv6".into(),
        c.is_ipv6_enabled().unwrap_or(false).to_string(),
    );
    put(
        "default_root_object".into(),
        c.default_root_object().unwrap_or_default().to_string(),
    );
    put(
        "web_acl".into(),
        c.web_acl_id().unwrap_or_default().to_string(),
    );
    put(
        "aliases".into(),
        c.aliases().map(|a| sorted(a.items())).unwrap_or_default(),
    );
    if let Some(v) = c.viewer_certificate() {
        put(
            "viewer_certificate".into(),
            match v.acm_certificate_arn().filter(|arn| !arn.is_empty()) {
                Some(arn) => format!(
                    "{arn} {} {}",
                    v.ssl_support_method()
                        .map(|s| s.as_str())
                        .unwrap_or_default(),
                    v.minimum_protocol_version()
                        .map(|s| s.as_str())
                        .unwrap_or_default()
                ),
                _ => "cloudfront-default".to_string(),
            },
        );
    }
    if let Some(g) = c.restrictions().and_then(|r| r.geo_restriction()) {
        put(
            "geo_restriction".into(),
            format!("{} {}", g.restriction_type().as_str(), sorted(g.items()))
                .trim_end()
                .to_string(),
        );
    }
    for o in c.origins().map(|o| o.items()).unwrap_or_default() {
        let p = format!("origins[{}]", o.id());
        put(format!("{p}.domain"), o.domain_name().to_string());
        put(
            format!("{p}.path"),
            o.origin_path().unwrap_or_default().to_string(),
        );
        put(
            format!("{p}.connection"),
            format!(
                "attempts={} timeout={}s",
                o.connection_attempts().unwrap_or(3),
                o.connection_timeout().unwrap_or(10)
            ),
        );
        if let Some(custom) = o.custom_origin_config() {
            put(
                format!("{p}.protocol"),
                custom.origin_protocol_policy().as_str().to_string(),
            );
            put(
                format!("{p}.ports"),
                format!("http={} https={}", custom.http_port(), custom.https_port()),
            );
            put(
                format!("{p}.timeouts"),
                format!(
                    "read={}s keepalive={}s",
                    custom.origin_read_timeout().unwrap_or(30),
                    custom.origin_keepalive_timeout().unwrap_or(5)
                ),
            );
            let mut tls: Vec<&str> = custom
                .origin_ssl_protocols()
                .map(|t| t.items().iter().map(SslProtocol::as_str).collect())
                .unwrap_or_default();
            tls.sort_unstable();
            put(format!("{p}.tls"), tls.join(","));
        }
        put(
            format!("{p}.origin_shield"),
            super::edge::flatten_origin_shield(o),
        );
        for h in o.custom_headers().map(|h| h.items()).unwrap_or_default() {
            let value = if h.header_name().eq_ignore_ascii_case(ORIGIN_VERIFY_HEADER) {
                secret_digest(h.header_value())
            } else {
                h.header_value().to_string()
            };
            put(format!("{p}.header[{}]", h.header_name()), value);
        }
    }
    if let Some(b) = c.default_cache_behavior() {
        flatten_behavior(
            &mut f,
            "behaviors[default]",
            BehaviorView {
                origin: b.target_origin_id(),
                viewer_protocol: b.viewer_protocol_policy().as_str(),
                allowed: b.allowed_methods(),
                compress: b.compress(),
                cache_policy: b.cache_policy_id(),
                origin_request_policy: b.origin_request_policy_id(),
                response_headers_policy: b.response_headers_policy_id(),
                realtime_log: b.realtime_log_config_arn(),
                functions: b.function_associations(),
            },
        );
    }
    for b in c.cache_behaviors().map(|b| b.items()).unwrap_or_default() {
        flatten_behavior(
            &mut f,
            &format!("behaviors[{}]", b.path_pattern()),
            BehaviorView {
                origin: b.target_origin_id(),
                viewer_protocol: b.viewer_protocol_policy().as_str(),
                allowed: b.allowed_methods(),
                compress: b.compress(),
                cache_policy: b.cache_policy_id(),
                origin_request_policy: b.origin_request_policy_id(),
                response_headers_policy: b.response_headers_policy_id(),
                realtime_log: b.realtime_log_config_arn(),
                functions: b.function_associations(),
            },
        );
    }
    super::edge::flatten(c, &mut f);
    // Behavior order decides which pattern wins; a reorder is a change.
    let order: Vec<&str> = c
        .cache_behaviors()
        .map(|b| b.items().iter().map(|b| b.path_pattern()).collect())
        .unwrap_or_default();
    f.insert("behavior_order".into(), order.join(" "));
    f
}

struct BehaviorView<'a> {
    origin: &'a str,
    viewer_protocol: &'a str,
    allowed: Option<&'a AllowedMethods>,
    compress: Option<bool>,
    cache_policy: Option<&'a str>,
    origin_request_policy: Option<&'a str>,
    response_headers_policy: Option<&'a str>,
    realtime_log: Option<&'a str>,
    functions: Option<&'a FunctionAssociations>,
}

fn flatten_behavior(f: &mut Fields, p: &str, b: BehaviorView<'_>) {
    let mut put = |k: &str, v: String| {
        f.insert(format!("{p}.{k}"), v);
    };
    put("origin", b.origin.to_string());
    put("viewer_protocol", b.viewer_protocol.to_string());
    if let Some(a) = b.allowed {
        put("allowed_methods", methods(a.items()));
        put(
            "cached_methods",
            a.cached_methods()
                .map(|c| methods(c.items()))
                .unwrap_or_default(),
        );
    }
    put("compress", b.compress.unwrap_or(false).to_string());
    put(
        "cache_policy",
        b.cache_policy.unwrap_or_default().to_string(),
    );
    put(
        "origin_request_policy",
        b.origin_request_policy.unwrap_or_default().to_string(),
    );
    put(
        "response_headers_policy",
        b.response_headers_policy.unwrap_or_default().to_string(),
    );
    put(
        "realtime_log_config",
        b.realtime_log.unwrap_or_default().to_string(),
    );
    let mut functions: Vec<String> = b
        .functions
        .map(|fa| {
            fa.items()
                .iter()
                .map(|a| format!("{}={}", a.event_type().as_str(), a.function_arn()))
                .collect()
        })
        .unwrap_or_default();
    functions.sort();
    put("functions", functions.join(","));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shop() -> StackConfig {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/examples/proxy.toml");
        StackConfig::load(std::path::Path::new(path)).expect("the example config is valid")
    }

    fn inputs() -> Inputs<'static> {
        Inputs {
            caller_reference: "cfrp-shop-distribution",
            origin_secret: "s3cret",
            realtime_log_config_arn: Some(
                "arn:aws:cloudfront::123456789012:realtime-log-config/cfrp-shop-realtime-logs",
            ),
            viewer_request_function_arn: "arn:aws:cloudfront::123456789012:function/cfrp-shop-viewer-request",
            custom_cache_policies: &[],
            web_acl_arn: None,
            response_headers_policy: None,
        }
    }

    #[test]
    fn reverse_proxy_settings_of_the_example_stack() {
        let config = shop();
        let built = build(&config, &inputs()).expect("builds");
        let f = flatten(&built);
        let get = |k: &str| f.get(k).map(String::as_str).unwrap_or("<missing>");
        assert_eq!(get("origins[app].domain"), "app.shop.example.com");
        assert_eq!(get("origins[app].protocol"), "https-only");
        assert_eq!(get("origins[app].tls"), "TLSv1.2");
        assert_eq!(get("origins[app].timeouts"), "read=30s keepalive=5s");
        assert_eq!(get("origins[api].path"), "/v1");
        assert_eq!(
            get("origins[app].header[X-Origin-Verify]"),
            secret_digest("s3cret")
        );
        assert_eq!(
            get("behaviors[default].viewer_protocol"),
            "redirect-to-https"
        );
        assert_eq!(
            get("behaviors[default].allowed_methods"),
            "DELETE,GET,HEAD,OPTIONS,PATCH,POST,PUT"
        );
        assert_eq!(
            get("behaviors[default].cache_policy"),
            managed::CACHING_DISABLED
        );
        assert_eq!(
            get("behaviors[default].origin_request_policy"),
            managed::ALL_VIEWER_EXCEPT_HOST_HEADER
        );
        assert_eq!(
            get("behaviors[default].response_headers_policy"),
            managed::SECURITY_HEADERS
        );
        assert_eq!(get("behaviors[/api/*].origin"), "api");
        assert_eq!(
            get("behaviors[/static/*].cache_policy"),
            crate::spec::KNOWN_AFTER_UP
        );
        assert!(
            get("behaviors[/api/*].functions").starts_with("viewer-request=arn:aws:cloudfront::")
        );
        assert!(get("behaviors[/api/*].realtime_log_config").ends_with("cfrp-shop-realtime-logs"));
        assert_eq!(get("http_version"), "http2and3");
        assert_eq!(get("ipv6"), "true");
        assert_eq!(get("price_class"), "PriceClass_100");
        assert_eq!(get("aliases"), "cdn.shop.example.com");
        assert!(get("viewer_certificate").ends_with(" sni-only TLSv1.2_2021"));
        assert_eq!(get("geo_restriction"), "blacklist KP");
        assert_eq!(get("behavior_order"), "/api/* /static/*");
        assert_eq!(
            crate::spec::secret::current(&built).as_deref(),
            Some("s3cret")
        );
    }

    #[test]
    fn origin_request_policies_forward_viewer_headers_only() {
        // The viewer-request function deletes CloudFront-Viewer-Address as forged; that is
        // only right while no policy the stack attaches asks CloudFront to add it.
        let forwards_no_cloudfront_headers =
            [managed::ALL_VIEWER, managed::ALL_VIEWER_EXCEPT_HOST_HEADER];
        for choice in [
            OriginRequest::AllViewer,
            OriginRequest::AllViewerExceptHost,
            OriginRequest::None,
        ] {
            let mut config = shop();
            config.default_behavior.origin_request = choice;
            let built = build(&config, &inputs()).expect("builds");
            let f = flatten(&built);
            let policy = f
                .get("behaviors[default].origin_request_policy")
                .map(String::as_str)
                .unwrap_or_default();
            assert!(
                policy.is_empty() || forwards_no_cloudfront_headers.contains(&policy),
                "{choice:?} attaches {policy}"
            );
        }
        assert!(crate::spec::viewer_request::SOURCE.contains("'cloudfront-viewer-address'"));
    }

    #[test]
    fn custom_cache_policy_keys_on_the_configured_headers() {
        let config = shop();
        let statics = &config.behaviors[1];
        let policy = cache_policy("shop", statics)
            .expect("builds")
            .expect("custom caching has a policy");
        let f = flatten_cache_policy(&policy);
        assert_eq!(f["cache_key_headers"], "Accept-Language");
        assert_eq!(f["default_ttl"], "86400");
        assert!(policy.name().starts_with("cfrp-shop-cache-"));
        assert!(
            cache_policy("shop", &config.default_behavior)
                .expect("builds")
                .is_none()
        );
    }
}
