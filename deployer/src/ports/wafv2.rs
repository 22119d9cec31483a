//! WAFv2 web ACLs and IP sets of scope CLOUDFRONT (which AWS keeps in us-east-1): the port,
//! its SDK adapter and the fake account's web ACLs and IP sets.
//!
//! WAF guards every update and delete with a lock token: the token the last read answered.
//! A write with an older token is refused with `WAFOptimisticLockException`; the caller
//! re-reads and tries again ([`is_lock_conflict`]).

use std::collections::BTreeMap;

use aws_sdk_wafv2::primitives::Blob;
use aws_sdk_wafv2::types as waf;

use super::PortFuture;
use super::fake::{FakeAccount, refused};
use crate::error::DeployError;

/// A web ACL or IP set as WAF names it: name, id and ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub name: String,
    pub id: String,
    pub arn: String,
}

/// An IP set's addresses (CIDR) and the lock token of this read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpSet {
    pub found: Found,
    pub ipv6: bool,
    pub addresses: Vec<String>,
    pub description: String,
    pub lock_token: String,
}

/// What a rule does with a request its statement matches. A rule group's rule has an
/// override action instead: `UseGroup` (WAF's `None`: the group's own actions) or `Count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleAction {
    Allow,
    Block,
    Count,
    UseGroup,
}

impl RuleAction {
    pub fn as_str(self) -> &'static str {
        match self {
            RuleAction::Allow => "allow",
            RuleAction::Block => "block",
            RuleAction::Count => "count",
            RuleAction::UseGroup => "group's own",
        }
    }
}

/// The statements the stack's rules use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Statement {
    /// Matches addresses in any of these IP sets (one set: an IP set reference statement;
    /// several: an OR of references).
    IpSets(Vec<String>),
    /// Per client IP, more than `limit` requests in `window_seconds`; only requests whose URI
    /// path starts with `path_prefix` count, when set.
    RateBased {
        limit: i64,
        window_seconds: i64,
        path_prefix: Option<String>,
    },
    /// A managed rule group.
    Managed { vendor: String, name: String },
    /// A statement the deployer does not write (someone edited the ACL): its text, so it
    /// shows as a change.
    Other(String),
}

/// One rule of a web ACL; its CloudWatch metric is named `metric_name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub name: String,
    pub priority: i32,
    pub action: RuleAction,
    pub statement: Statement,
    pub metric_name: String,
}

/// A web ACL (default action allow) and the lock token of this read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebAcl {
    pub found: Found,
    pub description: String,
    /// The metric of requests no rule matched (the ACL's own visibility config).
    pub metric_name: String,
    /// Whether the default action is allow.
    pub default_allow: bool,
    pub rules: Vec<Rule>,
    pub lock_token: String,
}

/// What a create or update writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclSpec {
    pub name: String,
    pub description: String,
    pub metric_name: String,
    pub rules: Vec<Rule>,
}

/// Whether an error is WAF refusing a write made with a stale lock token.
pub fn is_lock_conflict(error: &DeployError) -> bool {
    matches!(error, DeployError::Aws { message, .. } if message.starts_with("WAFOptimisticLockException"))
}

/// WAFv2 in scope CLOUDFRONT.
pub trait WebAcls: Send + Sync {
    /// The web ACL of that name, if any.
    fn find_web_acl<'a>(&'a self, name: &'a str) -> PortFuture<'a, Option<Found>>;
    /// The web ACL with its rules; None when it is gone.
    fn web_acl<'a>(&'a self, found: &'a Found) -> PortFuture<'a, Option<WebAcl>>;
    fn create_web_acl<'a>(
        &'a self,
        spec: &'a AclSpec,
        tags: Vec<(String, String)>,
    ) -> PortFuture<'a, Found>;
    /// Replaces description and rules; refused (a lock conflict) when `lock_token` is stale.
    fn update_web_acl<'a>(
        &'a self,
        found: &'a Found,
        spec: &'a AclSpec,
        lock_token: &'a str,
    ) -> PortFuture<'a, ()>;
    /// Deletes the web ACL; one already gone is not an error.
    fn delete_web_acl<'a>(&'a self, found: &'a Found, lock_token: &'a str) -> PortFuture<'a, ()>;
    /// The IP set of that name, if any.
    fn find_ip_set<'a>(&'a self, name: &'a str) -> PortFuture<'a, Option<Found>>;
    /// The IP set with its addresses; None when it is gone.
    fn ip_set<'a>(&'a self, found: &'a Found) -> PortFuture<'a, Option<IpSet>>;
    fn create_ip_set<'a>(
        &'a self,
        name: &'a str,
        ipv6: bool,
        addresses: &'a [String],
        description: &'a str,
        tags: Vec<(String, String)>,
    ) -> PortFuture<'a, Found>;
    /// Replaces the addresses; refused (a lock conflict) when `lock_token` is stale.
    fn update_ip_set<'a>(
        &'a self,
        found: &'a Found,
        addresses: &'a [String],
        description: &'a str,
        lock_token: &'a str,
    ) -> PortFuture<'a, ()>;
    /// Deletes the IP set; one already gone is not an error.
    fn delete_ip_set<'a>(&'a self, found: &'a Found, lock_token: &'a str) -> PortFuture<'a, ()>;
}

// ------------------------------------------------------------------ the SDK adapter

/// WAFv2 through `aws-sdk-wafv2`, its client pinned to us-east-1 (scope CLOUDFRONT lives
/// there only).
pub struct SdkWebAcls(pub aws_sdk_wafv2::Client);

fn visibility(metric_name: &str) -> Result<waf::VisibilityConfig, DeployError> {
    Ok(waf::VisibilityConfig::builder()
        .sampled_requests_enabled(true)
        .cloud_watch_metrics_enabled(true)
        .metric_name(metric_name)
        .build()?)
}

fn ip_set_reference(arn: &str) -> Result<waf::Statement, DeployError> {
    Ok(waf::Statement::builder()
        .ip_set_reference_statement(waf::IpSetReferenceStatement::builder().arn(arn).build()?)
        .build())
}

fn sdk_statement(statement: &Statement) -> Result<waf::Statement, DeployError> {
    Ok(match statement {
        Statement::IpSets(arns) if arns.len() == 1 => ip_set_reference(&arns[0])?,
        Statement::IpSets(arns) => waf::Statement::builder()
            .or_statement(
                waf::OrStatement::builder()
                    .set_statements(Some(
                        arns.iter()
                            .map(|arn| ip_set_reference(arn))
                            .collect::<Result<Vec<_>, _>>()?,
                    ))
                    .build()?,
            )
            .build(),
        Statement::RateBased {
            limit,
            window_seconds,
            path_prefix,
        } => {
            let mut rate = waf::RateBasedStatement::builder()
                .limit(*limit)
                .evaluation_window_sec(*window_seconds)
                .aggregate_key_type(waf::RateBasedStatementAggregateKeyType::Ip);
            if let Some(prefix) = path_prefix {
                rate = rate.scope_down_statement(
                    waf::Statement::builder()
                        .byte_match_statement(
                            waf::ByteMatchStatement::builder()
                                .search_string(Blob::new(prefix.as_bytes()))
                                .field_to_match(
                                    waf::FieldToMatch::builder()
                                        .uri_path(waf::UriPath::builder().build())
                                        .build(),
                                )
                                .text_transformations(
                                    waf::TextTransformation::builder()
                                        .priority(0)
                                        .r#type(waf::TextTransformationType::None)
                                        .build()?,
                                )
                                .positional_constraint(waf::PositionalConstraint::StartsWith)
                                .build()?,
                        )
                        .build(),
                );
            }
            waf::Statement::builder()
                .rate_based_statement(rate.build()?)
                .build()
        }
        Statement::Managed { vendor, name } => waf::Statement::builder()
            .managed_rule_group_statement(
                waf::ManagedRuleGroupStatement::builder()
                    .vendor_name(vendor)
                    .name(name)
                    .build()?,
            )
            .build(),
        Statement::Other(text) => {
            return Err(DeployError::state(
                text,
                "the deployer only writes the statements of its own rules (a bug)",
            ));
        }
    })
}

fn sdk_rule(rule: &Rule) -> Result<waf::Rule, DeployError> {
    let mut builder = waf::Rule::builder()
        .name(&rule.name)
        .priority(rule.priority)
        .statement(sdk_statement(&rule.statement)?)
        .visibility_config(visibility(&rule.metric_name)?);
    builder = match rule.action {
        RuleAction::Allow => builder.action(
            waf::RuleAction::builder()
                .allow(waf::AllowAction::builder().build())
                .build(),
        ),
        RuleAction::Block => builder.action(
            waf::RuleAction::builder()
                .block(waf::BlockAction::builder().build())
                .build(),
        ),
        RuleAction::Count if matches!(rule.statement, Statement::Managed { .. }) => builder
            .override_action(
                waf::OverrideAction::builder()
                    .count(waf::CountAction::builder().build())
                    .build(),
            ),
        RuleAction::Count => builder.action(
            waf::RuleAction::builder()
                .count(waf::CountAction::builder().build())
                .build(),
        ),
        RuleAction::UseGroup => builder.override_action(
            waf::OverrideAction::builder()
                .none(waf::NoneAction::builder().build())
                .build(),
        ),
    };
    Ok(builder.build()?)
}

/// The statement as the deployer's own, or `Other` with its text.
fn read_statement(statement: Option<&waf::Statement>) -> Statement {
    let Some(s) = statement else {
        return Statement::Other("(none)".to_string());
    };
    if let Some(reference) = s.ip_set_reference_statement() {
        return Statement::IpSets(vec![reference.arn().to_string()]);
    }
    if let Some(or) = s.or_statement() {
        let arns: Option<Vec<String>> = or
            .statements()
            .iter()
            .map(|inner| {
                inner
                    .ip_set_reference_statement()
                    .map(|r| r.arn().to_string())
            })
            .collect();
        if let Some(arns) = arns {
            return Statement::IpSets(arns);
        }
    }
    if let Some(rate) = s.rate_based_statement() {
        let scope_down = rate.scope_down_statement();
        let path_prefix = scope_down
            .and_then(|d| d.byte_match_statement())
            .filter(|m| {
                m.positional_constraint() == &waf::PositionalConstraint::StartsWith
                    && m.field_to_match().and_then(|f| f.uri_path()).is_some()
            })
            .map(|m| String::from_utf8_lossy(m.search_string().as_ref()).to_string());
        if scope_down.is_none() || path_prefix.is_some() {
            return Statement::RateBased {
                limit: rate.limit(),
                window_seconds: rate.evaluation_window_sec(),
                path_prefix,
            };
        }
    }
    if let Some(group) = s.managed_rule_group_statement() {
        return Statement::Managed {
            vendor: group.vendor_name().to_string(),
            name: group.name().to_string(),
        };
    }
    Statement::Other(format!("{s:?}"))
}

fn read_rule(rule: &waf::Rule) -> Rule {
    let action = match (rule.action(), rule.override_action()) {
        (Some(a), _) if a.allow().is_some() => RuleAction::Allow,
        (Some(a), _) if a.block().is_some() => RuleAction::Block,
        (Some(a), _) if a.count().is_some() => RuleAction::Count,
        (_, Some(o)) if o.count().is_some() => RuleAction::Count,
        _ => RuleAction::UseGroup,
    };
    Rule {
        name: rule.name().to_string(),
        priority: rule.priority(),
        action,
        statement: read_statement(rule.statement()),
        metric_name: rule
            .visibility_config()
            .map(|v| v.metric_name().to_string())
            .unwrap_or_default(),
    }
}

fn sdk_tags(tags: Vec<(String, String)>) -> Result<Vec<waf::Tag>, DeployError> {
    tags.into_iter()
        .map(|(k, v)| Ok(waf::Tag::builder().key(k).value(v).build()?))
        .collect()
}

impl WebAcls for SdkWebAcls {
    fn find_web_acl<'a>(&'a self, name: &'a str) -> PortFuture<'a, Option<Found>> {
        Box::pin(async move {
            let mut marker: Option<String> = None;
            loop {
                let out = self
                    .0
                    .list_web_acls()
                    .scope(waf::Scope::Cloudfront)
                    .limit(100)
                    .set_next_marker(marker.clone())
                    .send()
                    .await
                    .map_err(|e| DeployError::aws("wafv2:ListWebACLs", name, e))?;
                if let Some(acl) = out.web_acls().iter().find(|a| a.name() == Some(name)) {
                    return Ok(Some(Found {
                        name: name.to_string(),
                        id: acl.id().unwrap_or_default().to_string(),
                        arn: acl.arn().unwrap_or_default().to_string(),
                    }));
                }
                // WAF answers a marker on every page; an empty page is the last.
                marker = out.next_marker().map(str::to_string);
                if marker.is_none() || out.web_acls().is_empty() {
                    return Ok(None);
                }
            }
        })
    }

    fn web_acl<'a>(&'a self, found: &'a Found) -> PortFuture<'a, Option<WebAcl>> {
        Box::pin(async move {
            let out = crate::resources::found(
                self.0
                    .get_web_acl()
                    .name(&found.name)
                    .id(&found.id)
                    .scope(waf::Scope::Cloudfront)
                    .send()
                    .await,
                |e| e.is_waf_nonexistent_item_exception(),
                "wafv2:GetWebACL",
                &found.name,
            )?;
            Ok(out.and_then(|out| {
                let lock_token = out.lock_token().unwrap_or_default().to_string();
                out.web_acl.map(|acl| WebAcl {
                    found: found.clone(),
                    description: acl.description().unwrap_or_default().to_string(),
                    metric_name: acl
                        .visibility_config()
                        .map(|v| v.metric_name().to_string())
                        .unwrap_or_default(),
                    default_allow: acl.default_action().is_some_and(|d| d.allow().is_some()),
                    rules: acl.rules().iter().map(read_rule).collect(),
                    lock_token,
                })
            }))
        })
    }

    fn create_web_acl<'a>(
        &'a self,
        spec: &'a AclSpec,
        tags: Vec<(String, String)>,
    ) -> PortFuture<'a, Found> {
        Box::pin(async move {
            let rules = spec
                .rules
                .iter()
                .map(sdk_rule)
                .collect::<Result<Vec<_>, _>>()?;
            let out = self
                .0
                .create_web_acl()
                .name(&spec.name)
                .scope(waf::Scope::Cloudfront)
                .description(&spec.description)
                .default_action(
                    waf::DefaultAction::builder()
                        .allow(waf::AllowAction::builder().build())
                        .build(),
                )
                .visibility_config(visibility(&spec.metric_name)?)
                .set_rules(Some(rules))
                .set_tags(Some(sdk_tags(tags)?))
                .send()
                .await
                .map_err(|e| DeployError::aws("wafv2:CreateWebACL", &spec.name, e))?;
            let summary = out
                .summary
                .unwrap_or_else(|| waf::WebAclSummary::builder().build());
            Ok(Found {
                name: spec.name.clone(),
                id: summary.id().unwrap_or_default().to_string(),
                arn: summary.arn().unwrap_or_default().to_string(),
            })
        })
    }

    fn update_web_acl<'a>(
        &'a self,
        found: &'a Found,
        spec: &'a AclSpec,
        lock_token: &'a str,
    ) -> PortFuture<'a, ()> {
        Box::pin(async move {
            let rules = spec
                .rules
                .iter()
                .map(sdk_rule)
                .collect::<Result<Vec<_>, _>>()?;
            self.0
                .update_web_acl()
                .name(&found.name)
                .id(&found.id)
                .scope(waf::Scope::Cloudfront)
                .description(&spec.description)
                .default_action(
                    waf::DefaultAction::builder()
                        .allow(waf::AllowAction::builder().build())
                        .build(),
                )
                .visibility_config(visibility(&spec.metric_name)?)
                .set_rules(Some(rules))
                .lock_token(lock_token)
                .send()
                .await
                .map_err(|e| DeployError::aws("wafv2:UpdateWebACL", &found.name, e))?;
            Ok(())
        })
    }

    fn delete_web_acl<'a>(&'a self, found: &'a Found, lock_token: &'a str) -> PortFuture<'a, ()> {
        Box::pin(async move {
            super::gone_is_fine(
                self.0
                    .delete_web_acl()
                    .name(&found.name)
                    .id(&found.id)
                    .scope(waf::Scope::Cloudfront)
                    .lock_token(lock_token)
                    .send()
                    .await,
                |e| e.is_waf_nonexistent_item_exception(),
                "wafv2:DeleteWebACL",
                &found.name,
            )
        })
    }

    fn find_ip_set<'a>(&'a self, name: &'a str) -> PortFuture<'a, Option<Found>> {
        Box::pin(async move {
            let mut marker: Option<String> = None;
            loop {
                let out = self
                    .0
                    .list_ip_sets()
                    .scope(waf::Scope::Cloudfront)
                    .limit(100)
                    .set_next_marker(marker.clone())
                    .send()
                    .await
                    .map_err(|e| DeployError::aws("wafv2:ListIPSets", name, e))?;
                if let Some(set) = out.ip_sets().iter().find(|s| s.name() == Some(name)) {
                    return Ok(Some(Found {
                        name: name.to_string(),
                        id: set.id().unwrap_or_default().to_string(),
                        arn: set.arn().unwrap_or_default().to_string(),
                    }));
                }
                marker = out.next_marker().map(str::to_string);
                if marker.is_none() || out.ip_sets().is_empty() {
                    return Ok(None);
                }
            }
        })
    }

    fn ip_set<'a>(&'a self, found: &'a Found) -> PortFuture<'a, Option<IpSet>> {
        Box::pin(async move {
            let out = crate::resources::found(
                self.0
                    .get_ip_set()
                    .name(&found.name)
                    .id(&found.id)
                    .scope(waf::Scope::Cloudfront)
                    .send()
                    .await,
                |e| e.is_waf_nonexistent_item_exception(),
                "wafv2:GetIPSet",
                &found.name,
            )?;
            Ok(out.and_then(|out| {
                let lock_token = out.lock_token().unwrap_or_default().to_string();
                out.ip_set.map(|set| IpSet {
                    found: found.clone(),
                    ipv6: set.ip_address_version() == &waf::IpAddressVersion::Ipv6,
                    addresses: set.addresses().to_vec(),
                    description: set.description().unwrap_or_default().to_string(),
                    lock_token,
                })
            }))
        })
    }

    fn create_ip_set<'a>(
        &'a self,
        name: &'a str,
        ipv6: bool,
        addresses: &'a [String],
        description: &'a str,
        tags: Vec<(String, String)>,
    ) -> PortFuture<'a, Found> {
        Box::pin(async move {
            let out = self
                .0
                .create_ip_set()
                .name(name)
                .scope(waf::Scope::Cloudfront)
                .description(description)
                .ip_address_version(if ipv6 {
                    waf::IpAddressVersion::Ipv6
                } else {
                    waf::IpAddressVersion::Ipv4
                })
                .set_addresses(Some(addresses.to_vec()))
                .set_tags(Some(sdk_tags(tags)?))
                .send()
                .await
                .map_err(|e| DeployError::aws("wafv2:CreateIPSet", name, e))?;
            let summary = out
                .summary
                .unwrap_or_else(|| waf::IpSetSummary::builder().build());
            Ok(Found {
                name: name.to_string(),
                id: summary.id().unwrap_or_default().to_string(),
                arn: summary.arn().unwrap_or_default().to_string(),
            })
        })
    }

    fn update_ip_set<'a>(
        &'a self,
        found: &'a Found,
        addresses: &'a [String],
        description: &'a str,
        lock_token: &'a str,
    ) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.0
                .update_ip_set()
                .name(&found.name)
                .id(&found.id)
                .scope(waf::Scope::Cloudfront)
                .description(description)
                .set_addresses(Some(addresses.to_vec()))
                .lock_token(lock_token)
                .send()
                .await
                .map_err(|e| DeployError::aws("wafv2:UpdateIPSet", &found.name, e))?;
            Ok(())
        })
    }

    fn delete_ip_set<'a>(&'a self, found: &'a Found, lock_token: &'a str) -> PortFuture<'a, ()> {
        Box::pin(async move {
            super::gone_is_fine(
                self.0
                    .delete_ip_set()
                    .name(&found.name)
                    .id(&found.id)
                    .scope(waf::Scope::Cloudfront)
                    .lock_token(lock_token)
                    .send()
                    .await,
                |e| e.is_waf_nonexistent_item_exception(),
                "wafv2:DeleteIPSet",
                &found.name,
            )
        })
    }
}

// ------------------------------------------------------------------ the fake account

/// The fake account's CLOUDFRONT-scope web ACLs and IP sets, by name.
#[derive(Debug, Default)]
pub struct FakeWafv2 {
    pub(super) acls: BTreeMap<String, WebAcl>,
    pub(super) ip_sets: BTreeMap<String, IpSet>,
    pub(super) tags: BTreeMap<String, Vec<(String, String)>>,
    /// How many lock tokens were handed out (each write answers a new one).
    tokens: u64,
    /// Name → how many more writes find the token changed by someone else first.
    races: BTreeMap<String, u32>,
}

impl FakeWafv2 {
    fn token(&mut self) -> String {
        self.tokens += 1;
        format!("token-{}", self.tokens)
    }

    /// Whether a concurrent writer got in first (as a test asked): it changes the lock token.
    fn raced(&mut self, name: &str) -> bool {
        match self.races.get_mut(name) {
            Some(left) if *left > 0 => {
                *left -= 1;
                true
            }
            _ => false,
        }
    }
}

const NONEXISTENT: &str = "WAFNonexistentItemException: AWS WAF couldn’t perform the operation because your resource doesn’t exist.";
const STALE: &str = "WAFOptimisticLockException: AWS WAF couldn’t save your changes because someone changed the resource after you started to edit it. Reapply your changes.";
const DUPLICATE: &str = "WAFDuplicateItemException: AWS WAF couldn’t perform the operation because some resource in your request is a duplicate of an existing one.";

impl FakeAccount {
    /// The web ACL of that name, if any.
    pub fn fake_web_acl(&self, name: &str) -> Option<WebAcl> {
        self.state().wafv2.acls.get(name).cloned()
    }

    /// The IP set of that name, if any.
    pub fn fake_ip_set(&self, name: &str) -> Option<IpSet> {
        self.state().wafv2.ip_sets.get(name).cloned()
    }

    /// The next `times` writes of the web ACL or IP set `name` find that someone else wrote
    /// it since it was read: WAF refuses them as made with a stale lock token.
    pub fn race_waf(&self, name: &str, times: u32) {
        self.state().wafv2.races.insert(name.to_string(), times);
    }

    /// Changes an IP set behind the deployer's back (a new lock token, as WAF gives).
    pub fn edit_ip_set(&self, name: &str, edit: impl FnOnce(&mut IpSet)) {
        let mut state = self.state();
        let token = state.wafv2.token();
        if let Some(set) = state.wafv2.ip_sets.get_mut(name) {
            edit(set);
            set.lock_token = token;
        }
    }

    fn waf_arn(&self, kind: &str, name: &str) -> (String, String) {
        let id = format!("{:08x}", name.len() * 7919 + kind.len());
        let arn = format!(
            "arn:aws:wafv2:us-east-1:{}:global/{kind}/{name}/{id}",
            self.account
        );
        (id, arn)
    }
}

impl WebAcls for FakeAccount {
    fn find_web_acl<'a>(&'a self, name: &'a str) -> PortFuture<'a, Option<Found>> {
        Box::pin(async move {
            self.call("wafv2:ListWebACLs", name)?;
            Ok(self
                .state()
                .wafv2
                .acls
                .get(name)
                .map(|acl| acl.found.clone()))
        })
    }

    fn web_acl<'a>(&'a self, found: &'a Found) -> PortFuture<'a, Option<WebAcl>> {
        Box::pin(async move {
            self.call("wafv2:GetWebACL", &found.name)?;
            Ok(self
                .state()
                .wafv2
                .acls
                .get(&found.name)
                .filter(|acl| acl.found.id == found.id)
                .cloned())
        })
    }

    fn create_web_acl<'a>(
        &'a self,
        spec: &'a AclSpec,
        tags: Vec<(String, String)>,
    ) -> PortFuture<'a, Found> {
        Box::pin(async move {
            self.call("wafv2:CreateWebACL", &spec.name)?;
            let (id, arn) = self.waf_arn("webacl", &spec.name);
            let mut state = self.state();
            if state.wafv2.acls.contains_key(&spec.name) {
                return Err(refused("wafv2:CreateWebACL", &spec.name, DUPLICATE));
            }
            for rule in &spec.rules {
                if let Statement::IpSets(arns) = &rule.statement
                    && let Some(missing) = arns
                        .iter()
                        .find(|arn| !state.wafv2.ip_sets.values().any(|s| &s.found.arn == *arn))
                {
                    return Err(refused(
                        "wafv2:CreateWebACL",
                        &spec.name,
                        &format!("WAFNonexistentItemException: no IP set {missing}"),
                    ));
                }
            }
            let found = Found {
                name: spec.name.clone(),
                id,
                arn: arn.clone(),
            };
            let lock_token = state.wafv2.token();
            state.wafv2.acls.insert(
                spec.name.clone(),
                WebAcl {
                    found: found.clone(),
                    description: spec.description.clone(),
                    metric_name: spec.metric_name.clone(),
                    default_allow: true,
                    rules: spec.rules.clone(),
                    lock_token,
                },
            );
            state.wafv2.tags.insert(arn, tags);
            Ok(found)
        })
    }

    fn update_web_acl<'a>(
        &'a self,
        found: &'a Found,
        spec: &'a AclSpec,
        lock_token: &'a str,
    ) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.call("wafv2:UpdateWebACL", &found.name)?;
            let mut state = self.state();
            if state.wafv2.raced(&found.name) {
                let token = state.wafv2.token();
                if let Some(acl) = state.wafv2.acls.get_mut(&found.name) {
                    acl.lock_token = token;
                }
            }
            let token = state.wafv2.token();
            let acl = state
                .wafv2
                .acls
                .get_mut(&found.name)
                .ok_or_else(|| refused("wafv2:UpdateWebACL", &found.name, NONEXISTENT))?;
            if acl.lock_token != lock_token {
                return Err(refused("wafv2:UpdateWebACL", &found.name, STALE));
            }
            acl.description = spec.description.clone();
            acl.metric_name = spec.metric_name.clone();
            acl.rules = spec.rules.clone();
            acl.lock_token = token;
            Ok(())
        })
    }

    fn delete_web_acl<'a>(&'a self, found: &'a Found, lock_token: &'a str) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.call("wafv2:DeleteWebACL", &found.name)?;
            let mut state = self.state();
            match state.wafv2.acls.get(&found.name) {
                None => Ok(()),
                Some(acl) if acl.lock_token != lock_token => {
                    Err(refused("wafv2:DeleteWebACL", &found.name, STALE))
                }
                Some(_) => {
                    state.wafv2.acls.remove(&found.name);
                    state.wafv2.tags.remove(&found.arn);
                    Ok(())
                }
            }
        })
    }

    fn find_ip_set<'a>(&'a self, name: &'a str) -> PortFuture<'a, Option<Found>> {
        Box::pin(async move {
            self.call("wafv2:ListIPSets", name)?;
            Ok(self
                .state()
                .wafv2
                .ip_sets
                .get(name)
                .map(|set| set.found.clone()))
        })
    }

    fn ip_set<'a>(&'a self, found: &'a Found) -> PortFuture<'a, Option<IpSet>> {
        Box::pin(async move {
            self.call("wafv2:GetIPSet", &found.name)?;
            Ok(self.state().wafv2.ip_sets.get(&found.name).cloned())
        })
    }

    fn create_ip_set<'a>(
        &'a self,
        name: &'a str,
        ipv6: bool,
        addresses: &'a [String],
        description: &'a str,
        tags: Vec<(String, String)>,
    ) -> PortFuture<'a, Found> {
        Box::pin(async move {
            self.call("wafv2:CreateIPSet", name)?;
            let (id, arn) = self.waf_arn("ipset", name);
            let mut state = self.state();
            if state.wafv2.ip_sets.contains_key(name) {
                return Err(refused("wafv2:CreateIPSet", name, DUPLICATE));
            }
            let found = Found {
                name: name.to_string(),
                id,
                arn: arn.clone(),
            };
            let lock_token = state.wafv2.token();
            state.wafv2.ip_sets.insert(
                name.to_string(),
                IpSet {
                    found: found.clone(),
                    ipv6,
                    addresses: addresses.to_vec(),
                    description: description.to_string(),
                    lock_token,
                },
            );
            state.wafv2.tags.insert(arn, tags);
            Ok(found)
        })
    }

    fn update_ip_set<'a>(
        &'a self,
        found: &'a Found,
        addresses: &'a [String],
        description: &'a str,
        lock_token: &'a str,
    ) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.call("wafv2:UpdateIPSet", &found.name)?;
            let mut state = self.state();
            if state.wafv2.raced(&found.name) {
                let token = state.wafv2.token();
                if let Some(set) = state.wafv2.ip_sets.get_mut(&found.name) {
                    set.lock_token = token;
                }
            }
            let token = state.wafv2.token();
            let set = state
                .wafv2
                .ip_sets
                .get_mut(&found.name)
                .ok_or_else(|| refused("wafv2:UpdateIPSet", &found.name, NONEXISTENT))?;
            if set.lock_token != lock_token {
                return Err(refused("wafv2:UpdateIPSet", &found.name, STALE));
            }
            set.addresses = addresses.to_vec();
            set.description = description.to_string();
            set.lock_token = token;
            Ok(())
        })
    }

    fn delete_ip_set<'a>(&'a self, found: &'a Found, lock_token: &'a str) -> PortFuture<'a, ()> {
        Box::pin(async move {
            self.call("wafv2:DeleteIPSet", &found.name)?;
            let mut state = self.state();
            if state.wafv2.acls.values().any(|acl| {
                acl.rules.iter().any(|r| {
                    matches!(&r.statement, Statement::IpSets(arns) if arns.contains(&found.arn))
                })
            }) {
                return Err(refused(
                    "wafv2:DeleteIPSet",
                    &found.name,
                    "WAFAssociatedItemException: AWS WAF couldn’t perform the operation because your resource is being used by another resource or it’s associated with another resource.",
                ));
            }
            match state.wafv2.ip_sets.get(&found.name) {
                None => Ok(()),
                Some(set) if set.lock_token != lock_token => {
                    Err(refused("wafv2:DeleteIPSet", &found.name, STALE))
                }
                Some(_) => {
                    state.wafv2.ip_sets.remove(&found.name);
                    state.wafv2.tags.remove(&found.arn);
                    Ok(())
                }
            }
        })
    }
}
