//! The parts of the distribution config that decide what viewers get when an origin fails:
//! origin groups (failover), custom error responses (error caching and pages) and each
//! origin's Origin Shield. Built from the config and flattened (from what we build and from
//! what CloudFront returns) like the rest of [`super::distribution`].

use aws_sdk_cloudfront::types::{
    CustomErrorResponse, CustomErrorResponses, DistributionConfig, Origin, OriginGroup,
    OriginGroupFailoverCriteria, OriginGroupMember, OriginGroupMembers, OriginGroups, OriginShield,
    StatusCodes,
};
use cfrp_config::{self as config, StackConfig};

use crate::diff::Fields;
use crate::error::DeployError;

/// `OriginGroups`: each group's primary then secondary, and its failover codes.
pub fn origin_groups(config: &StackConfig) -> Result<OriginGroups, DeployError> {
    let groups = config
        .origin_groups
        .iter()
        .map(origin_group)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(OriginGroups::builder()
        .quantity(groups.len() as i32)
        .set_items((!groups.is_empty()).then_some(groups))
        .build()?)
}

fn origin_group(g: &config::OriginGroup) -> Result<OriginGroup, DeployError> {
    let codes: Vec<i32> = g
        .failover_status_codes
        .iter()
        .map(|c| i32::from(*c))
        .collect();
    let members = [&g.primary, &g.secondary]
        .into_iter()
        .map(|id| OriginGroupMember::builder().origin_id(id).build())
        .collect::<Result<Vec<_>, _>>()?;
    Ok(OriginGroup::builder()
        .id(&g.id)
        .failover_criteria(
            OriginGroupFailoverCriteria::builder()
                .status_codes(
                    StatusCodes::builder()
                        .quantity(codes.len() as i32)
                        .set_items(Some(codes))
                        .build()?,
                )
                .build(),
        )
        .members(
            OriginGroupMembers::builder()
                .quantity(members.len() as i32)
                .set_items(Some(members))
                .build()?,
        )
        .build()?)
}

/// `CustomErrorResponses`, in the config's order.
pub fn error_responses(config: &StackConfig) -> Result<CustomErrorResponses, DeployError> {
    let items = config
        .error_responses
        .iter()
        .map(|e| {
            CustomErrorResponse::builder()
                .error_code(i32::from(e.code))
                .error_caching_min_ttl(e.caching_min_ttl as i64)
                .set_response_page_path(e.page.clone())
                .set_response_code(e.response_code.map(|c| c.to_string()))
                .build()
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(CustomErrorResponses::builder()
        .quantity(items.len() as i32)
        .set_items((!items.is_empty()).then_some(items))
        .build()?)
}

/// An origin's `OriginShield`: enabled in the configured region, or disabled (what
/// CloudFront returns for an origin without it).
pub fn origin_shield(o: &config::Origin) -> Result<OriginShield, DeployError> {
    Ok(match &o.origin_shield_region {
        Some(region) => OriginShield::builder()
            .enabled(true)
            .origin_shield_region(region)
            .build()?,
        None => OriginShield::builder().enabled(false).build()?,
    })
}

/// An origin's Origin Shield as one field: its region, or `off` (also for an origin whose
/// config has no OriginShield at all, which CloudFront treats as disabled).
pub fn flatten_origin_shield(o: &Origin) -> String {
    match o.origin_shield() {
        Some(s) if s.enabled() => s.origin_shield_region().unwrap_or_default().to_string(),
        _ => "off".to_string(),
    }
}

/// Origin groups and error responses, keyed by group id and error code.
pub fn flatten(c: &DistributionConfig, f: &mut Fields) {
    for g in c.origin_groups().map(|g| g.items()).unwrap_or_default() {
        let p = format!("origin_groups[{}]", g.id());
        let members: Vec<&str> = g
            .members()
            .map(|m| m.items().iter().map(OriginGroupMember::origin_id).collect())
            .unwrap_or_default();
        // Order matters: the first member is the primary.
        f.insert(format!("{p}.members"), members.join(" then "));
        let mut codes: Vec<i32> = g
            .failover_criteria()
            .and_then(|c| c.status_codes())
            .map(|s| s.items().to_vec())
            .unwrap_or_default();
        codes.sort_unstable();
        f.insert(
            format!("{p}.failover_status_codes"),
            codes
                .iter()
                .map(i32::to_string)
                .collect::<Vec<_>>()
                .join(","),
        );
    }
    for e in c
        .custom_error_responses()
        .map(|e| e.items())
        .unwrap_or_default()
    {
        let p = format!("error_responses[{}]", e.error_code());
        // CloudFront caches an error 10 s when ErrorCachingMinTTL is absent.
        f.insert(
            format!("{p}.caching_min_ttl"),
            format!(
                "{}s",
                e.error_caching_min_ttl()
                    .unwrap_or(config::ErrorResponse::DEFAULT_CACHING_MIN_TTL as i64)
            ),
        );
        if let Some(page) = e.response_page_path().filter(|p| !p.is_empty()) {
            f.insert(format!("{p}.page"), page.to_string());
        }
        if let Some(code) = e.response_code().filter(|c| !c.is_empty()) {
            f.insert(format!("{p}.response_code"), code.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::distribution::{Inputs, build, flatten as flatten_all, secret_digest};

    const EDGE: &str = r#"
name = "edge"
region = "eu-west-1"

[[origins]]
id = "blue"
domain = "blue.example.com"
origin_shield_region = "eu-west-1"

[[origins]]
id = "green"
domain = "green.example.com"

[[origin_groups]]
id = "site"
primary = "blue"
secondary = "green"

[[origin_groups]]
id = "pages"
primary = "green"
secondary = "blue"
failover_status_codes = [404, 503]

[default_behavior]
origin = "site"
allowed_methods = "get-head-options"

[[behaviors]]
path_pattern = "/write/*"
origin = "blue"

[[error_responses]]
code = 503
caching_min_ttl = 0

[[error_responses]]
code = 404
caching_min_ttl = 300
page = "/errors/404.html"
response_code = 404
"#;

    fn edge() -> StackConfig {
        StackConfig::parse(EDGE, "edge.toml").expect("the edge config is valid")
    }

    fn inputs() -> Inputs<'static> {
        Inputs {
            caller_reference: "cfrp-edge-distribution",
            origin_secret: "s3cret",
            realtime_log_config_arn: None,
            viewer_request_function_arn: "arn:aws:cloudfront::123456789012:function/cfrp-edge-viewer-request",
            custom_cache_policies: &[],
            web_acl_arn: None,
            response_headers_policy: None,
        }
    }

    #[test]
    fn groups_error_responses_and_origin_shield_are_built_and_flattened() {
        let built = build(&edge(), &inputs()).expect("builds");
        let f = flatten_all(&built);
        let get = |k: &str| f.get(k).map(String::as_str).unwrap_or("<missing>");
        assert_eq!(get("origin_groups[site].members"), "blue then green");
        assert_eq!(
            get("origin_groups[site].failover_status_codes"),
            "500,502,503,504"
        );
        assert_eq!(get("origin_groups[pages].members"), "green then blue");
        assert_eq!(get("origin_groups[pages].failover_status_codes"), "404,503");
        assert_eq!(get("behaviors[default].origin"), "site");
        assert_eq!(
            get("behaviors[default].allowed_methods"),
            "GET,HEAD,OPTIONS"
        );
        assert_eq!(get("error_responses[503].caching_min_ttl"), "0s");
        assert_eq!(get("error_responses[503].page"), "<missing>");
        assert_eq!(get("error_responses[404].caching_min_ttl"), "300s");
        assert_eq!(get("error_responses[404].page"), "/errors/404.html");
        assert_eq!(get("error_responses[404].response_code"), "404");
        assert_eq!(get("origins[blue].origin_shield"), "eu-west-1");
        assert_eq!(get("origins[green].origin_shield"), "off");
        // Both members of a group are origins of the distribution, each with the secret.
        for id in ["blue", "green"] {
            assert_eq!(
                get(&format!("origins[{id}].header[X-Origin-Verify]")),
                secret_digest("s3cret")
            );
        }
        let built_group = built
            .origin_groups()
            .map(|g| g.items())
            .unwrap_or_default()
            .first()
            .cloned();
        let members: Vec<String> = built_group
            .and_then(|g| g.members().cloned())
            .map(|m| {
                m.items()
                    .iter()
                    .map(|m| m.origin_id().to_string())
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(members, ["blue", "green"]);
    }

    #[test]
    fn the_secret_is_chosen_across_every_origin_of_a_group() {
        let built = build(&edge(), &inputs()).expect("builds");
        let carried = crate::spec::secret::origin_secrets(&built);
        assert_eq!(
            carried,
            vec![
                ("blue".to_string(), Some("s3cret".to_string())),
                ("green".to_string(), Some("s3cret".to_string())),
            ]
        );
        let choice = crate::spec::secret::choose(Some(&built), || Err::<String, ()>(()));
        assert_eq!(
            choice,
            Ok(crate::spec::secret::Choice::Kept("s3cret".to_string()))
        );
    }

    #[test]
    fn a_distribution_without_groups_or_error_responses_flattens_none() {
        let mut config = edge();
        config.origin_groups.clear();
        config.error_responses.clear();
        config.default_behavior.origin = "blue".to_string();
        config.origins[0].origin_shield_region = None;
        let built = build(&config, &inputs()).expect("builds");
        assert_eq!(built.origin_groups().map(|g| g.quantity()), Some(0));
        assert_eq!(
            built.custom_error_responses().map(|e| e.quantity()),
            Some(0)
        );
        let f = flatten_all(&built);
        assert!(
            !f.keys()
                .any(|k| k.starts_with("origin_groups") || k.starts_with("error_responses")),
            "{f:?}"
        );
        assert_eq!(
            f.get("origins[blue].origin_shield").map(String::as_str),
            Some("off")
        );
    }

    #[test]
    fn an_origin_without_origin_shield_in_the_returned_config_reads_as_off() {
        let o = Origin::builder()
            .id("o")
            .domain_name("o.example.com")
            .build()
            .expect("builds");
        assert_eq!(flatten_origin_shield(&o), "off");
        let o = Origin::builder()
            .id("o")
            .domain_name("o.example.com")
            .origin_shield(
                OriginShield::builder()
                    .enabled(false)
                    .build()
                    .expect("builds"),
            )
            .build()
            .expect("builds");
        assert_eq!(flatten_origin_shield(&o), "off");
    }

    #[test]
    fn an_error_response_without_caching_min_ttl_reads_as_cloudfronts_10_seconds() {
        let c = DistributionConfig::builder()
            .caller_reference("r")
            .comment("")
            .enabled(true)
            .custom_error_responses(
                CustomErrorResponses::builder()
                    .quantity(1)
                    .items(
                        CustomErrorResponse::builder()
                            .error_code(502)
                            .build()
                            .expect("builds"),
                    )
                    .build()
                    .expect("builds"),
            )
            .build()
            .expect("builds");
        let mut f = Fields::new();
        flatten(&c, &mut f);
        assert_eq!(
            f.get("error_responses[502].caching_min_ttl")
                .map(String::as_str),
            Some("10s")
        );
    }
}
