//! Pure checks on single values. Each returns `Err(what is allowed)` so the caller can put it
//! next to the field and the bad value.

/// A DNS host name: labels of letters, digits and hyphens, 1–63 characters each, not starting
/// or ending with a hyphen; at most 253 characters; at least two labels.
pub fn domain_name(name: &str) -> Result<(), String> {
    const RULE: &str = "a DNS name such as app.example.com: labels of letters, digits and hyphens (1–63 characters, no leading or trailing hyphen), at least two labels, at most 253 characters";
    if name.is_empty() || name.len() > 253 || !name.contains('.') {
        return Err(RULE.to_string());
    }
    let ok = name.trim_end_matches('.').split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    });
    if ok { Ok(()) } else { Err(RULE.to_string()) }
}

/// An alias (CNAME): a domain name, optionally with a leading `*.` wildcard label.
pub fn alias(name: &str) -> Result<(), String> {
    domain_name(name.strip_prefix("*.").unwrap_or(name))
}

/// The parts of an ARN: `arn:partition:service:region:account:resource`.
#[derive(Debug, PartialEq, Eq)]
pub struct Arn<'a> {
    pub partition: &'a str,
    pub service: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    pub resource: &'a str,
}

pub fn arn(text: &str) -> Result<Arn<'_>, String> {
    let mut parts = text.splitn(6, ':');
    let (Some("arn"), Some(partition), Some(service), Some(region), Some(account), Some(resource)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err("an ARN of the form arn:aws:SERVICE:REGION:ACCOUNT:RESOURCE".to_string());
    };
    if !partition.starts_with("aws") || service.is_empty() || resource.is_empty() {
        return Err("an ARN of the form arn:aws:SERVICE:REGION:ACCOUNT:RESOURCE".to_string());
    }
    if !account.is_empty() && (account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err("an ARN whose account is 12 digits".to_string());
    }
    Ok(Arn {
        partition,
        service,
        region,
        account,
        resource,
    })
}

/// An AWS region name such as `eu-west-1` or `us-gov-west-1`.
pub fn region(name: &str) -> Result<(), String> {
    let parts: Vec<&str> = name.split('-').collect();
    let ok = parts.len() >= 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()));
    if ok {
        Ok(())
    } else {
        Err("an AWS region such as us-east-1 or eu-west-1".to_string())
    }
}

/// An ISO 3166-1 alpha-2 country code, upper case.
pub fn country_code(code: &str) -> Result<(), String> {
    let upper = code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase());
    if upper && isocountry::CountryCode::for_alpha2(code).is_ok() {
        Ok(())
    } else {
        Err("an ISO 3166-1 alpha-2 country code in upper case, such as US, DE or JP".to_string())
    }
}

/// A CloudFront cache-behaviour path pattern: at most 255 characters of the allowed set,
/// `*` and `?` as wildcards; not `*` alone (that is the default behaviour).
pub fn path_pattern(pattern: &str) -> Result<(), String> {
    const RULE: &str = "a path pattern such as /api/* or *.jpg: at most 255 characters of A-Z a-z 0-9 _ - . * $ / ~ \" ' @ : + & and the wildcards * and ?; \"*\" alone is the default behaviour";
    let allowed = |c: char| c.is_ascii_alphanumeric() || "_-.*$/~\"'@:+&?".contains(c);
    if pattern.is_empty() || pattern.len() > 255 || pattern == "*" || !pattern.chars().all(allowed)
    {
        Err(RULE.to_string())
    } else {
        Ok(())
    }
}

/// An origin path: empty, or starting with `/` and not ending with `/`.
pub fn origin_path(path: &str) -> Result<(), String> {
    if path.is_empty() || (path.starts_with('/') && !path.ends_with('/') && path.len() <= 255) {
        Ok(())
    } else {
        Err(
            "empty, or a path that starts with / and does not end with / (e.g. /api/v1)"
                .to_string(),
        )
    }
}

/// An S3 bucket name (general purpose buckets).
pub fn bucket_name(name: &str) -> Result<(), String> {
    const RULE: &str = "an S3 bucket name: 3–63 lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit, not shaped like an IP address";
    let bytes = name.as_bytes();
    let ok = (3..=63).contains(&name.len())
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'.' || *b == b'-')
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
        && !name.contains("..")
        && name.parse::<std::net::Ipv4Addr>().is_err();
    if ok { Ok(()) } else { Err(RULE.to_string()) }
}

/// A KMS key's ARN in `region`: `arn:aws:kms:REGION:ACCOUNT:key/ID`, the ID a key id (a
/// UUID) or a multi-Region key id (`mrk-` and 32 hex digits). An alias will not do: IAM
/// policies grant on the key ARN, and the stream, queues, topic and bucket must use a key in
/// their own region.
pub fn kms_key_arn(text: &str, region: &str) -> Result<(), String> {
    let rule = format!(
        "a KMS key ARN in the stack's region {region}: arn:aws:kms:{region}:ACCOUNT:key/KEY-ID (a key id such as 1234abcd-12ab-34cd-56ef-1234567890ab, not an alias)"
    );
    let Ok(arn) = arn(text) else {
        return Err(rule);
    };
    let Some(id) = arn.resource.strip_prefix("key/") else {
        return Err(rule);
    };
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    let uuid = {
        let groups: Vec<&str> = id.split('-').collect();
        groups.len() == 5
            && groups
                .iter()
                .zip([8, 4, 4, 4, 12])
                .all(|(group, n)| hex(group, n))
    };
    let multi_region = id.strip_prefix("mrk-").is_some_and(|rest| hex(rest, 32));
    if arn.service == "kms"
        && arn.region == region
        && !arn.account.is_empty()
        && (uuid || multi_region)
    {
        Ok(())
    } else {
        Err(rule)
    }
}

/// An HTTP header name (RFC 9110 token characters).
pub fn header_name(name: &str) -> Result<(), String> {
    let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if !name.is_empty() && name.len() <= 128 && name.chars().all(token) {
        Ok(())
    } else {
        Err("an HTTP header name such as X-Operation-Type".to_string())
    }
}

/// A CloudWatch namespace: 1–255 characters of letters, digits and `.-_/#:`, not starting
/// with `AWS/` (reserved for AWS services).
pub fn namespace(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 255
        && !name.starts_with(':')
        && !name.starts_with("AWS/")
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-_/#: ".contains(c));
    if ok {
        Ok(())
    } else {
        Err(
            "a CloudWatch namespace: 1–255 letters, digits and . - _ / # :, not starting with AWS/"
                .to_string(),
        )
    }
}

/// A stack name: 1–32 characters of lower-case letters, digits and single hyphens, starting
/// with a letter. It prefixes every resource name, so the bound keeps the longest derived name
/// inside the tightest AWS limit (64 characters for IAM roles and Lambda functions).
pub fn stack_name(name: &str) -> Result<(), String> {
    let ok = (1..=32).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('-')
        && !name.contains("--")
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err("1–32 lower-case letters, digits and single hyphens, starting with a letter (e.g. shop-prod)".to_string())
    }
}

/// An e-mail address for the SNS subscription (the shape SNS accepts, not deliverability).
pub fn email(address: &str) -> Result<(), String> {
    let ok = address.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty() && !local.contains(char::is_whitespace) && domain_name(domain).is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err("an e-mail address such as ops@example.com".to_string())
    }
}

/// An EventBridge schedule expression: `rate(N unit)` or `cron(...)`.
pub fn schedule(expression: &str) -> Result<(), String> {
    const RULE: &str = "rate(1 minute), rate(N minutes|hours|days) or cron(six fields)";
    if let Some(inner) = expression
        .strip_prefix("rate(")
        .and_then(|s| s.strip_suffix(')'))
    {
        let mut parts = inner.split_whitespace();
        let (Some(count), Some(unit), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(RULE.to_string());
        };
        let Ok(count) = count.parse::<u32>() else {
            return Err(RULE.to_string());
        };
        let ok = match unit {
            "minute" | "hour" | "day" => count == 1,
            "minutes" | "hours" | "days" => count > 1,
            _ => false,
        };
        return if ok { Ok(()) } else { Err(RULE.to_string()) };
    }
    if let Some(inner) = expression
        .strip_prefix("cron(")
        .and_then(|s| s.strip_suffix(')'))
        && inner.split_whitespace().count() == 6
    {
        return Ok(());
    }
    Err(RULE.to_string())
}

/// The interval of a valid `rate(N unit)` schedule, in seconds; None for `cron(...)` (whose
/// gaps vary) or an invalid expression.
pub fn rate_seconds(expression: &str) -> Option<u64> {
    schedule(expression).ok()?;
    let inner = expression.strip_prefix("rate(")?.strip_suffix(')')?;
    let (count, unit) = inner.split_once(' ')?;
    let count: u64 = count.trim().parse().ok()?;
    let unit = match unit.trim().trim_end_matches('s') {
        "minute" => 60,
        "hour" => 3_600,
        "day" => 86_400,
        _ => return None,
    };
    Some(count * unit)
}

/// Retention periods CloudWatch Logs accepts.
pub const LOG_RETENTION_DAYS: &[u32] = &[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

/// Viewer TLS policies CloudFront accepts (MinimumProtocolVersion) with an ACM certificate
/// and SNI.
pub const VIEWER_TLS_POLICIES: &[&str] = &[
    "TLSv1",
    "TLSv1_2016",
    "TLSv1.1_2016",
    "TLSv1.2_2018",
    "TLSv1.2_2019",
    "TLSv1.2_2021",
    "TLSv1.2_2025",
    "TLSv1.3_2025",
];

/// The AWS regions CloudFront offers Origin Shield in (CloudFront Developer Guide, "Using
/// Amazon CloudFront Origin Shield", section "Choosing the AWS Region for Origin Shield":
/// <https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/origin-shield.html#choose-origin-shield-region>).
/// An origin in another region takes the nearest of these (the guide's table: us-west-1 →
/// us-west-2, ca-central-1 → us-east-1, eu-west-3 and eu-north-1 → eu-west-2, eu-south-1 →
/// eu-central-1, af-south-1 → eu-west-1, ap-east-1 → ap-southeast-1, me-south-1 → ap-south-1).
pub const ORIGIN_SHIELD_REGIONS: &[&str] = &[
    "us-east-2",
    "us-east-1",
    "us-west-2",
    "ap-south-1",
    "ap-northeast-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-northeast-1",
    "eu-central-1",
    "eu-west-1",
    "eu-west-2",
    "sa-east-1",
];

/// The status codes an origin group can fail over on (the CloudFront console's list for
/// failover criteria; CloudFront Developer Guide, "Create an origin group").
pub const FAILOVER_STATUS_CODES: &[u16] = &[400, 403, 404, 416, 500, 502, 503, 504];

/// The origin error codes a custom error response can be set for (CloudFront Developer
/// Guide, "Generate custom error responses": the 4xx and 5xx codes CloudFront caches).
pub const ERROR_RESPONSE_CODES: &[u16] = &[400, 403, 404, 405, 414, 416, 500, 501, 502, 503, 504];

/// The status codes CloudFront can answer a custom error page with (the codes above, and
/// 200 to serve the page as a success).
pub const ERROR_PAGE_RESPONSE_CODES: &[u16] =
    &[200, 400, 403, 404, 405, 414, 416, 500, 501, 502, 503, 504];

/// A custom error page path: starts with `/` (the API reference's ResponsePagePath), no
/// whitespace (a URL path carries it encoded).
pub fn error_page_path(path: &str) -> Result<(), String> {
    if path.starts_with('/') && !path.chars().any(char::is_whitespace) {
        Ok(())
    } else {
        Err("a path on the distribution that starts with /, e.g. /errors/503.html".to_string())
    }
}

/// An address range in CIDR notation as WAF IP sets take it (`198.51.100.0/24`,
/// `2001:db8::/32`; WAF accepts every prefix but /0, and refuses an address with host bits
/// set, `198.51.100.7/24`, as formatting that is not valid). Whether it is IPv6.
pub fn cidr(text: &str) -> Result<bool, String> {
    let rule = || {
        "an address range in CIDR notation, e.g. 198.51.100.7/32 or 2001:db8::/48 (prefix 1–32 for IPv4, 1–128 for IPv6)".to_string()
    };
    let (address, prefix) = text.split_once('/').ok_or_else(rule)?;
    let address: std::net::IpAddr = address.parse().map_err(|_| rule())?;
    let prefix: u8 = prefix.parse().map_err(|_| rule())?;
    let max = if address.is_ipv6() { 128 } else { 32 };
    if prefix == 0 || prefix > max {
        return Err(rule());
    }
    // The bits below the prefix must be zero (shifts by < 128, so none overflows).
    let (bits, width): (u128, u32) = match address {
        std::net::IpAddr::V4(v4) => (u128::from(u32::from(v4)), 32),
        std::net::IpAddr::V6(v6) => (u128::from(v6), 128),
    };
    let host_bits = width - u32::from(prefix);
    let host_mask = if host_bits == 0 {
        0
    } else {
        u128::MAX >> (128 - host_bits)
    };
    if bits & host_mask != 0 {
        let network = bits & !host_mask;
        let network = match address {
            std::net::IpAddr::V4(_) => std::net::Ipv4Addr::from(network as u32).to_string(),
            std::net::IpAddr::V6(_) => std::net::Ipv6Addr::from(network).to_string(),
        };
        return Err(format!(
            "a network address (host bits zero, which WAF requires): {text} is in {network}/{prefix}; write that, or {address}/{max} for the one address"
        ));
    }
    Ok(address.is_ipv6())
}

/// A URI path prefix for a WAF byte match: starts with `/`, at most 200 bytes (WAF's search
/// string limit), printable ASCII.
pub fn uri_path_prefix(text: &str) -> Result<(), String> {
    if text.starts_with('/') && text.len() <= 200 && text.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(())
    } else {
        Err(
            "a URI path prefix starting with /, at most 200 printable ASCII characters, e.g. /api/"
                .to_string(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_ranges_are_networks_as_waf_takes_them() {
        assert_eq!(cidr("198.51.100.0/24"), Ok(false));
        assert_eq!(cidr("198.51.100.7/32"), Ok(false));
        assert_eq!(cidr("2001:db8::/32"), Ok(true));
        assert_eq!(cidr("2001:db8::1/128"), Ok(true));
        assert_eq!(cidr("195.178.188.64/29"), Ok(false));
        for bad in [
            "198.51.100.7",
            "0.0.0.0/0",
            "198.51.100.0/33",
            "2001:db8::/129",
            "x/8",
        ] {
            assert!(cidr(bad).is_err(), "{bad}");
        }
        // Host bits set: WAF refuses the form; the message gives both fixes.
        let err = cidr("195.178.188.66/29").err().unwrap_or_default();
        assert!(
            err.contains("195.178.188.64/29") && err.contains("195.178.188.66/32"),
            "{err}"
        );
        let err = cidr("2001:db8::1/64").err().unwrap_or_default();
        assert!(
            err.contains("2001:db8::/64") && err.contains("2001:db8::1/128"),
            "{err}"
        );
    }

    #[test]
    fn domains() {
        assert!(domain_name("myapp.example.com").is_ok());
        assert!(domain_name("a-b.c").is_ok());
        assert!(domain_name("localhost").is_err());
        assert!(domain_name("my app.example.com").is_err());
        assert!(domain_name("-bad.example.com").is_err());
        assert!(domain_name(&format!("{}.com", "a".repeat(64))).is_err());
        assert!(alias("*.example.com").is_ok());
    }

    #[test]
    fn arns() {
        let parsed = arn("arn:aws:acm:us-east-1:123456789012:certificate/abc")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(parsed.service, "acm");
        assert_eq!(parsed.region, "us-east-1");
        assert!(arn("arn:aws:acm:us-east-1:1234:certificate/abc").is_err());
        assert!(arn("not-an-arn").is_err());
    }

    #[test]
    fn kms_keys_are_key_arns_in_the_stacks_region() {
        let key = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        assert_eq!(kms_key_arn(key, "eu-west-1"), Ok(()));
        let mrk = "arn:aws:kms:eu-west-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab";
        assert_eq!(kms_key_arn(mrk, "eu-west-1"), Ok(()));
        for wrong in [
            // Another region than the stack's.
            "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            // An alias, a bare key id, another service, a malformed id, no account.
            "arn:aws:kms:eu-west-1:123456789012:alias/my-key",
            "1234abcd-12ab-34cd-56ef-1234567890ab",
            "arn:aws:sqs:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "arn:aws:kms:eu-west-1:123456789012:key/1234abcd",
            "arn:aws:kms:eu-west-1::key/1234abcd-12ab-34cd-56ef-1234567890ab",
        ] {
            let refused = kms_key_arn(wrong, "eu-west-1");
            assert!(
                refused
                    .as_ref()
                    .is_err_and(|rule| rule.contains("eu-west-1")),
                "{wrong}: {refused:?}"
            );
        }
    }

    #[test]
    fn countries_and_regions() {
        assert!(country_code("DE").is_ok());
        assert!(country_code("de").is_err());
        assert!(country_code("XX").is_err());
        assert!(region("eu-west-1").is_ok());
        assert!(region("us-gov-west-1").is_ok());
        assert!(region("europe").is_err());
    }

    #[test]
    fn patterns_paths_buckets_names() {
        assert!(path_pattern("/api/*").is_ok());
        assert!(path_pattern("*").is_err());
        assert!(path_pattern("/a b").is_err());
        assert!(origin_path("/api/v1").is_ok());
        assert!(origin_path("/api/").is_err());
        assert!(origin_path("api").is_err());
        assert!(bucket_name("my-manuscripts").is_ok());
        assert!(bucket_name("My_Bucket").is_err());
        assert!(bucket_name("192.168.1.1").is_err());
        assert!(stack_name("shop-prod").is_ok());
        assert!(stack_name("Shop").is_err());
        assert!(stack_name("a--b").is_err());
        assert!(stack_name(&"a".repeat(33)).is_err());
    }

    #[test]
    fn schedules() {
        assert!(schedule("rate(1 minute)").is_ok());
        assert!(schedule("rate(5 minutes)").is_ok());
        assert!(schedule("rate(1 minutes)").is_err());
        assert!(schedule("cron(0/5 * * * ? *)").is_ok());
        assert!(schedule("every minute").is_err());
    }
}
