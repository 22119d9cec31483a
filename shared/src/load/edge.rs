//! `[[origin_groups]]`, `[[error_responses]]` and what they ask of behaviours: the parts of
//! the distribution that decide what a viewer gets when an origin fails.

use std::collections::HashSet;

use super::{any_string, number, required};
use crate::checks;
use crate::error::Report;
use crate::reader::{At, TableReader};
use crate::schema::{AllowedMethods, ErrorResponse, OriginGroup};

/// An origin or origin group id: what CloudFront accepts for both.
fn id_ok(id: &str) -> bool {
    id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn list(codes: &[u16]) -> String {
    codes
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every `[[origin_groups]]` entry; `origin_ids` are the `[[origins]]` ids.
pub(super) fn read_origin_groups(
    tables: Vec<TableReader>,
    r: &mut Report,
    origin_ids: &[String],
) -> Vec<OriginGroup> {
    let mut groups: Vec<OriginGroup> = Vec::new();
    for mut t in tables {
        let id = required(
            &mut t,
            "id",
            r,
            any_string,
            "`id = ...` (the name behaviours use in `origin` to route to this group)",
        );
        if let Some(id) = &id {
            if !id_ok(&id.value) {
                r.add(
                    &id.path,
                    id.span.clone(),
                    format!(
                        "\"{}\" is not valid; use up to 128 letters, digits, - and _",
                        id.value
                    ),
                );
            } else if origin_ids.contains(&id.value) {
                r.add(&id.path, id.span.clone(), format!("\"{}\" is already an origin's id; origins and origin groups share one set of ids, so give the group another", id.value));
            } else if groups.iter().any(|g| g.id == id.value) {
                r.add(
                    &id.path,
                    id.span.clone(),
                    format!(
                        "origin group id \"{}\" is used twice; ids must be unique",
                        id.value
                    ),
                );
            }
        }
        let primary = member(&mut t, "primary", r, origin_ids);
        let secondary = member(&mut t, "secondary", r, origin_ids);
        if let (Some(p), Some(s)) = (&primary, &secondary)
            && p.value == s.value
        {
            r.add(&s.path, s.span.clone(), format!("\"{}\" is the primary too; a group fails over to another origin, so name a different one", s.value));
        }
        let failover_status_codes = match t.integers("failover_status_codes", r) {
            Some(codes) => status_codes(&mut t, r, codes),
            None => OriginGroup::DEFAULT_FAILOVER_STATUS_CODES.to_vec(),
        };
        t.finish(r);
        groups.push(OriginGroup {
            id: id.map_or_else(String::new, |a| a.value),
            primary: primary.map_or_else(String::new, |a| a.value),
            secondary: secondary.map_or_else(String::new, |a| a.value),
            failover_status_codes,
        });
    }
    groups
}

/// `primary` or `secondary`: an origin id (not a group's: CloudFront groups origins only).
fn member(
    t: &mut TableReader,
    key: &'static str,
    r: &mut Report,
    origin_ids: &[String],
) -> Option<At<String>> {
    let at = required(
        t,
        key,
        r,
        any_string,
        &format!("`{key} = \"ORIGIN_ID\"` (one of {})", origin_ids.join(", ")),
    )?;
    if origin_ids.contains(&at.value) {
        Some(at)
    } else {
        r.add(
            &at.path,
            at.span.clone(),
            format!(
                "no origin has id \"{}\"; a group's members are [[origins]] ids: {}",
                at.value,
                origin_ids.join(", ")
            ),
        );
        None
    }
}

fn status_codes(t: &mut TableReader, r: &mut Report, codes: Vec<At<i64>>) -> Vec<u16> {
    let mut out: Vec<u16> = Vec::new();
    for code in codes {
        match u16::try_from(code.value) {
            Ok(c) if checks::FAILOVER_STATUS_CODES.contains(&c) => {
                if out.contains(&c) {
                    r.add(&code.path, code.span, format!("{c} is listed twice"));
                } else {
                    out.push(c);
                }
            }
            _ => r.add(
                &code.path,
                code.span,
                format!(
                    "{} is not a status code CloudFront fails over on; use some of {}",
                    code.value,
                    list(checks::FAILOVER_STATUS_CODES)
                ),
            ),
        }
    }
    if out.is_empty() {
        r.add(
            &t.path_of("failover_status_codes"),
            t.span(),
            format!(
                "name at least one status code, or remove the key for the default {}",
                list(&OriginGroup::DEFAULT_FAILOVER_STATUS_CODES)
            ),
        );
        return OriginGroup::DEFAULT_FAILOVER_STATUS_CODES.to_vec();
    }
    out
}

/// Called by the behaviour reader when a behaviour's `origin` names a group: CloudFront fails
/// over GET, HEAD and OPTIONS only, and refuses an origin group behind a behaviour that
/// allows other methods (InvalidArgument: AllowedMethods cannot include POST, PUT, PATCH or
/// DELETE for a cache behaviour associated with an origin group).
pub(super) fn check_group_methods(
    t: &mut TableReader,
    r: &mut Report,
    group: &str,
    allowed: AllowedMethods,
) {
    if allowed != AllowedMethods::All {
        return;
    }
    let (path, span) = match t.string("allowed_methods", &mut Report::new("")) {
        Some(at) => (at.path, at.span),
        None => (t.path_of("allowed_methods"), t.span()),
    };
    r.add(&path, span, format!("this behaviour routes to origin group \"{group}\" and allows every method; CloudFront fails over only GET, HEAD and OPTIONS and refuses a group behind a behaviour that allows PUT, POST, PATCH or DELETE; set allowed_methods = \"get-head\" or \"get-head-options\", or route writes to one origin in their own behaviour"));
}

/// Every `[[error_responses]]` entry.
pub(super) fn read_error_responses(tables: Vec<TableReader>, r: &mut Report) -> Vec<ErrorResponse> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for mut t in tables {
        let code = match t.integer("code", r) {
            Some(at) => match u16::try_from(at.value) {
                Ok(c) if checks::ERROR_RESPONSE_CODES.contains(&c) => {
                    if !seen.insert(c) {
                        r.add(&at.path, at.span, format!("{c} has an error response already; CloudFront takes one per code, so merge the two"));
                    }
                    Some(c)
                }
                _ => {
                    r.add(
                        &at.path,
                        at.span,
                        format!(
                            "{} is not an error code CloudFront lets you configure; use one of {}",
                            at.value,
                            list(checks::ERROR_RESPONSE_CODES)
                        ),
                    );
                    None
                }
            },
            None => {
                if !t.contains("code") {
                    r.add(
                        &t.path_of("code"),
                        t.span(),
                        format!(
                            "missing; add `code = 503` (one of {})",
                            list(checks::ERROR_RESPONSE_CODES)
                        ),
                    );
                }
                None
            }
        };
        let caching_min_ttl = number(
            &mut t,
            "caching_min_ttl",
            r,
            0..=31_536_000,
            " seconds",
            ErrorResponse::DEFAULT_CACHING_MIN_TTL as i64,
        );
        let page = t.string("page", r);
        if let Some(p) = &page
            && let Err(rule) = checks::error_page_path(&p.value)
        {
            r.add(
                &p.path,
                p.span.clone(),
                format!("\"{}\" is not valid; expected {rule}", p.value),
            );
        }
        let response_code = match t.integer("response_code", r) {
            Some(at) => match u16::try_from(at.value) {
                Ok(c) if checks::ERROR_PAGE_RESPONSE_CODES.contains(&c) => {
                    if page.is_none() {
                        r.add(&at.path, at.span, "a response code only applies with a page; add `page = \"/errors/...\"` (CloudFront answers the page with this code) or remove response_code");
                    }
                    Some(c)
                }
                _ => {
                    r.add(
                        &at.path,
                        at.span,
                        format!(
                            "{} is not a code CloudFront answers an error page with; use one of {}",
                            at.value,
                            list(checks::ERROR_PAGE_RESPONSE_CODES)
                        ),
                    );
                    None
                }
            },
            None => None,
        };
        if let Some(p) = &page
            && !t.contains("response_code")
        {
            r.add(&p.path, p.span.clone(), "a page needs response_code too (CloudFront takes both or neither): the status the viewer gets with the page, e.g. the error's own code, or 200");
        }
        t.finish(r);
        if let Some(code) = code {
            out.push(ErrorResponse {
                code,
                caching_min_ttl: u64::try_from(caching_min_ttl).unwrap_or_default(),
                page: page.map(|p| p.value),
                response_code,
            });
        }
    }
    out
}
