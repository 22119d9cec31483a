//! The web ACL of `[waf]` and its IP sets, from the config alone. Pure.
//!
//! Rules, in evaluation order (WAF evaluates by priority, lowest first, and stops at the
//! first rule that allows or blocks):
//! 0. `allow-list`: addresses of the config's allow list are allowed, no later rule sees them;
//! 1. `block-list`: addresses on the stack's block list (`deployer block`) are blocked;
//! 2. `rate-limit`: a client IP above the limit in a 5-minute window is blocked while it
//!    stays above (optionally counting only requests under a path prefix);
//! 3. the AWS managed rule groups, in config order.
//!
//! Every rule can only count (`mode = "count"`): WAF then records the match in the rule's
//! metric and goes on to the next rule. Requests no rule stops are allowed.

use std::collections::BTreeMap;

use cfrp_config::{StackConfig, Waf, WafMode};

use crate::diff::Fields;
use crate::ports::wafv2::{AclSpec, Rule, RuleAction, Statement};
use crate::spec::KNOWN_AFTER_UP;

/// The rate-based rule's window: 5 minutes.
pub const RATE_WINDOW_SECONDS: i64 = 300;

/// The rule names (also their metric names).
pub const ALLOW_RULE: &str = "allow-list";
pub const BLOCK_RULE: &str = "block-list";
pub const RATE_RULE: &str = "rate-limit";

/// One IP set of the web ACL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpSetSpec {
    pub name: String,
    pub ipv6: bool,
    /// The addresses `up` keeps it at; None for the block list, whose addresses
    /// `deployer block` and the analyser manage (`up` creates it empty and leaves them).
    pub addresses: Option<Vec<String>>,
    pub description: String,
}

/// The four IP sets: allow list and block list, each for IPv4 and IPv6.
pub fn ip_sets(config: &StackConfig, waf: &Waf) -> Vec<IpSetSpec> {
    let names = config.names();
    let mut sets = Vec::new();
    for ipv6 in [false, true] {
        let mut allowed: Vec<String> = waf
            .allow_list
            .iter()
            .filter(|a| cfrp_config::checks::cidr(a) == Ok(ipv6))
            .cloned()
            .collect();
        allowed.sort();
        sets.push(IpSetSpec {
            name: names.waf_ip_set("allow", ipv6),
            ipv6,
            addresses: Some(allowed),
            description: format!("allow list of stack {}", names.stack()),
        });
    }
    for ipv6 in [false, true] {
        sets.push(IpSetSpec {
            name: names.waf_ip_set("block", ipv6),
            ipv6,
            addresses: None,
            description: format!("block list of stack {}", names.stack()),
        });
    }
    sets
}

/// An IP set's fields (the addresses sorted: WAF keeps a set, not a list).
pub fn ip_set_fields(ipv6: bool, addresses: Option<&[String]>, description: &str) -> Fields {
    let mut fields = Fields::new();
    fields.insert(
        "ip_address_version".into(),
        if ipv6 { "IPV6" } else { "IPV4" }.into(),
    );
    fields.insert("description".into(), description.into());
    if let Some(addresses) = addresses {
        let mut sorted = addresses.to_vec();
        sorted.sort();
        fields.insert("addresses".into(), sorted.join(", "));
    }
    fields
}

fn mode_or(mode: Option<WafMode>, default: WafMode) -> WafMode {
    mode.unwrap_or(default)
}

/// The web ACL. `ip_set_arn` answers each IP set's ARN by name (None before it exists: the
/// rule then names it with [`KNOWN_AFTER_UP`] for its id).
pub fn acl(
    config: &StackConfig,
    waf: &Waf,
    account: &str,
    ip_set_arn: &BTreeMap<String, String>,
) -> AclSpec {
    let names = config.names();
    let arn = |name: String| {
        ip_set_arn.get(&name).cloned().unwrap_or_else(|| {
            format!("arn:aws:wafv2:us-east-1:{account}:global/ipset/{name}/{KNOWN_AFTER_UP}")
        })
    };
    let sets = |list: &str| {
        Statement::IpSets(vec![
            arn(names.waf_ip_set(list, false)),
            arn(names.waf_ip_set(list, true)),
        ])
    };
    let mut rules = vec![
        Rule {
            name: ALLOW_RULE.into(),
            priority: 0,
            action: match mode_or(waf.allow_list_mode, waf.mode) {
                WafMode::Block => RuleAction::Allow,
                WafMode::Count => RuleAction::Count,
            },
            statement: sets("allow"),
            metric_name: ALLOW_RULE.into(),
        },
        Rule {
            name: BLOCK_RULE.into(),
            priority: 1,
            action: action(mode_or(waf.block_list_mode, waf.mode)),
            statement: sets("block"),
            metric_name: BLOCK_RULE.into(),
        },
    ];
    if waf.rate_limit.requests_per_5_minutes > 0 {
        rules.push(Rule {
            name: RATE_RULE.into(),
            priority: 2,
            action: action(mode_or(waf.rate_limit.mode, waf.mode)),
            statement: Statement::RateBased {
                limit: i64::try_from(waf.rate_limit.requests_per_5_minutes).unwrap_or(i64::MAX),
                window_seconds: RATE_WINDOW_SECONDS,
                path_prefix: waf.rate_limit.path_prefix.clone(),
            },
            metric_name: RATE_RULE.into(),
        });
    }
    for (index, group) in waf.managed_rule_groups.iter().enumerate() {
        rules.push(Rule {
            name: group.name.clone(),
            priority: 10 + index as i32,
            action: match mode_or(group.mode, waf.mode) {
                WafMode::Block => RuleAction::UseGroup,
                WafMode::Count => RuleAction::Count,
            },
            statement: Statement::Managed {
                vendor: "AWS".into(),
                name: group.name.clone(),
            },
            metric_name: group.name.clone(),
        });
    }
    AclSpec {
        name: names.web_acl(),
        description: format!("web ACL of stack {}", names.stack()),
        metric_name: names.web_acl(),
        rules,
    }
}

fn action(mode: WafMode) -> RuleAction {
    match mode {
        WafMode::Block => RuleAction::Block,
        WafMode::Count => RuleAction::Count,
    }
}

/// An IP set's name from its ARN (`.../global/ipset/NAME/ID`).
fn ip_set_name(arn: &str) -> &str {
    let mut parts = arn.rsplit('/');
    parts.next();
    parts.next().unwrap_or(arn)
}

/// A statement as one line of text.
pub fn statement_text(statement: &Statement) -> String {
    match statement {
        Statement::IpSets(arns) => format!(
            "source IP in {}",
            arns.iter()
                .map(|a| ip_set_name(a))
                .collect::<Vec<_>>()
                .join(" or ")
        ),
        Statement::RateBased {
            limit,
            window_seconds,
            path_prefix,
        } => {
            let scope = path_prefix
                .as_ref()
                .map(|p| format!(", counting URI paths starting with {p}"))
                .unwrap_or_default();
            format!("more than {limit} requests per client IP in {window_seconds} s{scope}")
        }
        Statement::Managed { vendor, name } => format!("managed rule group {vendor}/{name}"),
        Statement::Other(text) => text.clone(),
    }
}

/// The web ACL's fields: one group per rule, keyed by the rule's name, so `plan` shows a
/// changed rule field by field.
pub fn flatten(
    description: &str,
    metric_name: &str,
    default_allow: bool,
    rules: &[Rule],
) -> Fields {
    let mut fields = Fields::new();
    fields.insert("description".into(), description.into());
    fields.insert("metric_name".into(), metric_name.into());
    fields.insert(
        "default_action".into(),
        if default_allow { "allow" } else { "block" }.into(),
    );
    fields.insert("rule_order".into(), {
        let mut ordered: Vec<&Rule> = rules.iter().collect();
        ordered.sort_by_key(|r| r.priority);
        ordered
            .iter()
            .map(|r| r.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    });
    for rule in rules {
        let key = |field: &str| format!("rule.{}.{field}", rule.name);
        fields.insert(key("priority"), rule.priority.to_string());
        fields.insert(key("action"), rule.action.as_str().into());
        fields.insert(key("statement"), statement_text(&rule.statement));
        fields.insert(key("metric_name"), rule.metric_name.clone());
    }
    fields
}

/// The fields of an ACL spec (what `up` writes).
pub fn desired_fields(spec: &AclSpec) -> Fields {
    flatten(&spec.description, &spec.metric_name, true, &spec.rules)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(waf: &str) -> StackConfig {
        let text = format!(
            "name = \"shop\"\nregion = \"eu-west-1\"\n[[origins]]\nid = \"app\"\ndomain = \"app.example.com\"\n{waf}"
        );
        match StackConfig::parse(&text, "proxy.toml") {
            Ok(config) => config,
            Err(err) => panic!("{err}"),
        }
    }

    #[test]
    fn a_bare_waf_section_gives_the_documented_rules_in_order() {
        let config = config("[waf]\n");
        let Some(waf) = &config.waf else {
            panic!("no [waf]")
        };
        let acl = acl(&config, waf, "123456789012", &BTreeMap::new());
        let names: Vec<&str> = acl.rules.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "allow-list",
                "block-list",
                "rate-limit",
                "AWSManagedRulesCommonRuleSet",
                "AWSManagedRulesKnownBadInputsRuleSet",
                "AWSManagedRulesAmazonIpReputationList"
            ]
        );
        let priorities: Vec<i32> = acl.rules.iter().map(|r| r.priority).collect();
        assert!(priorities.windows(2).all(|w| w[0] < w[1]), "{priorities:?}");
        assert_eq!(acl.rules[0].action, RuleAction::Allow);
        assert_eq!(acl.rules[1].action, RuleAction::Block);
        assert_eq!(
            acl.rules[2].statement,
            Statement::RateBased {
                limit: 2000,
                window_seconds: 300,
                path_prefix: None
            }
        );
        assert_eq!(acl.rules[3].action, RuleAction::UseGroup);
        assert_eq!(acl.name, "cfrp-shop-web-acl");
    }

    #[test]
    fn count_mode_applies_to_every_rule_unless_a_rule_sets_its_own() {
        let config = config(
            "[waf]\nmode = \"count\"\nblock_list_mode = \"block\"\n[waf.rate_limit]\nrequests_per_5_minutes = 500\npath_prefix = \"/api/\"\n[[waf.managed_rule_groups]]\nname = \"AWSManagedRulesSQLiRuleSet\"\n",
        );
        let Some(waf) = &config.waf else {
            panic!("no [waf]")
        };
        let acl = acl(&config, waf, "123456789012", &BTreeMap::new());
        let actions: Vec<RuleAction> = acl.rules.iter().map(|r| r.action).collect();
        assert_eq!(
            actions,
            [
                RuleAction::Count,
                RuleAction::Block,
                RuleAction::Count,
                RuleAction::Count
            ]
        );
        let fields = desired_fields(&acl);
        assert_eq!(
            fields["rule.rate-limit.statement"],
            "more than 500 requests per client IP in 300 s, counting URI paths starting with /api/"
        );
        assert_eq!(
            fields["rule.block-list.statement"],
            "source IP in cfrp-shop-block-v4 or cfrp-shop-block-v6"
        );
    }

    #[test]
    fn a_changed_limit_is_one_field_change() {
        let before = config("[waf]\n");
        let after = config("[waf]\n[waf.rate_limit]\nrequests_per_5_minutes = 100\n");
        let fields = |c: &StackConfig| match &c.waf {
            Some(waf) => desired_fields(&acl(c, waf, "1", &BTreeMap::new())),
            None => Fields::new(),
        };
        let action = crate::diff::compare(&fields(&after), Some(&fields(&before)));
        match action {
            crate::diff::Action::Update { changes } => {
                assert_eq!(changes.len(), 1, "{changes:?}");
                assert_eq!(changes[0].field, "rule.rate-limit.statement");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_allow_list_splits_by_ip_version_and_the_block_list_is_left_to_its_owners() {
        let config = config("[waf]\nallow_list = [\"2001:db8::/48\", \"198.51.100.7/32\"]\n");
        let Some(waf) = &config.waf else {
            panic!("no [waf]")
        };
        let sets = ip_sets(&config, waf);
        assert_eq!(sets.len(), 4);
        assert_eq!(sets[0].addresses, Some(vec!["198.51.100.7/32".to_string()]));
        assert_eq!(sets[1].addresses, Some(vec!["2001:db8::/48".to_string()]));
        assert!(sets[1].ipv6);
        assert_eq!(sets[2].name, "cfrp-shop-block-v4");
        assert_eq!(sets[2].addresses, None);
    }

    #[test]
    fn a_waf_config_round_trips_through_its_file_form() {
        let config = config(
            "[waf]\nmode = \"count\"\nallow_list = [\"198.51.100.7/32\"]\nblock_list_mode = \"block\"\n[waf.rate_limit]\nrequests_per_5_minutes = 0\n[[waf.managed_rule_groups]]\nname = \"AWSManagedRulesSQLiRuleSet\"\nmode = \"block\"\n",
        );
        let text = match config.to_toml() {
            Ok(text) => text,
            Err(err) => panic!("{err}"),
        };
        match StackConfig::parse(&text, "written.toml") {
            Ok(again) => assert_eq!(again.waf, config.waf),
            Err(err) => panic!("{err}\n{text}"),
        }
        let Some(waf) = &config.waf else {
            panic!("no [waf]")
        };
        let names: Vec<String> = acl(&config, waf, "1", &BTreeMap::new())
            .rules
            .into_iter()
            .map(|r| r.name)
            .collect();
        assert_eq!(
            names,
            ["allow-list", "block-list", "AWSManagedRulesSQLiRuleSet"]
        );
    }

    #[test]
    fn the_config_refuses_what_waf_would() {
        let text = "name = \"shop\"\n[[origins]]\nid = \"app\"\ndomain = \"app.example.com\"\n[distribution]\nweb_acl_arn = \"arn:aws:wafv2:us-east-1:123456789012:global/webacl/mine/abc\"\n[waf]\nallow_list = [\"198.51.100.7\"]\n[waf.rate_limit]\nrequests_per_5_minutes = 5\n[[waf.managed_rule_groups]]\nname = \"AWSManagedRulesBogus\"\n";
        let err = match StackConfig::parse(text, "proxy.toml") {
            Ok(_) => panic!("accepted"),
            Err(err) => err.to_string(),
        };
        for expected in [
            "remove web_acl_arn",
            "198.51.100.7/32",
            "below WAF's minimum of 10",
            "AWSManagedRulesCommonRuleSet",
        ] {
            assert!(err.contains(expected), "{expected} not in {err}");
        }
    }
}
