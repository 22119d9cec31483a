//! The stack's own response headers policy (`[response_headers]`) as the CloudFront API
//! wants it, and its flattened form for comparison (of the config we build and of the one
//! CloudFront returns).

use aws_sdk_cloudfront::types::{
    FrameOptionsList, ReferrerPolicyList, ResponseHeadersPolicyAccessControlAllowHeaders,
    ResponseHeadersPolicyAccessControlAllowMethods,
    ResponseHeadersPolicyAccessControlAllowMethodsValues as Method,
    ResponseHeadersPolicyAccessControlAllowOrigins,
    ResponseHeadersPolicyAccessControlExposeHeaders, ResponseHeadersPolicyConfig,
    ResponseHeadersPolicyContentSecurityPolicy, ResponseHeadersPolicyContentTypeOptions,
    ResponseHeadersPolicyCorsConfig, ResponseHeadersPolicyCustomHeader,
    ResponseHeadersPolicyCustomHeadersConfig, ResponseHeadersPolicyFrameOptions,
    ResponseHeadersPolicyReferrerPolicy, ResponseHeadersPolicyRemoveHeader,
    ResponseHeadersPolicyRemoveHeadersConfig, ResponseHeadersPolicySecurityHeadersConfig,
    ResponseHeadersPolicyServerTimingHeadersConfig, ResponseHeadersPolicyStrictTransportSecurity,
};
use cfrp_config::{ResponseHeaders, ResponseHeadersPolicy, StackConfig};

use crate::diff::Fields;
use crate::error::DeployError;

/// The stack's response headers policy name; CloudFront policy names allow letters, digits,
/// `-` and `_` up to 128 characters.
pub fn response_headers_policy_name(stack: &str) -> String {
    format!("cfrp-{stack}-headers")
}

/// Whether a behaviour uses the stack's own policy (only then does it exist).
pub fn uses_own_policy(config: &StackConfig) -> bool {
    std::iter::once(&config.default_behavior)
        .chain(config.behaviors.iter())
        .any(|b| b.response_headers == ResponseHeaders::Custom)
}

/// The policy the config asks for, or `None` when no behaviour uses one.
pub fn response_headers_policy(
    config: &StackConfig,
) -> Result<Option<ResponseHeadersPolicyConfig>, DeployError> {
    let Some(p) = config
        .response_headers
        .as_ref()
        .filter(|_| uses_own_policy(config))
    else {
        return Ok(None);
    };
    Ok(Some(build(&config.name, p)?))
}

fn build(
    stack: &str,
    p: &ResponseHeadersPolicy,
) -> Result<ResponseHeadersPolicyConfig, DeployError> {
    let over = p.override_origin;
    let mut security = ResponseHeadersPolicySecurityHeadersConfig::builder();
    if let Some(csp) = &p.content_security_policy {
        security = security.content_security_policy(
            ResponseHeadersPolicyContentSecurityPolicy::builder()
                .r#override(over)
                .content_security_policy(csp)
                .build()?,
        );
    }
    if let Some(frame) = p.frame_options {
        security = security.frame_options(
            ResponseHeadersPolicyFrameOptions::builder()
                .r#override(over)
                .frame_option(FrameOptionsList::from(frame.as_str()))
                .build()?,
        );
    }
    if let Some(referrer) = p.referrer_policy {
        security = security.referrer_policy(
            ResponseHeadersPolicyReferrerPolicy::builder()
                .r#override(over)
                .referrer_policy(ReferrerPolicyList::from(referrer.as_str()))
                .build()?,
        );
    }
    if p.content_type_options {
        security = security.content_type_options(
            ResponseHeadersPolicyContentTypeOptions::builder()
                .r#override(over)
                .build()?,
        );
    }
    if let Some(hsts) = &p.hsts {
        security = security.strict_transport_security(
            ResponseHeadersPolicyStrictTransportSecurity::builder()
                .r#override(over)
                .access_control_max_age_sec(i32::try_from(hsts.max_age_seconds).unwrap_or(i32::MAX))
                .include_subdomains(hsts.include_subdomains)
                .preload(hsts.preload)
                .build()?,
        );
    }
    let mut builder = ResponseHeadersPolicyConfig::builder()
        .name(response_headers_policy_name(stack))
        .comment(format!("cloudfront-reverse-proxy {stack}"))
        .security_headers_config(security.build());
    if let Some(cors) = &p.cors {
        let methods: Vec<Method> = cors
            .allow_methods
            .iter()
            .map(|m| Method::from(m.as_str()))
            .collect();
        let mut c = ResponseHeadersPolicyCorsConfig::builder()
            .access_control_allow_origins(
                ResponseHeadersPolicyAccessControlAllowOrigins::builder()
                    .quantity(cors.allow_origins.len() as i32)
                    .set_items(Some(cors.allow_origins.clone()))
                    .build()?,
            )
            .access_control_allow_methods(
                ResponseHeadersPolicyAccessControlAllowMethods::builder()
                    .quantity(methods.len() as i32)
                    .set_items(Some(methods))
                    .build()?,
            )
            .access_control_allow_headers(
                ResponseHeadersPolicyAccessControlAllowHeaders::builder()
                    .quantity(cors.allow_headers.len() as i32)
                    .set_items(Some(cors.allow_headers.clone()))
                    .build()?,
            )
            .access_control_allow_credentials(cors.allow_credentials)
            .origin_override(cors.origin_override)
            .set_access_control_max_age_sec(
                cors.max_age_seconds
                    .map(|s| i32::try_from(s).unwrap_or(i32::MAX)),
            );
        if !cors.expose_headers.is_empty() {
            c = c.access_control_expose_headers(
                ResponseHeadersPolicyAccessControlExposeHeaders::builder()
                    .quantity(cors.expose_headers.len() as i32)
                    .set_items(Some(cors.expose_headers.clone()))
                    .build()?,
            );
        }
        builder = builder.cors_config(c.build()?);
    }
    if let Some(rate) = p.server_timing_sampling_rate {
        builder = builder.server_timing_headers_config(
            ResponseHeadersPolicyServerTimingHeadersConfig::builder()
                .enabled(true)
                .sampling_rate(rate)
                .build()?,
        );
    }
    if !p.custom_headers.is_empty() {
        let items = p
            .custom_headers
            .iter()
            .map(|h| {
                ResponseHeadersPolicyCustomHeader::builder()
                    .header(&h.name)
                    .value(&h.value)
                    .r#override(h.override_origin)
                    .build()
            })
            .collect::<Result<Vec<_>, _>>()?;
        builder = builder.custom_headers_config(
            ResponseHeadersPolicyCustomHeadersConfig::builder()
                .quantity(items.len() as i32)
                .set_items(Some(items))
                .build()?,
        );
    }
    if !p.remove_headers.is_empty() {
        let items = p
            .remove_headers
            .iter()
            .map(|h| {
                ResponseHeadersPolicyRemoveHeader::builder()
                    .header(h)
                    .build()
            })
            .collect::<Result<Vec<_>, _>>()?;
        builder = builder.remove_headers_config(
            ResponseHeadersPolicyRemoveHeadersConfig::builder()
                .quantity(items.len() as i32)
                .set_items(Some(items))
                .build()?,
        );
    }
    Ok(builder.build()?)
}

fn sorted(mut items: Vec<String>) -> String {
    items.sort();
    items.join(",")
}

/// Flattened response headers policy settings: a setting absent and one empty read alike.
pub fn flatten_response_headers_policy(policy: &ResponseHeadersPolicyConfig) -> Fields {
    let mut f = Fields::new();
    let mut put = |k: &str, v: String| {
        f.insert(k.to_string(), v);
    };
    put("comment", policy.comment().unwrap_or_default().to_string());
    let security = policy.security_headers_config();
    let over = |o: bool| if o { " (override)" } else { "" };
    put(
        "content_security_policy",
        security
            .and_then(|s| s.content_security_policy())
            .map(|c| format!("{}{}", c.content_security_policy(), over(c.r#override())))
            .unwrap_or_default(),
    );
    put(
        "frame_options",
        security
            .and_then(|s| s.frame_options())
            .map(|c| format!("{}{}", c.frame_option().as_str(), over(c.r#override())))
            .unwrap_or_default(),
    );
    put(
        "referrer_policy",
        security
            .and_then(|s| s.referrer_policy())
            .map(|c| format!("{}{}", c.referrer_policy().as_str(), over(c.r#override())))
            .unwrap_or_default(),
    );
    put(
        "content_type_options",
        security
            .and_then(|s| s.content_type_options())
            .map(|c| format!("nosniff{}", over(c.r#override())))
            .unwrap_or_default(),
    );
    put(
        "hsts",
        security
            .and_then(|s| s.strict_transport_security())
            .map(|h| {
                format!(
                    "max-age={}{}{}{}",
                    h.access_control_max_age_sec(),
                    if h.include_subdomains().unwrap_or(false) {
                        "; includeSubDomains"
                    } else {
                        ""
                    },
                    if h.preload().unwrap_or(false) {
                        "; preload"
                    } else {
                        ""
                    },
                    over(h.r#override())
                )
            })
            .unwrap_or_default(),
    );
    if let Some(c) = policy.cors_config() {
        put(
            "cors.allow_origins",
            sorted(
                c.access_control_allow_origins()
                    .map(|o| o.items().to_vec())
                    .unwrap_or_default(),
            ),
        );
        put(
            "cors.allow_methods",
            sorted(
                c.access_control_allow_methods()
                    .map(|m| m.items().iter().map(|v| v.as_str().to_string()).collect())
                    .unwrap_or_default(),
            ),
        );
        put(
            "cors.allow_headers",
            sorted(
                c.access_control_allow_headers()
                    .map(|h| h.items().to_vec())
                    .unwrap_or_default(),
            ),
        );
        put(
            "cors.expose_headers",
            sorted(
                c.access_control_expose_headers()
                    .map(|h| h.items().to_vec())
                    .unwrap_or_default(),
            ),
        );
        put(
            "cors.allow_credentials",
            c.access_control_allow_credentials().to_string(),
        );
        put(
            "cors.max_age_seconds",
            c.access_control_max_age_sec()
                .map(|s| s.to_string())
                .unwrap_or_default(),
        );
        put("cors.origin_override", c.origin_override().to_string());
    } else {
        put("cors", "none".to_string());
    }
    put(
        "server_timing_sampling_rate",
        policy
            .server_timing_headers_config()
            .filter(|s| s.enabled())
            .map(|s| s.sampling_rate().unwrap_or(0.0).to_string())
            .unwrap_or_default(),
    );
    put(
        "custom_headers",
        sorted(
            policy
                .custom_headers_config()
                .map(|c| {
                    c.items()
                        .iter()
                        .map(|h| format!("{}={}{}", h.header(), h.value(), over(h.r#override())))
                        .collect()
                })
                .unwrap_or_default(),
        ),
    );
    put(
        "remove_headers",
        sorted(
            policy
                .remove_headers_config()
                .map(|c| c.items().iter().map(|h| h.header().to_string()).collect())
                .unwrap_or_default(),
        ),
    );
    f
}
