//! Reading a `proxy.toml` into a [`StackConfig`], reporting every problem at once.

use std::collections::HashSet;
use std::ops::RangeInclusive;
use std::path::Path;

use crate::checks;
use crate::error::{ConfigError, Location, Report};
use crate::fields::Field;
use crate::metrics;
use crate::naming::Names;
use crate::reader::{At, TableReader};
use crate::rules;
use crate::schema::*;

mod autoblock;
mod edge;
mod logs;
mod policies;

impl StackConfig {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<StackConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        StackConfig::parse(&text, &path.display().to_string())
    }

    /// Parses and validates config text; `file` names it in messages.
    pub fn parse(text: &str, file: &str) -> Result<StackConfig, ConfigError> {
        let document =
            toml_edit::Document::parse(text.to_string()).map_err(|err| ConfigError::Syntax {
                file: file.to_string(),
                location: Location::of(text, err.span().map_or(0, |s| s.start)),
                message: err.message().trim().to_string(),
            })?;
        let mut report = Report::new(text);
        let config = read_stack(TableReader::root(&document), &mut report);
        if report.is_empty() {
            Ok(config)
        } else {
            Err(ConfigError::Invalid(report.into_problems(file)))
        }
    }

    /// The config the one-command form builds from flags (`deployer up --origin-domain ...`).
    pub fn for_origin(name: &str, region: &str, origin_domain: &str) -> StackConfig {
        StackConfig {
            name: name.to_string(),
            region: region.to_string(),
            comment: format!("Reverse proxy for {origin_domain}"),
            distribution: Distribution::default(),
            origins: vec![Origin::new("origin", origin_domain)],
            default_behavior: Behavior::new("origin"),
            behaviors: Vec::new(),
            logging: Logging::default(),
            metrics: Metrics {
                namespace: default_namespace(name),
                top_n: 10,
                app_headers: Vec::new(),
            },
            alarms: Alarms {
                enabled: true,
                schedule: "rate(1 minute)".to_string(),
                email: None,
                default_rules: true,
                throughput_baseline_rps: rules::DEFAULT_THROUGHPUT_BASELINE_RPS,
                // One origin, caching disabled: no cache-hit rule.
                rules: rules::default_rules(rules::DEFAULT_THROUGHPUT_BASELINE_RPS, false),
                pipeline: PipelineAlarms::default(),
            },
            manuscripts: None,
            functions: Functions::default(),
            encryption: Encryption::default(),
            origin_groups: Vec::new(),
            error_responses: Vec::new(),
            waf: None,
            response_headers: None,
            staging: Staging::default(),
            standard_logs: None,
        }
    }

    /// The config in file form (what `deployer init` writes); built-in rules are written out.
    pub fn to_toml(&self) -> Result<String, toml::ser::Error> {
        let mut written = self.clone();
        written.alarms.default_rules = false;
        toml::to_string(&written)
    }

    /// Validates a config built in code (flags, presets) with the same rules as a file.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let text = self.to_toml().map_err(|err| ConfigError::Syntax {
            file: "<generated>".to_string(),
            location: Location { line: 1, column: 1 },
            message: err.to_string(),
        })?;
        StackConfig::parse(&text, "<flags>").map(|_| ())
    }
}

pub(crate) fn default_namespace(stack: &str) -> String {
    format!("CloudFrontProxy/{stack}")
}

// ------------------------------------------------------------------ field helpers

fn checked(
    t: &mut TableReader,
    key: &'static str,
    r: &mut Report,
    check: fn(&str) -> Result<(), String>,
) -> Option<At<String>> {
    let at = t.string(key, r)?;
    match check(&at.value) {
        Ok(()) => Some(at),
        Err(rule) => {
            r.add(
                &at.path,
                at.span.clone(),
                format!("\"{}\" is not valid; expected {rule}", at.value),
            );
            None
        }
    }
}

/// A key that must be there: its value checked like [`checked`], and when the key is absent
/// a problem saying what to add (`hint`). A present key of the wrong type was already reported.
fn required(
    t: &mut TableReader,
    key: &'static str,
    r: &mut Report,
    check: fn(&str) -> Result<(), String>,
    hint: &str,
) -> Option<At<String>> {
    let found = checked(t, key, r, check);
    if found.is_none() && !t.contains(key) {
        r.add(&t.path_of(key), t.span(), format!("missing; add {hint}"));
    }
    found
}

fn any_string(_: &str) -> Result<(), String> {
    Ok(())
}

fn choice<E: Copy>(
    t: &mut TableReader,
    key: &'static str,
    r: &mut Report,
    parse: fn(&str) -> Option<E>,
    allowed: String,
    default: E,
) -> E {
    let Some(at) = t.string(key, r) else {
        return default;
    };
    match parse(&at.value) {
        Some(value) => value,
        None => {
            r.add(
                &at.path,
                at.span,
                format!("\"{}\" is not allowed; use one of: {allowed}", at.value),
            );
            default
        }
    }
}

fn number(
    t: &mut TableReader,
    key: &'static str,
    r: &mut Report,
    range: RangeInclusive<i64>,
    unit: &str,
    default: i64,
) -> i64 {
    let Some(at) = t.integer(key, r) else {
        return default;
    };
    if range.contains(&at.value) {
        at.value
    } else {
        r.add(
            &at.path,
            at.span,
            format!(
                "{} is out of range; allowed {}–{}{unit}",
                at.value,
                range.start(),
                range.end()
            ),
        );
        default
    }
}

fn flag(t: &mut TableReader, key: &'static str, r: &mut Report, default: bool) -> bool {
    t.boolean(key, r).map_or(default, |at| at.value)
}

fn to_u32(value: i64) -> u32 {
    u32::try_from(value).unwrap_or_default()
}

// ------------------------------------------------------------------ sections

fn read_stack(mut root: TableReader, r: &mut Report) -> StackConfig {
    let name = required(
        &mut root,
        "name",
        r,
        checks::stack_name,
        "`name = \"my-stack\"` at the top (it names every resource)",
    )
    .map_or_else(|| "invalid".to_string(), |at| at.value);
    let region = checked(&mut root, "region", r, checks::region)
        .map_or_else(|| "us-east-1".to_string(), |at| at.value);
    let comment = root.string("comment", r).map(|at| at.value);

    let distribution = match root.table("distribution", r) {
        Some(table) => read_distribution(table, r),
        None => Distribution::default(),
    };

    let origin_tables = root.tables("origins", r);
    if origin_tables.is_empty() {
        r.add(
            "origins",
            Some(0..0),
            "at least one origin is required; add an [[origins]] section with id and domain",
        );
    }
    let origins: Vec<Origin> = origin_tables
        .into_iter()
        .map(|t| read_origin(t, r))
        .collect();
    let mut seen = HashSet::new();
    for origin in &origins {
        if !seen.insert(origin.id.clone()) {
            r.add(
                "origins",
                None,
                format!(
                    "origin id \"{}\" is used twice; ids must be unique",
                    origin.id
                ),
            );
        }
    }
    let first_origin = origins.first().map_or_else(String::new, |o| o.id.clone());
    let origin_ids: Vec<String> = origins.iter().map(|o| o.id.clone()).collect();
    let origin_groups = edge::read_origin_groups(root.tables("origin_groups", r), r, &origin_ids);
    let group_ids: Vec<String> = origin_groups.iter().map(|g| g.id.clone()).collect();
    // A behaviour routes to an origin or to an origin group.
    let targets: Vec<String> = origin_ids.iter().chain(&group_ids).cloned().collect();

    let default_behavior = match root.table("default_behavior", r) {
        Some(table) => read_behavior(table, r, &targets, &group_ids, &first_origin, false),
        None => Behavior::new(&first_origin),
    };
    let behaviors: Vec<Behavior> = root
        .tables("behaviors", r)
        .into_iter()
        .map(|t| read_behavior(t, r, &targets, &group_ids, &first_origin, true))
        .collect();
    let error_responses = edge::read_error_responses(root.tables("error_responses", r), r);
    let mut patterns = HashSet::new();
    for behavior in &behaviors {
        if let Some(pattern) = &behavior.path_pattern
            && !patterns.insert(pattern.clone())
        {
            r.add(
                "behaviors",
                None,
                format!("path pattern \"{pattern}\" is used twice; CloudFront needs each once"),
            );
        }
    }

    let logging = match root.table("logging", r) {
        Some(table) => read_logging(table, r),
        None => Logging::default(),
    };
    let metrics = match root.table("metrics", r) {
        Some(table) => read_metrics(table, r, &name),
        None => Metrics {
            namespace: default_namespace(&name),
            top_n: 10,
            app_headers: Vec::new(),
        },
    };
    let caches = std::iter::once(&default_behavior)
        .chain(behaviors.iter())
        .any(|b| b.caching != CachingMode::Disabled);
    // Before the alarms: a rule on a WAF metric needs the web ACL `[waf]` creates.
    let waf = root.table("waf", r).map(|t| read_waf(t, r));
    let alarms = match root.table("alarms", r) {
        Some(table) => read_alarms(table, r, caches, waf.as_ref()),
        None => Alarms {
            enabled: true,
            schedule: "rate(1 minute)".to_string(),
            email: None,
            default_rules: true,
            throughput_baseline_rps: rules::DEFAULT_THROUGHPUT_BASELINE_RPS,
            rules: rules::default_rules(rules::DEFAULT_THROUGHPUT_BASELINE_RPS, caches),
            pipeline: PipelineAlarms::default(),
        },
    };
    let manuscripts = root.table("manuscripts", r).map(|t| read_manuscripts(t, r));
    let functions = match root.table("functions", r) {
        Some(table) => read_functions(table, r),
        None => Functions::default(),
    };
    let encryption = match root.table("encryption", r) {
        Some(table) => read_encryption(table, r, &region),
        None => Encryption::default(),
    };
    let response_headers = root
        .table("response_headers", r)
        .map(|t| policies::read_response_headers(t, r));
    let standard_logs = root
        .table("standard_logs", r)
        .map(|t| logs::read_standard_logs(t, r));
    policies::cross_check(
        &mut root,
        &default_behavior,
        &behaviors,
        response_headers.is_some(),
        r,
    );
    let staging = match root.table("staging", r) {
        Some(table) => read_staging(table, r),
        None => Staging::default(),
    };
    root.finish(r);

    let config = StackConfig {
        comment: comment.unwrap_or_else(|| format!("Reverse proxy: {name}")),
        name,
        region,
        distribution,
        origins,
        default_behavior,
        behaviors,
        logging,
        metrics,
        alarms,
        manuscripts,
        functions,
        encryption,
        origin_groups,
        error_responses,
        waf,
        response_headers,
        staging,
        standard_logs,
    };
    cross_checks(&config, r);
    config
}

fn cross_checks(config: &StackConfig, r: &mut Report) {
    // The loop's two halves run in the stack's functions: without the analyser nothing is
    // scored, without the evaluator nothing is blocked (or expired). Refused rather than
    // deployed as a block list nobody fills.
    if let Some(auto) = config.waf.as_ref().and_then(|w| w.auto_block.as_ref())
        && auto.enabled
    {
        for (on, what, key) in [
            (
                config.logging.enabled,
                "the analyser scores clients from the real-time logs",
                "logging.enabled",
            ),
            (
                config.alarms.enabled,
                "the alarm evaluator's scheduled run writes the block list",
                "alarms.enabled",
            ),
        ] {
            if !on {
                r.add(
                    "waf.auto_block.enabled",
                    None,
                    format!("[waf.auto_block] needs {key} = true ({what}); turn it on, or set waf.auto_block.enabled = false"),
                );
            }
        }
    }
    if config.waf.is_some() && config.distribution.web_acl_arn.is_some() {
        r.add(
            "distribution.web_acl_arn",
            None,
            "a distribution has one web ACL: remove web_acl_arn to use the one [waf] creates, or remove [waf] to keep your own",
        );
    }
    if config.name != "invalid" {
        for (resource, name, limit) in Names::new(&config.name).with_limits() {
            if name.len() > limit {
                r.add("name", Some(0..0), format!("derived {resource} name \"{name}\" is longer than AWS's limit of {limit}; use a shorter stack name"));
            }
        }
    }
    if config.alarms.enabled && config.logging.enabled {
        let missing: Vec<&str> = Field::ANALYSER_CORE
            .iter()
            .filter(|f| !config.logging.fields.contains(f))
            .map(|f| f.name())
            .collect();
        if !missing.is_empty() {
            r.add(
                "logging.fields",
                None,
                format!("the analyser needs {} for its metrics; add them or set logging.enabled = false", missing.join(", ")),
            );
        }
    }
}

fn read_distribution(mut t: TableReader, r: &mut Report) -> Distribution {
    let mut d = Distribution::default();
    d.price_class = choice(
        &mut t,
        "price_class",
        r,
        PriceClass::parse,
        PriceClass::allowed(),
        d.price_class,
    );
    if let Some(aliases) = t.strings("aliases", r) {
        for alias in &aliases {
            if let Err(rule) = checks::alias(&alias.value) {
                r.add(
                    &alias.path,
                    alias.span.clone(),
                    format!("\"{}\" is not valid; expected {rule}", alias.value),
                );
            }
        }
        d.aliases = aliases.into_iter().map(|a| a.value).collect();
    }
    let certificate = t.string("certificate_arn", r);
    if let Some(cert) = &certificate {
        match checks::arn(&cert.value) {
            Ok(arn) if arn.service != "acm" => r.add(&cert.path, cert.span.clone(), format!("\"{}\" is a {} ARN; expected an ACM certificate ARN (arn:aws:acm:us-east-1:...)", cert.value, arn.service)),
            Ok(arn) if arn.region != "us-east-1" => r.add(
                &cert.path,
                cert.span.clone(),
                format!("certificate is in {}; CloudFront only uses ACM certificates in us-east-1 (request or import it there)", arn.region),
            ),
            Ok(_) => {}
            Err(rule) => r.add(&cert.path, cert.span.clone(), format!("\"{}\" is not valid; expected {rule}", cert.value)),
        }
    }
    if !d.aliases.is_empty() && certificate.is_none() {
        r.add(
            &t.path_of("aliases"),
            t.span(),
            "aliases need an ACM certificate covering them; add certificate_arn (in us-east-1)",
        );
    }
    d.certificate_arn = certificate.map(|c| c.value);
    if let Some(acl) = t.string("web_acl_arn", r) {
        match checks::arn(&acl.value) {
            Ok(arn) if arn.service == "wafv2" && arn.region == "us-east-1" && arn.resource.starts_with("global/webacl/") => {}
            _ => r.add(&acl.path, acl.span.clone(), format!("\"{}\" is not valid; expected a WAFv2 web ACL with scope CLOUDFRONT: arn:aws:wafv2:us-east-1:ACCOUNT:global/webacl/NAME/ID", acl.value)),
        }
        d.web_acl_arn = Some(acl.value);
    }
    d.http_version = choice(
        &mut t,
        "http_version",
        r,
        HttpVersion::parse,
        HttpVersion::allowed(),
        d.http_version,
    );
    d.ipv6 = flag(&mut t, "ipv6", r, d.ipv6);
    if let Some(tls) = t.string("minimum_viewer_tls", r) {
        if checks::VIEWER_TLS_POLICIES.contains(&tls.value.as_str()) {
            d.minimum_viewer_tls = tls.value;
        } else {
            r.add(
                &tls.path,
                tls.span,
                format!(
                    "\"{}\" is not allowed; use one of: {}",
                    tls.value,
                    checks::VIEWER_TLS_POLICIES.join(", ")
                ),
            );
        }
    }
    if let Some(root_object) = t.string("default_root_object", r) {
        d.default_root_object = Some(root_object.value);
    }
    d.additional_metrics = flag(&mut t, "additional_metrics", r, d.additional_metrics);
    if let Some(mut geo) = t.table("geo_restriction", r) {
        d.geo_restriction.mode = choice(
            &mut geo,
            "mode",
            r,
            GeoMode::parse,
            GeoMode::allowed(),
            GeoMode::None,
        );
        if let Some(countries) = geo.strings("countries", r) {
            for code in &countries {
                if let Err(rule) = checks::country_code(&code.value) {
                    r.add(
                        &code.path,
                        code.span.clone(),
                        format!("\"{}\" is not valid; expected {rule}", code.value),
                    );
                }
            }
            d.geo_restriction.countries = countries.into_iter().map(|c| c.value).collect();
        }
        match (
            d.geo_restriction.mode,
            d.geo_restriction.countries.is_empty(),
        ) {
            (GeoMode::None, false) => r.add(
                &geo.path_of("countries"),
                geo.span(),
                "countries are only used with mode = \"allow\" or \"deny\"",
            ),
            (GeoMode::Allow | GeoMode::Deny, true) => r.add(
                &geo.path_of("countries"),
                geo.span(),
                "mode allow/deny needs at least one country code",
            ),
            _ => {}
        }
        geo.finish(r);
    }
    t.finish(r);
    d
}

fn read_origin(mut t: TableReader, r: &mut Report) -> Origin {
    let id = required(
        &mut t,
        "id",
        r,
        any_string,
        "`id = ...` (a short name behaviours use to route to this origin)",
    )
    .map_or_else(String::new, |a| a.value);
    let id_ok = id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !id.is_empty() && !id_ok {
        r.add(
            &t.path_of("id"),
            t.span(),
            format!("\"{id}\" is not valid; use up to 128 letters, digits, - and _"),
        );
    }
    let domain = required(
        &mut t,
        "domain",
        r,
        checks::domain_name,
        "`domain = \"app.example.com\"` (the origin's DNS name)",
    )
    .map_or_else(String::new, |at| at.value);
    let mut o = Origin::new(&id, &domain);
    if let Some(path) = checked(&mut t, "path", r, checks::origin_path) {
        o.path = path.value;
    }
    o.protocol = choice(
        &mut t,
        "protocol",
        r,
        OriginProtocol::parse,
        OriginProtocol::allowed(),
        o.protocol,
    );
    o.http_port = u16::try_from(number(&mut t, "http_port", r, 1..=65535, "", 80)).unwrap_or(80);
    o.https_port =
        u16::try_from(number(&mut t, "https_port", r, 1..=65535, "", 443)).unwrap_or(443);
    // CloudFront: read timeout 1–60 s by default (up to 180 s after a quota increase), keep-alive 1–60 s.
    o.read_timeout_seconds = to_u32(number(
        &mut t,
        "read_timeout_seconds",
        r,
        1..=180,
        " seconds",
        30,
    ));
    o.keepalive_timeout_seconds = to_u32(number(
        &mut t,
        "keepalive_timeout_seconds",
        r,
        1..=60,
        " seconds",
        5,
    ));
    o.connection_attempts = to_u32(number(&mut t, "connection_attempts", r, 1..=3, "", 3));
    o.connection_timeout_seconds = to_u32(number(
        &mut t,
        "connection_timeout_seconds",
        r,
        1..=10,
        " seconds",
        10,
    ));
    if let Some(region) = t.string("origin_shield_region", r) {
        if checks::ORIGIN_SHIELD_REGIONS.contains(&region.value.as_str()) {
            o.origin_shield_region = Some(region.value);
        } else {
            r.add(&region.path, region.span, format!("\"{}\" is not a region CloudFront offers Origin Shield in; use one of {} (the one nearest the origin; see the CloudFront Developer Guide, \"Choosing the AWS Region for Origin Shield\")", region.value, checks::ORIGIN_SHIELD_REGIONS.join(", ")));
        }
    }
    if let Some(versions) = t.strings("tls_versions", r) {
        let mut parsed = Vec::new();
        let count = versions.len();
        for v in versions {
            match OriginTls::parse(&v.value) {
                Some(tls) => parsed.push(tls),
                None => r.add(
                    &v.path,
                    v.span,
                    format!(
                        "\"{}\" is not allowed; use one of: {}",
                        v.value,
                        OriginTls::allowed()
                    ),
                ),
            }
        }
        if parsed.is_empty() && count == 0 {
            r.add(
                &t.path_of("tls_versions"),
                t.span(),
                "name at least one TLS version, e.g. [\"TLSv1.2\"]",
            );
        } else if !parsed.is_empty() {
            o.tls_versions = parsed;
        }
    }
    t.finish(r);
    o
}

fn read_behavior(
    mut t: TableReader,
    r: &mut Report,
    origin_ids: &[String],
    group_ids: &[String],
    first: &str,
    needs_pattern: bool,
) -> Behavior {
    let mut b = Behavior::new(first);
    if needs_pattern {
        b.path_pattern = required(
            &mut t,
            "path_pattern",
            r,
            checks::path_pattern,
            "`path_pattern = \"/api/*\"`",
        )
        .map(|p| p.value);
    }
    if let Some(origin) = t.string("origin", r) {
        if !origin_ids.contains(&origin.value) {
            r.add(
                &origin.path,
                origin.span.clone(),
                format!(
                    "no origin has id \"{}\"; known ids: {}",
                    origin.value,
                    origin_ids.join(", ")
                ),
            );
        }
        b.origin = origin.value;
    } else if origin_ids.len() > 1 {
        r.add(
            &t.path_of("origin"),
            t.span(),
            format!(
                "with several origins, name the one this behaviour routes to: origin = one of {}",
                origin_ids.join(", ")
            ),
        );
    }
    b.viewer_protocol = choice(
        &mut t,
        "viewer_protocol",
        r,
        ViewerProtocol::parse,
        ViewerProtocol::allowed(),
        b.viewer_protocol,
    );
    b.allowed_methods = choice(
        &mut t,
        "allowed_methods",
        r,
        AllowedMethods::parse,
        AllowedMethods::allowed(),
        b.allowed_methods,
    );
    if group_ids.contains(&b.origin) {
        edge::check_group_methods(&mut t, r, &b.origin, b.allowed_methods);
    }
    b.cached_methods = choice(
        &mut t,
        "cached_methods",
        r,
        CachedMethods::parse,
        CachedMethods::allowed(),
        b.cached_methods,
    );
    if b.allowed_methods == AllowedMethods::GetHead
        && b.cached_methods == CachedMethods::GetHeadOptions
    {
        r.add(&t.path_of("cached_methods"), t.span(), "OPTIONS can only be cached when it is allowed; use allowed_methods = \"get-head-options\" or \"all\"");
    }
    b.compress = flag(&mut t, "compress", r, b.compress);
    b.caching = choice(
        &mut t,
        "caching",
        r,
        CachingMode::parse,
        CachingMode::allowed(),
        b.caching,
    );
    if let Some(mut ttl) = t.table("ttl", r) {
        let min = number(&mut ttl, "min", r, 0..=31_536_000, " seconds", 0);
        let default = number(&mut ttl, "default", r, 0..=31_536_000, " seconds", 86_400);
        let max = number(&mut ttl, "max", r, 0..=31_536_000, " seconds", 31_536_000);
        if !(min <= default && default <= max) {
            r.add(
                ttl.path(),
                ttl.span(),
                format!("TTLs must satisfy min ({min}) <= default ({default}) <= max ({max})"),
            );
        }
        if b.caching != CachingMode::Custom {
            r.add(
                ttl.path(),
                ttl.span(),
                "ttl only applies with caching = \"custom\"",
            );
        }
        ttl.finish(r);
        b.ttl = Some(Ttl {
            min: u64::try_from(min).unwrap_or_default(),
            default: u64::try_from(default).unwrap_or_default(),
            max: u64::try_from(max).unwrap_or_default(),
        });
    }
    if let Some(headers) = t.strings("cache_key_headers", r) {
        for h in &headers {
            if let Err(rule) = checks::header_name(&h.value) {
                r.add(
                    &h.path,
                    h.span.clone(),
                    format!("\"{}\" is not valid; expected {rule}", h.value),
                );
            }
        }
        if headers.len() > 10 {
            r.add(
                &t.path_of("cache_key_headers"),
                t.span(),
                "a cache policy keys on at most 10 headers",
            );
        }
        if b.caching != CachingMode::Custom && !headers.is_empty() {
            r.add(
                &t.path_of("cache_key_headers"),
                t.span(),
                "cache_key_headers only apply with caching = \"custom\"",
            );
        }
        b.cache_key_headers = headers.into_iter().map(|h| h.value).collect();
    }
    policies::read_cache_key(&mut t, r, &mut b);
    if b.caching == CachingMode::Custom && b.ttl.is_none() {
        b.ttl = Some(Ttl {
            min: 0,
            default: 86_400,
            max: 31_536_000,
        });
    }
    b.origin_request = choice(
        &mut t,
        "origin_request",
        r,
        OriginRequest::parse,
        OriginRequest::allowed(),
        b.origin_request,
    );
    b.response_headers = choice(
        &mut t,
        "response_headers",
        r,
        ResponseHeaders::parse,
        ResponseHeaders::allowed(),
        b.response_headers,
    );
    policies::check_cookie_leak(&mut t, r, &b);
    t.finish(r);
    b
}

fn read_logging(mut t: TableReader, r: &mut Report) -> Logging {
    let mut l = Logging::default();
    l.enabled = flag(&mut t, "enabled", r, l.enabled);
    if let Some(names) = t.strings("fields", r) {
        let mut fields = Vec::new();
        for name in names {
            match Field::from_name(&name.value) {
                Some(field) if fields.contains(&field) => r.add(
                    &name.path,
                    name.span,
                    format!("\"{}\" is listed twice", name.value),
                ),
                Some(field) => fields.push(field),
                None => {
                    let close = Field::ALL
                        .iter()
                        .map(|f| (strsim::jaro_winkler(&name.value, f.name()), f.name()))
                        .filter(|(score, _)| *score > 0.85)
                        .max_by(|a, b| a.0.total_cmp(&b.0))
                        .map(|(_, n)| format!("; did you mean \"{n}\"?"))
                        .unwrap_or_default();
                    r.add(&name.path, name.span, format!("\"{}\" is not a CloudFront real-time log field{close} (see shared/realtime-log-fields.txt for the documented list)", name.value));
                }
            }
        }
        if fields.is_empty() {
            r.add(
                &t.path_of("fields"),
                t.span(),
                "name at least one field, or remove the key to log the default set",
            );
        } else {
            l.fields = fields;
        }
    }
    l.sampling_rate =
        u8::try_from(number(&mut t, "sampling_rate", r, 1..=100, " percent", 100)).unwrap_or(100);
    l.stream_mode = choice(
        &mut t,
        "stream_mode",
        r,
        StreamMode::parse,
        StreamMode::allowed(),
        l.stream_mode,
    );
    if let Some(shards) = t.integer("shards", r) {
        if l.stream_mode != StreamMode::Provisioned {
            r.add(
                &shards.path,
                shards.span.clone(),
                "shards only apply with stream_mode = \"provisioned\"",
            );
        }
        if !(1..=500).contains(&shards.value) {
            r.add(
                &shards.path,
                shards.span.clone(),
                format!("{} is out of range; allowed 1–500", shards.value),
            );
        } else {
            l.shards = Some(to_u32(shards.value));
        }
    }
    if l.stream_mode == StreamMode::Provisioned && l.shards.is_none() {
        l.shards = Some(1);
    }
    // Kinesis retention: 24 hours to 365 days.
    l.retention_hours = to_u32(number(
        &mut t,
        "retention_hours",
        r,
        24..=8760,
        " hours",
        24,
    ));
    t.finish(r);
    l
}

fn read_metrics(mut t: TableReader, r: &mut Report, stack: &str) -> Metrics {
    let namespace = checked(&mut t, "namespace", r, checks::namespace)
        .map_or_else(|| default_namespace(stack), |a| a.value);
    let top_n = to_u32(number(&mut t, "top_n", r, 1..=50, "", 10));
    let mut app_headers = Vec::new();
    if let Some(headers) = t.strings("app_headers", r) {
        for h in headers {
            match checks::header_name(&h.value) {
                Ok(()) => app_headers.push(h.value.to_ascii_lowercase()),
                Err(rule) => r.add(
                    &h.path,
                    h.span,
                    format!("\"{}\" is not valid; expected {rule}", h.value),
                ),
            }
        }
        if app_headers.len() > 5 {
            r.add(
                &t.path_of("app_headers"),
                t.span(),
                "at most 5 app headers (each adds a dimension per value, billed per metric)",
            );
        }
    }
    t.finish(r);
    Metrics {
        namespace,
        top_n,
        app_headers,
    }
}

fn read_alarms(mut t: TableReader, r: &mut Report, caches: bool, waf: Option<&Waf>) -> Alarms {
    let enabled = flag(&mut t, "enabled", r, true);
    let schedule = checked(&mut t, "schedule", r, checks::schedule)
        .map_or_else(|| "rate(1 minute)".to_string(), |a| a.value);
    let email = checked(&mut t, "email", r, checks::email).map(|a| a.value);
    let default_rules = flag(&mut t, "default_rules", r, true);
    let throughput_baseline_rps = read_baseline(&mut t, r);
    let pipeline = t
        .table("pipeline", r)
        .map(|table| read_pipeline_alarms(table, r))
        .unwrap_or_default();
    let mut rules_out = if default_rules {
        rules::default_rules(throughput_baseline_rps, caches)
    } else {
        Vec::new()
    };
    for table in t.tables("rules", r) {
        if let Some(rule) = read_rule(table, r, waf) {
            if crate::canary::RULES.contains(&rule.name.as_str()) {
                r.add("alarms.rules", None, format!("rule name \"{}\" is a built-in canary rule's ([staging.canary]); pick another name", rule.name));
            } else if rules_out.iter().any(|existing| existing.name == rule.name) {
                r.add("alarms.rules", None, format!("rule name \"{}\" is used twice (built-in rules count; set default_rules = false to replace them)", rule.name));
            } else {
                rules_out.push(rule);
            }
        }
    }
    t.finish(r);
    Alarms {
        enabled,
        schedule,
        email,
        default_rules,
        throughput_baseline_rps,
        rules: rules_out,
        pipeline,
    }
}

/// `[alarms.pipeline]`.
fn read_pipeline_alarms(mut t: TableReader, r: &mut Report) -> PipelineAlarms {
    let defaults = PipelineAlarms::default();
    let pipeline = PipelineAlarms {
        enabled: flag(&mut t, "enabled", r, defaults.enabled),
        // Kinesis keeps records 24 h by default; an age near that loses data.
        iterator_age_seconds: to_u32(number(
            &mut t,
            "iterator_age_seconds",
            r,
            60..=86_400,
            " seconds",
            i64::from(defaults.iterator_age_seconds),
        )),
        function_errors: to_u32(number(
            &mut t,
            "function_errors",
            r,
            0..=1_000_000,
            " errors in 5 minutes",
            i64::from(defaults.function_errors),
        )),
        malformed_records: to_u32(number(
            &mut t,
            "malformed_records",
            r,
            0..=100_000_000,
            " records in 5 minutes",
            i64::from(defaults.malformed_records),
        )),
    };
    t.finish(r);
    pipeline
}

/// `[staging]`.
fn read_staging(mut t: TableReader, r: &mut Report) -> Staging {
    let canary = t
        .table("canary", r)
        .map(|table| read_canary(table, r))
        .unwrap_or_default();
    t.finish(r);
    Staging { canary }
}

/// `[staging.canary]`: the canary rules' thresholds.
fn read_canary(mut t: TableReader, r: &mut Report) -> Canary {
    let d = Canary::default();
    let enabled = flag(&mut t, "enabled", r, d.enabled);
    let error_rate_margin = bounded_float(
        &mut t,
        "error_rate_margin",
        r,
        (0.0, 100.0),
        "percentage points of 5xx rate above the primary's",
        d.error_rate_margin,
    );
    let latency_p95_factor = bounded_float(
        &mut t,
        "latency_p95_factor",
        r,
        (1.0, 100.0),
        "times the primary's p95 time-taken",
        d.latency_p95_factor,
    );
    let hit_ratio_margin = bounded_float(
        &mut t,
        "hit_ratio_margin",
        r,
        (0.0, 100.0),
        "percentage points of cache hit ratio below the primary's",
        d.hit_ratio_margin,
    );
    let min_requests = to_u32(number(
        &mut t,
        "min_requests",
        r,
        1..=10_000_000,
        " staging requests a minute",
        i64::from(d.min_requests),
    ));
    let evaluation_minutes = to_u32(number(
        &mut t,
        "evaluation_minutes",
        r,
        1..=60,
        " minutes",
        i64::from(d.evaluation_minutes),
    ));
    let datapoints_to_alarm = to_u32(number(
        &mut t,
        "datapoints_to_alarm",
        r,
        1..=60,
        " minutes",
        i64::from(d.datapoints_to_alarm),
    ));
    if datapoints_to_alarm > evaluation_minutes {
        r.add(
            &t.path_of("datapoints_to_alarm"),
            t.span(),
            format!("{datapoints_to_alarm} is more than evaluation_minutes ({evaluation_minutes}); a rule cannot need more breaching minutes than it looks at"),
        );
    }
    t.finish(r);
    Canary {
        enabled,
        error_rate_margin,
        latency_p95_factor,
        hit_ratio_margin,
        min_requests,
        evaluation_minutes,
        datapoints_to_alarm,
    }
}

/// A number (`1` or `1.5`) within `range`, else a problem naming the range and `meaning`.
fn bounded_float(
    t: &mut TableReader,
    key: &'static str,
    r: &mut Report,
    (low, high): (f64, f64),
    meaning: &str,
    default: f64,
) -> f64 {
    let value = match t.integer(key, &mut Report::new("")) {
        Some(at) => Some((at.value as f64, at.path, at.span)),
        None => t.float(key, r).map(|at| (at.value, at.path, at.span)),
    };
    match value {
        None => default,
        Some((v, _, _)) if v.is_finite() && (low..=high).contains(&v) => v,
        Some((v, path, span)) => {
            r.add(
                &path,
                span,
                format!("{v} is out of range; allowed {low}–{high} ({meaning})"),
            );
            default
        }
    }
}

/// `throughput_baseline_rps`: a number of requests per second, at least 0 (0 turns the
/// built-in ThroughputDegradation rule off).
fn read_baseline(t: &mut TableReader, r: &mut Report) -> f64 {
    const KEY: &str = "throughput_baseline_rps";
    let default = rules::DEFAULT_THROUGHPUT_BASELINE_RPS;
    let value = match t.integer(KEY, &mut Report::new("")) {
        Some(at) => Some((at.value as f64, at.path, at.span)),
        None => t.float(KEY, r).map(|at| (at.value, at.path, at.span)),
    };
    match value {
        None => default,
        Some((v, _, _)) if v.is_finite() && v >= 0.0 => v,
        Some((v, path, span)) => {
            r.add(
                &path,
                span,
                format!("{v} is not a request rate; use a number of requests per second ≥ 0 (0 turns the rule off)"),
            );
            default
        }
    }
}

/// Why a rule cannot read WAF metric `name` in this config, if it cannot: there must be a
/// `[waf]` (the web ACL the stack owns and whose metric names it knows), and a per-rule
/// metric must name one of its rules.
fn waf_metric_problem(name: &str, waf: Option<&Waf>) -> Option<String> {
    let Some(metrics::MetricRef::Waf { rule, .. }) = metrics::resolve(name) else {
        return None;
    };
    let Some(waf) = waf else {
        return Some(format!(
            "\"{name}\" reads the metrics of the web ACL the stack owns, and this config has no [waf]; add a [waf] table (a web ACL given by distribution.web_acl_arn is not the stack's), or use a stack or CloudFront: metric"
        ));
    };
    let rules = metrics::waf_rule_names(waf);
    match rule {
        Some(rule) if !rules.iter().any(|known| known == rule) => Some(format!(
            "\"{name}\": the web ACL has no rule \"{rule}\"; use one of {} (WAF:{}:RULE), or leave the rule out for the whole web ACL",
            rules.join(", "),
            name.trim_start_matches(metrics::WAF_PREFIX)
                .split(':')
                .next()
                .unwrap_or_default()
        )),
        _ => None,
    }
}

fn read_rule(mut t: TableReader, r: &mut Report, waf: Option<&Waf>) -> Option<Rule> {
    let name = required(
        &mut t,
        "name",
        r,
        any_string,
        "`name = ...` (a short rule name, e.g. HighLatency)",
    )?;
    if !(1..=64).contains(&name.value.len())
        || !name
            .value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        r.add(
            &name.path,
            name.span.clone(),
            format!(
                "\"{}\" is not valid; use 1–64 letters, digits, - and _ (it becomes an alarm name)",
                name.value
            ),
        );
    }
    let metric = t.string("metric", r);
    if let Some(m) = &metric
        && metrics::resolve(&m.value).is_none()
    {
        r.add(
            &m.path,
            m.span.clone(),
            format!(
                "\"{}\" is not a metric the stack publishes; use one of {}, CloudFront:{} or WAF:{} (WAF:NAME:RULE for one rule of [waf])",
                m.value,
                metrics::STACK_METRICS.join(", "),
                metrics::CLOUDFRONT_METRICS.join("|"),
                metrics::WAF_METRICS.join("|")
            ),
        );
    }
    if let Some(m) = &metric
        && let Some(problem) = waf_metric_problem(&m.value, waf)
    {
        r.add(&m.path, m.span.clone(), problem);
    }
    let expression = t.string("expression", r);
    if let Some(e) = &expression {
        match rules::Expression::parse(&e.value) {
            Err(problem) => r.add(
                &e.path,
                e.span.clone(),
                format!("\"{}\": {problem}", e.value),
            ),
            Ok(parsed) => {
                for problem in parsed
                    .metrics()
                    .into_iter()
                    .filter_map(|name| waf_metric_problem(name, waf))
                {
                    r.add(&e.path, e.span.clone(), problem);
                }
            }
        }
    }
    if metric.is_some() == expression.is_some() {
        r.add(
            t.path(),
            t.span(),
            "a rule needs exactly one of `metric` or `expression`",
        );
    }
    let statistic = t.string("statistic", r);
    if let Some(s) = &statistic
        && !metrics::is_statistic(&s.value)
    {
        r.add(&s.path, s.span.clone(), format!("\"{}\" is not a statistic; use Sum, Average, Minimum, Maximum, SampleCount or a percentile such as p95", s.value));
    }
    let comparison = choice(
        &mut t,
        "comparison",
        r,
        Comparison::parse,
        Comparison::allowed(),
        Comparison::GreaterThan,
    );
    let threshold = match t.string("threshold", &mut Report::new("")) {
        Some(at) => {
            r.add(&at.path, at.span, "expected a number, found a string");
            0.0
        }
        None => read_float(&mut t, "threshold", r),
    };
    let evaluation_periods = to_u32(number(&mut t, "evaluation_periods", r, 1..=100, "", 5));
    let datapoints_to_alarm = to_u32(number(&mut t, "datapoints_to_alarm", r, 1..=100, "", 3));
    if datapoints_to_alarm > evaluation_periods {
        r.add(&t.path_of("datapoints_to_alarm"), t.span(), format!("{datapoints_to_alarm} of {evaluation_periods}: datapoints_to_alarm cannot exceed evaluation_periods"));
    }
    let period_seconds = to_u32(number(
        &mut t,
        "period_seconds",
        r,
        60..=86_400,
        " seconds",
        60,
    ));
    if !period_seconds.is_multiple_of(60) {
        r.add(
            &t.path_of("period_seconds"),
            t.span(),
            format!("{period_seconds} is not a multiple of 60"),
        );
    }
    let missing_data = choice(
        &mut t,
        "missing_data",
        r,
        MissingData::parse,
        MissingData::allowed(),
        MissingData::Missing,
    );
    let severity = choice(
        &mut t,
        "severity",
        r,
        Severity::parse,
        Severity::allowed(),
        Severity::Warning,
    );
    let action = t.string("action", r).map_or_else(String::new, |a| a.value);
    t.finish(r);
    Some(Rule {
        name: name.value,
        metric: metric.map(|m| m.value),
        expression: expression.map(|e| e.value),
        statistic: statistic.map_or_else(|| "Average".to_string(), |s| s.value),
        period_seconds,
        comparison,
        threshold,
        datapoints_to_alarm,
        evaluation_periods,
        missing_data,
        severity,
        action,
    })
}

fn read_float(t: &mut TableReader, key: &'static str, r: &mut Report) -> f64 {
    // Accept both `threshold = 5` and `threshold = 99.5`.
    if let Some(at) = t.integer(key, &mut Report::new("")) {
        return at.value as f64;
    }
    match t.float(key, r) {
        Some(at) if at.value.is_finite() => at.value,
        Some(at) => {
            r.add(&at.path, at.span, "threshold must be a finite number");
            0.0
        }
        None => {
            r.add(
                &t.path_of(key),
                t.span(),
                "missing; add `threshold = <number>`",
            );
            0.0
        }
    }
}

fn read_manuscripts(mut t: TableReader, r: &mut Report) -> Manuscripts {
    let bucket = required(
        &mut t,
        "bucket",
        r,
        checks::bucket_name,
        "`bucket = \"my-manuscripts\"`",
    )
    .map_or_else(String::new, |at| at.value);
    let key_prefix = match t.string("key_prefix", r) {
        Some(at) if at.value.starts_with('/') => {
            r.add(
                &at.path,
                at.span,
                format!(
                    "\"{}\": S3 keys do not start with /; write it without the leading slash",
                    at.value
                ),
            );
            at.value
        }
        Some(at) => at.value,
        None => "manuscripts/".to_string(),
    };
    let path_prefix = match t.string("path_prefix", r) {
        Some(p) if !p.value.starts_with('/') => {
            r.add(
                &p.path,
                p.span,
                format!(
                    "\"{}\" must start with / (it is the URL path the key prefix maps to)",
                    p.value
                ),
            );
            "/".to_string()
        }
        Some(p) => p.value,
        None => format!("/{key_prefix}"),
    };
    // SQS → Lambda batching window: 0–300 seconds.
    let batch_window_seconds = to_u32(number(
        &mut t,
        "batch_window_seconds",
        r,
        0..=300,
        " seconds",
        30,
    ));
    t.finish(r);
    Manuscripts {
        bucket,
        key_prefix,
        path_prefix,
        batch_window_seconds,
    }
}

fn read_encryption(mut t: TableReader, r: &mut Report, region: &str) -> Encryption {
    let mut encryption = Encryption::default();
    if let Some(key) = t.string("kms_key_arn", r) {
        if let Err(rule) = checks::kms_key_arn(&key.value, region) {
            r.add(
                &key.path,
                key.span.clone(),
                format!("\"{}\" is not valid; expected {rule}", key.value),
            );
        }
        encryption.kms_key_arn = Some(key.value);
    }
    t.finish(r);
    encryption
}

fn read_functions(mut t: TableReader, r: &mut Report) -> Functions {
    let mut f = Functions::default();
    f.architecture = choice(
        &mut t,
        "architecture",
        r,
        Architecture::parse,
        Architecture::allowed(),
        f.architecture,
    );
    f.memory_mb = to_u32(number(&mut t, "memory_mb", r, 128..=10_240, " MB", 256));
    f.timeout_seconds = to_u32(number(
        &mut t,
        "timeout_seconds",
        r,
        1..=900,
        " seconds",
        60,
    ));
    if let Some(days) = t.integer("log_retention_days", r) {
        match u32::try_from(days.value) {
            Ok(d) if checks::LOG_RETENTION_DAYS.contains(&d) => f.log_retention_days = d,
            _ => r.add(
                &days.path,
                days.span,
                format!(
                    "{} is not a retention CloudWatch Logs offers; use one of {:?}",
                    days.value,
                    checks::LOG_RETENTION_DAYS
                ),
            ),
        }
    }
    t.finish(r);
    f
}

fn waf_mode(t: &mut TableReader, r: &mut Report) -> Option<WafMode> {
    t.contains("mode").then(|| {
        choice(
            t,
            "mode",
            r,
            WafMode::parse,
            WafMode::allowed(),
            WafMode::Block,
        )
    })
}

fn read_waf(mut t: TableReader, r: &mut Report) -> Waf {
    let mode = waf_mode(&mut t, r).unwrap_or(WafMode::Block);
    let mut allow_list = Vec::new();
    if let Some(addresses) = t.strings("allow_list", r) {
        let mut seen = HashSet::new();
        for address in addresses {
            if let Err(rule) = checks::cidr(&address.value) {
                r.add(
                    &address.path,
                    address.span.clone(),
                    format!("\"{}\" is not valid; expected {rule}", address.value),
                );
            } else if !seen.insert(address.value.clone()) {
                r.add(
                    &address.path,
                    address.span.clone(),
                    format!("\"{}\" is listed twice", address.value),
                );
            } else {
                allow_list.push(address.value);
            }
        }
    }
    let mode_of = |t: &mut TableReader, key: &'static str, r: &mut Report| {
        t.contains(key)
            .then(|| choice(t, key, r, WafMode::parse, WafMode::allowed(), mode))
    };
    let allow_list_mode = mode_of(&mut t, "allow_list_mode", r);
    let block_list_mode = mode_of(&mut t, "block_list_mode", r);
    let rate_limit = match t.table("rate_limit", r) {
        Some(mut rate) => {
            let requests = number(
                &mut rate,
                "requests_per_5_minutes",
                r,
                0..=2_000_000_000,
                " requests per 5 minutes (0: no rate rule)",
                WAF_DEFAULT_RATE_LIMIT as i64,
            );
            let requests = match requests {
                1..=9 => {
                    if let Some(at) = rate.integer("requests_per_5_minutes", r) {
                        r.add(
                            &at.path,
                            at.span,
                            format!("{} is below WAF's minimum of 10 requests per 5 minutes; use 10 or more (0: no rate rule)", at.value),
                        );
                    }
                    WAF_DEFAULT_RATE_LIMIT
                }
                n => u64::try_from(n).unwrap_or(WAF_DEFAULT_RATE_LIMIT),
            };
            let path_prefix =
                checked(&mut rate, "path_prefix", r, checks::uri_path_prefix).map(|at| at.value);
            let rate_mode = waf_mode(&mut rate, r);
            rate.finish(r);
            WafRateLimit {
                requests_per_5_minutes: requests,
                path_prefix,
                mode: rate_mode,
            }
        }
        None => WafRateLimit {
            requests_per_5_minutes: WAF_DEFAULT_RATE_LIMIT,
            path_prefix: None,
            mode: None,
        },
    };
    let managed_rule_groups = if t.contains("managed_rule_groups") {
        let mut groups = Vec::new();
        let mut seen = HashSet::new();
        for mut group in t.tables("managed_rule_groups", r) {
            let name = required(
                &mut group,
                "name",
                r,
                |name| {
                    if WAF_MANAGED_GROUPS.iter().any(|(known, _)| *known == name) {
                        Ok(())
                    } else {
                        Err(format!(
                            "one of the AWS managed rule groups: {}",
                            WAF_MANAGED_GROUPS
                                .iter()
                                .map(|(n, _)| *n)
                                .collect::<Vec<_>>()
                                .join(", ")
                        ))
                    }
                },
                "`name = \"AWSManagedRulesCommonRuleSet\"`",
            );
            let group_mode = waf_mode(&mut group, r);
            if let Some(name) = name {
                if seen.insert(name.value.clone()) {
                    groups.push(WafManagedGroup {
                        name: name.value,
                        mode: group_mode,
                    });
                } else {
                    r.add(
                        &name.path,
                        name.span,
                        format!(
                            "\"{}\" is listed twice; a web ACL uses a group once",
                            name.value
                        ),
                    );
                }
            }
            group.finish(r);
        }
        groups
    } else {
        WAF_DEFAULT_GROUPS
            .iter()
            .map(|name| WafManagedGroup {
                name: name.to_string(),
                mode: None,
            })
            .collect()
    };
    let auto_block = t
        .table("auto_block", r)
        .map(|table| autoblock::read_auto_block(table, r, mode));
    t.finish(r);
    Waf {
        mode,
        allow_list,
        allow_list_mode,
        block_list_mode,
        rate_limit,
        managed_rule_groups,
        auto_block,
    }
}
