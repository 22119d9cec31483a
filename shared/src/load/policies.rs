//! The cache key settings of a behaviour and the stack's own response headers policy
//! (`[response_headers]`): reading, and the checks CloudFront makes (quotas, values it
//! accepts) plus the one it does not make: a cached response keyed on less than the origin
//! was sent.

use super::{choice, flag, number};
use crate::checks;
use crate::error::Report;
use crate::reader::{At, TableReader};
use crate::schema::*;

/// CloudFront quotas ("Quotas" in the developer guide): names in a cache policy's query
/// string and cookie lists, custom and removed headers in a response headers policy, and the
/// length of a Content-Security-Policy value.
pub(crate) const MAX_KEY_NAMES: usize = 10;
pub(crate) const MAX_CUSTOM_HEADERS: usize = 10;
pub(crate) const MAX_REMOVE_HEADERS: usize = 10;
pub(crate) const MAX_CSP_LENGTH: usize = 1783;

/// Headers a response headers policy cannot remove (CloudFront developer guide, "Understand
/// response headers policies", Remove headers). Names ending in `*` are prefixes.
pub const UNREMOVABLE_HEADERS: &[&str] = &[
    "Connection",
    "Content-Encoding",
    "Content-Length",
    "Expect",
    "Host",
    "Keep-Alive",
    "Proxy-Authenticate",
    "Proxy-Authorization",
    "Proxy-Connection",
    "Trailer",
    "Transfer-Encoding",
    "Upgrade",
    "Via",
    "Warning",
    "X-Accel-Buffering",
    "X-Accel-Charset",
    "X-Accel-Limit-Rate",
    "X-Accel-Redirect",
    "X-Amz-Cf-*",
    "X-Amzn-Auth",
    "X-Amzn-Cf-Billing",
    "X-Amzn-Cf-Id",
    "X-Amzn-Cf-Xff",
    "X-Amzn-ErrorType",
    "X-Amzn-Fle-Profile",
    "X-Amzn-Header-Count",
    "X-Amzn-Header-Order",
    "X-Amzn-Lambda-Integration-Tag",
    "X-Amzn-RequestId",
    "X-Cache",
    "X-Edge-*",
    "X-Forwarded-Proto",
    "X-Real-IP",
];

/// Whether CloudFront refuses to remove `name` from responses.
pub fn unremovable(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    UNREMOVABLE_HEADERS.iter().any(|h| {
        let h = h.to_ascii_lowercase();
        match h.strip_suffix('*') {
            Some(prefix) => lower.starts_with(prefix),
            None => lower == h,
        }
    })
}

/// One of a cache key's name lists: its keys, default mode, and what a name is.
#[derive(Clone, Copy)]
struct KeyList {
    mode_key: &'static str,
    names_key: &'static str,
    default: KeyItems,
    what: &'static str,
    check: fn(&str) -> Result<(), String>,
}

/// `cache_key_query_strings` / `cache_key_cookies` with their name lists.
fn key_items(
    t: &mut TableReader,
    r: &mut Report,
    list: &KeyList,
    custom: bool,
) -> (KeyItems, Vec<String>) {
    let KeyList {
        mode_key,
        names_key,
        default,
        what,
        check,
    } = *list;
    let present = t.contains(mode_key);
    let mode = choice(
        t,
        mode_key,
        r,
        KeyItems::parse,
        KeyItems::allowed(),
        default,
    );
    if present && !custom {
        r.add(
            &t.path_of(mode_key),
            t.span(),
            format!("{mode_key} only applies with caching = \"custom\""),
        );
    }
    let names = t.strings(names_key, r);
    let listed = matches!(mode, KeyItems::Allow | KeyItems::Deny);
    let Some(names) = names else {
        if listed {
            r.add(
                &t.path_of(names_key),
                t.span(),
                format!(
                    "missing; {mode_key} = \"{mode}\" needs the {what} names: add {names_key} = [\"...\"]"
                ),
            );
        }
        return (mode, Vec::new());
    };
    if !listed {
        r.add(
            &t.path_of(names_key),
            t.span(),
            format!(
                "{names_key} only applies with {mode_key} = \"allow\" or \"deny\" (it is \"{mode}\")"
            ),
        );
    }
    if names.is_empty() && listed {
        r.add(
            &t.path_of(names_key),
            t.span(),
            format!("name at least one {what}, or set {mode_key} = \"all\" or \"none\""),
        );
    }
    if names.len() > MAX_KEY_NAMES {
        r.add(
            &t.path_of(names_key),
            t.span(),
            format!(
                "{} names; a cache policy lists at most {MAX_KEY_NAMES} {what} names",
                names.len()
            ),
        );
    }
    let mut out: Vec<String> = Vec::new();
    for name in names {
        if let Err(rule) = check(&name.value) {
            r.add(
                &name.path,
                name.span.clone(),
                format!("\"{}\" is not valid; expected {rule}", name.value),
            );
        } else if out.contains(&name.value) {
            r.add(
                &name.path,
                name.span.clone(),
                format!("\"{}\" is listed twice", name.value),
            );
        } else {
            out.push(name.value);
        }
    }
    (mode, out)
}

fn query_string_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_graphic() && !"&=#".contains(c));
    if ok {
        Ok(())
    } else {
        Err("a query string name such as page (printable ASCII without & = #)".to_string())
    }
}

fn cookie_name(name: &str) -> Result<(), String> {
    checks::header_name(name)
        .map_err(|_| "a cookie name such as session_id (an HTTP token)".to_string())
}

/// Reads the query string and cookie settings of a behaviour's cache key.
pub(super) fn read_cache_key(t: &mut TableReader, r: &mut Report, b: &mut Behavior) {
    let custom = b.caching == CachingMode::Custom;
    let query_strings = KeyList {
        mode_key: "cache_key_query_strings",
        names_key: "cache_key_query_string_names",
        default: KeyItems::All,
        what: "query string",
        check: query_string_name,
    };
    let cookies = KeyList {
        mode_key: "cache_key_cookies",
        names_key: "cache_key_cookie_names",
        default: KeyItems::None,
        what: "cookie",
        check: cookie_name,
    };
    (b.cache_key_query_strings, b.cache_key_query_string_names) =
        key_items(t, r, &query_strings, custom);
    (b.cache_key_cookies, b.cache_key_cookie_names) = key_items(t, r, &cookies, custom);
}

/// A behaviour that caches must key on every cookie it sends to the origin, or one viewer's
/// response (made for their session cookie) could be served to another.
///
/// `all-viewer` and `all-viewer-except-host` forward every cookie to the origin, whatever the
/// cache key holds. A custom cache policy is the stack's own: a cache key with fewer cookies
/// than the origin sees is rejected, with the fixes. The managed CachingOptimized policy keys
/// on no cookies either and caches for a day when the origin says nothing; it is only warned
/// about (`warnings.rs`), because it is AWS's fixed policy, commonly put in front of origins
/// that ignore cookies, and the stack cannot tell whether this origin reads them; rejecting
/// it would refuse configs that are right. UseOriginCacheControlHeaders has a default TTL of
/// 0 (it caches only what the origin marks cacheable) and is neither.
///
/// The Authorization header needs no check of its own: CloudFront never forwards it through
/// an origin request policy (CreateOriginRequestPolicy refuses it, and the managed
/// all-viewer policies do not send it on cached requests); it reaches the origin only when
/// the cache policy keys on it (`cache_key_headers = ["Authorization"]`), which is safe.
pub(super) fn check_cookie_leak(t: &mut TableReader, r: &mut Report, b: &Behavior) {
    let forwards_all_cookies = matches!(
        b.origin_request,
        OriginRequest::AllViewer | OriginRequest::AllViewerExceptHost
    );
    let caches = b.caching == CachingMode::Custom && b.ttl.as_ref().is_some_and(|ttl| ttl.max > 0);
    if !caches || !forwards_all_cookies || b.cache_key_cookies == KeyItems::All {
        return;
    }
    let keyed = match b.cache_key_cookies {
        KeyItems::None => "none of them".to_string(),
        KeyItems::Allow => format!("only {}", b.cache_key_cookie_names.join(", ")),
        KeyItems::Deny => format!("all but {}", b.cache_key_cookie_names.join(", ")),
        KeyItems::All => "all of them".to_string(),
    };
    // Point at origin_request when the file has it, else at the behaviour.
    let at: Option<At<String>> = t.string("origin_request", &mut Report::new(""));
    let (path, span) = match at {
        Some(at) => (at.path, at.span),
        None => (t.path_of("origin_request"), t.span()),
    };
    r.add(
        &path,
        span,
        format!(
            "this behaviour caches (caching = \"custom\", ttl.max = {}) while origin_request = \"{}\" sends every viewer cookie to the origin, but the cache key holds {keyed}: a response made for one viewer's cookies could be served to another; set cache_key_cookies = \"all\", or origin_request = \"none\" (what the cache key holds still reaches the origin), or caching = \"disabled\"",
            b.ttl.as_ref().map_or(0, |ttl| ttl.max),
            b.origin_request
        ),
    );
}

/// `[response_headers]`.
pub(super) fn read_response_headers(mut t: TableReader, r: &mut Report) -> ResponseHeadersPolicy {
    let mut p = ResponseHeadersPolicy::default();
    p.override_origin = flag(&mut t, "override_origin", r, p.override_origin);
    if let Some(csp) = t.string("content_security_policy", r) {
        if csp.value.trim().is_empty() || csp.value.len() > MAX_CSP_LENGTH {
            r.add(
                &csp.path,
                csp.span.clone(),
                format!(
                    "{} characters; CloudFront accepts a Content-Security-Policy of 1–{MAX_CSP_LENGTH} characters",
                    csp.value.len()
                ),
            );
        } else if csp.value.chars().any(|c| c.is_control() || !c.is_ascii()) {
            r.add(
                &csp.path,
                csp.span.clone(),
                "a header value holds printable ASCII only",
            );
        } else {
            p.content_security_policy = Some(csp.value);
        }
    }
    if t.contains("frame_options") {
        p.frame_options = Some(choice(
            &mut t,
            "frame_options",
            r,
            FrameOption::parse,
            FrameOption::allowed(),
            FrameOption::Deny,
        ));
    }
    if t.contains("referrer_policy") {
        p.referrer_policy = Some(choice(
            &mut t,
            "referrer_policy",
            r,
            ReferrerPolicy::parse,
            ReferrerPolicy::allowed(),
            ReferrerPolicy::StrictOriginWhenCrossOrigin,
        ));
    }
    p.content_type_options = flag(&mut t, "content_type_options", r, false);
    if let Some(names) = t.strings("remove_headers", r) {
        if names.len() > MAX_REMOVE_HEADERS {
            r.add(
                &t.path_of("remove_headers"),
                t.span(),
                format!(
                    "{} headers; a response headers policy removes at most {MAX_REMOVE_HEADERS}",
                    names.len()
                ),
            );
        }
        for name in names {
            if let Err(rule) = checks::header_name(&name.value) {
                r.add(
                    &name.path,
                    name.span.clone(),
                    format!("\"{}\" is not valid; expected {rule}", name.value),
                );
            } else if unremovable(&name.value) {
                r.add(
                    &name.path,
                    name.span.clone(),
                    format!(
                        "CloudFront cannot remove \"{}\" (it refuses: {})",
                        name.value,
                        UNREMOVABLE_HEADERS.join(", ")
                    ),
                );
            } else if p
                .remove_headers
                .iter()
                .any(|h| h.eq_ignore_ascii_case(&name.value))
            {
                r.add(
                    &name.path,
                    name.span.clone(),
                    format!("\"{}\" is listed twice", name.value),
                );
            } else {
                p.remove_headers.push(name.value);
            }
        }
    }
    const RATE: &str = "server_timing_sampling_rate";
    let rate = match t.integer(RATE, &mut Report::new("")) {
        Some(at) => Some((at.value as f64, at.path, at.span)),
        None => t.float(RATE, r).map(|at| (at.value, at.path, at.span)),
    };
    if let Some((rate, path, span)) = rate {
        // CloudFront: 0–100 with up to four decimal places.
        if (0.0..=100.0).contains(&rate)
            && (rate * 10_000.0 - (rate * 10_000.0).round()).abs() < 1e-6
        {
            p.server_timing_sampling_rate = Some(rate);
        } else {
            r.add(
                &path,
                span,
                format!(
                    "{rate} is not a sampling rate; use a percentage 0–100 with at most four decimal places"
                ),
            );
        }
    }
    if let Some(mut h) = t.table("hsts", r) {
        let max_age = number(
            &mut h,
            "max_age_seconds",
            r,
            0..=i64::from(i32::MAX),
            " seconds",
            31_536_000,
        );
        p.hsts = Some(Hsts {
            max_age_seconds: u32::try_from(max_age).unwrap_or_default(),
            include_subdomains: flag(&mut h, "include_subdomains", r, false),
            preload: flag(&mut h, "preload", r, false),
        });
        h.finish(r);
    }
    if let Some(c) = t.table("cors", r) {
        p.cors = read_cors(c, r);
    }
    let tables = t.tables("custom_headers", r);
    if tables.len() > MAX_CUSTOM_HEADERS {
        r.add(
            &t.path_of("custom_headers"),
            t.span(),
            format!(
                "{} headers; a response headers policy adds at most {MAX_CUSTOM_HEADERS}",
                tables.len()
            ),
        );
    }
    for mut h in tables {
        let name = t_required(
            &mut h,
            "name",
            r,
            checks::header_name,
            "`name = \"X-Served-By\"`",
        );
        let value = t_required(&mut h, "value", r, header_value, "`value = \"...\"`");
        let override_origin = flag(&mut h, "override_origin", r, true);
        if let (Some(name), Some(value)) = (name, value) {
            if p.custom_headers
                .iter()
                .any(|c| c.name.eq_ignore_ascii_case(&name.value))
            {
                r.add(
                    &name.path,
                    name.span.clone(),
                    format!("\"{}\" is added twice", name.value),
                );
            } else if p
                .remove_headers
                .iter()
                .any(|h| h.eq_ignore_ascii_case(&name.value))
            {
                r.add(
                    &name.path,
                    name.span.clone(),
                    format!(
                        "\"{}\" is also in remove_headers; a header is either added or removed",
                        name.value
                    ),
                );
            } else {
                p.custom_headers.push(CustomHeader {
                    name: name.value,
                    value: value.value,
                    override_origin,
                });
            }
        }
        h.finish(r);
    }
    t.finish(r);
    p
}

fn t_required(
    t: &mut TableReader,
    key: &'static str,
    r: &mut Report,
    check: fn(&str) -> Result<(), String>,
    hint: &str,
) -> Option<At<String>> {
    super::required(t, key, r, check, hint)
}

fn header_value(value: &str) -> Result<(), String> {
    if !value.is_empty()
        && value.len() <= 1783
        && value.chars().all(|c| c == ' ' || c.is_ascii_graphic())
    {
        Ok(())
    } else {
        Err("a header value of 1–1783 printable ASCII characters".to_string())
    }
}

fn cors_origin(origin: &str) -> Result<(), String> {
    let rest = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    let ok = origin == "*"
        || rest.is_some_and(|host| {
            !host.is_empty()
                && !host.ends_with('/')
                && host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".-:*".contains(c))
        });
    if ok {
        Ok(())
    } else {
        Err(
            "\"*\" or an origin such as https://app.example.com (scheme and host, no path)"
                .to_string(),
        )
    }
}

fn read_cors(mut t: TableReader, r: &mut Report) -> Option<Cors> {
    let origins = t.strings("allow_origins", r);
    if origins.is_none() && !t.contains("allow_origins") {
        r.add(
            &t.path_of("allow_origins"),
            t.span(),
            "missing; add allow_origins = [\"https://app.example.com\"] (the origins whose pages may read responses)",
        );
    }
    let origins = origins.unwrap_or_default();
    if origins.is_empty() && t.contains("allow_origins") {
        r.add(
            &t.path_of("allow_origins"),
            t.span(),
            "name at least one origin, e.g. [\"https://app.example.com\"]",
        );
    }
    let mut allow_origins = Vec::new();
    for o in &origins {
        match cors_origin(&o.value) {
            Ok(()) => allow_origins.push(o.value.clone()),
            Err(rule) => r.add(
                &o.path,
                o.span.clone(),
                format!("\"{}\" is not valid; expected {rule}", o.value),
            ),
        }
    }
    let mut allow_methods = Vec::new();
    match t.strings("allow_methods", r) {
        Some(methods) => {
            for m in methods {
                match CorsMethod::parse(&m.value) {
                    Some(method) if !allow_methods.contains(&method) => allow_methods.push(method),
                    Some(_) => r.add(&m.path, m.span, format!("\"{}\" is listed twice", m.value)),
                    None => r.add(
                        &m.path,
                        m.span,
                        format!(
                            "\"{}\" is not allowed; use one of: {}",
                            m.value,
                            CorsMethod::allowed()
                        ),
                    ),
                }
            }
            if allow_methods.is_empty() {
                r.add(
                    &t.path_of("allow_methods"),
                    t.span(),
                    "name at least one method, e.g. [\"GET\", \"HEAD\", \"OPTIONS\"]",
                );
            }
        }
        None => allow_methods = vec![CorsMethod::Get, CorsMethod::Head, CorsMethod::Options],
    }
    let headers = |t: &mut TableReader, key: &'static str, r: &mut Report| -> Vec<String> {
        let mut out = Vec::new();
        for h in t.strings(key, r).unwrap_or_default() {
            if h.value == "*" || checks::header_name(&h.value).is_ok() {
                out.push(h.value);
            } else {
                r.add(
                    &h.path,
                    h.span,
                    format!(
                        "\"{}\" is not valid; expected \"*\" or an HTTP header name",
                        h.value
                    ),
                );
            }
        }
        out
    };
    if !t.contains("allow_headers") {
        r.add(
            &t.path_of("allow_headers"),
            t.span(),
            "missing; add allow_headers = [\"Content-Type\"] (the request headers a page may send; \"*\" for any)",
        );
    }
    let allow_headers = headers(&mut t, "allow_headers", r);
    if allow_headers.is_empty() && t.contains("allow_headers") {
        r.add(
            &t.path_of("allow_headers"),
            t.span(),
            "name at least one header, e.g. [\"Content-Type\"], or [\"*\"]",
        );
    }
    let expose_headers = headers(&mut t, "expose_headers", r);
    let credentials = t.boolean("allow_credentials", r);
    let allow_credentials = credentials.as_ref().is_some_and(|c| c.value);
    // The fetch standard ignores Access-Control-Allow-Credentials next to a `*` origin, and
    // CloudFront refuses the combination (InvalidArgument).
    if allow_credentials && allow_origins.iter().any(|o| o == "*") {
        let (path, span) = credentials
            .map(|c| (c.path, c.span))
            .unwrap_or_else(|| (t.path_of("allow_credentials"), t.span()));
        r.add(
            &path,
            span,
            "allow_credentials = true cannot go with the \"*\" origin (browsers refuse credentialed responses to any origin, and CloudFront rejects the policy); list the origins in allow_origins, or set allow_credentials = false",
        );
    }
    let max_age_seconds = t.integer("max_age_seconds", r).and_then(|at| {
        if (0..=i64::from(i32::MAX)).contains(&at.value) {
            u32::try_from(at.value).ok()
        } else {
            r.add(
                &at.path,
                at.span,
                format!(
                    "{} is out of range; allowed 0–{} seconds",
                    at.value,
                    i32::MAX
                ),
            );
            None
        }
    });
    let origin_override = flag(&mut t, "origin_override", r, true);
    t.finish(r);
    Some(Cors {
        allow_origins,
        allow_methods,
        allow_headers,
        expose_headers,
        allow_credentials,
        max_age_seconds,
        origin_override,
    })
}

/// Whether some behaviour uses the stack's own policy, and the policy is there when one
/// does; problems point at each behaviour's `response_headers` or at the section.
pub(super) fn cross_check(
    root: &mut TableReader,
    default_behavior: &Behavior,
    behaviors: &[Behavior],
    has_policy: bool,
    r: &mut Report,
) {
    // Re-reading tables already read: problems of these reads were reported the first time.
    let mut quiet = Report::new("");
    let mut users = Vec::new();
    let mut located = |t: Option<TableReader>, fallback: String, quiet: &mut Report| {
        let at = t.and_then(|mut t| t.string("response_headers", quiet));
        users.push(match at {
            Some(at) => (at.path, at.span),
            None => (fallback, None),
        });
    };
    if default_behavior.response_headers == ResponseHeaders::Custom {
        let t = root.table("default_behavior", &mut quiet);
        located(
            t,
            "default_behavior.response_headers".to_string(),
            &mut quiet,
        );
    }
    let mut tables = root.tables("behaviors", &mut quiet).into_iter();
    for (i, b) in behaviors.iter().enumerate() {
        let t = tables.next();
        if b.response_headers == ResponseHeaders::Custom {
            located(t, format!("behaviors[{i}].response_headers"), &mut quiet);
        }
    }
    if !has_policy {
        for (path, span) in users {
            r.add(
                &path,
                span,
                "\"custom\" uses the stack's own response headers policy, but there is no [response_headers] section; add one (see the README's Configuration section) or use \"security-headers\"",
            );
        }
    } else if users.is_empty() {
        let span = root
            .table("response_headers", &mut quiet)
            .and_then(|t| t.span());
        r.add(
            "response_headers",
            span,
            "no behaviour uses this policy; set response_headers = \"custom\" on the behaviours it is for, or remove the section",
        );
    }
}
