//! The `[waf]` web ACL's monthly cost, from AWS WAF's published prices (aws.amazon.com/waf/
//! pricing; the same in every region): a web ACL $5.00 a month, each rule or rule group in
//! it $1.00 a month (an AWS managed rule group counts as one rule; the groups `[waf]`
//! accepts carry no subscription fee), $0.60 per million requests the ACL inspects while it
//! uses at most 1,500 web ACL capacity units (WCUs), and $0.20 per million more for each
//! further 500 WCUs started.

use cfrp_config::{StackConfig, WAF_MANAGED_GROUPS};

use super::{Category, LineItem, Traffic, item};

pub const WEB_ACL_MONTH: f64 = 5.00;
pub const RULE_MONTH: f64 = 1.00;
pub const REQUESTS_PER_MILLION: f64 = 0.60;
/// Per million requests, for each 500 WCUs (or part) above [`INCLUDED_WCUS`].
pub const EXTRA_WCU_BLOCK_PER_MILLION: f64 = 0.20;
pub const INCLUDED_WCUS: u32 = 1500;

/// DynamoDB on demand, US East (N. Virginia), per million request units, as published after
/// AWS's November 2024 reduction (aws.amazon.com/dynamodb/pricing/on-demand/; read here from
/// a stored copy quoting it): writes $0.625, reads $0.125. Other regions cost somewhat more.
pub const DYNAMODB_WRITE_PER_MILLION: f64 = 0.625;
pub const DYNAMODB_READ_PER_MILLION: f64 = 0.125;
/// The evaluator's scheduled runs in a 30-day month.
const RUNS_PER_MONTH: f64 = 60.0 * 24.0 * 30.0;

/// The block table of `[waf.auto_block]`: each evaluator run makes `window` + 1 eventually
/// consistent Queries (0.5 read request unit each while the items fit 4 KB); strikes cost one
/// write request unit each, one per client and minute at or above the level, which no flag
/// predicts: the line assumes one a minute.
fn auto_block_items(config: &StackConfig) -> Vec<LineItem> {
    let Some(auto) = config.waf.as_ref().and_then(|w| w.auto_block.as_ref()) else {
        return Vec::new();
    };
    let reads = RUNS_PER_MONTH * f64::from(auto.window + 1) * 0.5;
    vec![
        item(
            Category::Waf,
            format!(
                "DynamoDB block table reads ({} Queries a minute, on demand)",
                auto.window + 1
            ),
            reads / 1_000_000.0,
            "1M read request units",
            DYNAMODB_READ_PER_MILLION,
        ),
        item(
            Category::Waf,
            "DynamoDB strike writes (assumed 1 a minute; 1 per client-minute at or above the level)"
                .to_string(),
            RUNS_PER_MONTH / 1_000_000.0,
            "1M write request units",
            DYNAMODB_WRITE_PER_MILLION,
        ),
    ]
}

/// WCUs of the stack's own rules, from the WAF developer guide's capacity table: an IP set
/// reference 1 each (two per list, one per IP version); a rate-based rule 2, plus its
/// scope-down string match (2 for STARTS_WITH with no text transformation).
fn own_rules_wcus(config: &StackConfig) -> u32 {
    let Some(waf) = &config.waf else { return 0 };
    let mut wcus = 2 + 2;
    if waf.rate_limit.requests_per_5_minutes > 0 {
        wcus += 2;
        if waf.rate_limit.path_prefix.is_some() {
            wcus += 2;
        }
    }
    wcus
}

/// The web ACL's capacity: its own rules plus each managed group's published capacity.
pub fn wcus(config: &StackConfig) -> u32 {
    let Some(waf) = &config.waf else { return 0 };
    own_rules_wcus(config)
        + waf
            .managed_rule_groups
            .iter()
            .filter_map(|g| WAF_MANAGED_GROUPS.iter().find(|(n, _)| *n == g.name))
            .map(|(_, capacity)| capacity)
            .sum::<u32>()
}

/// The number of rules the ACL holds.
pub fn rules(config: &StackConfig) -> usize {
    let Some(waf) = &config.waf else { return 0 };
    2 + usize::from(waf.rate_limit.requests_per_5_minutes > 0) + waf.managed_rule_groups.len()
}

/// The web ACL's line items for a month of `traffic` (none without `[waf]`).
pub fn items(traffic: &Traffic, config: &StackConfig) -> Vec<LineItem> {
    let Some(waf) = &config.waf else {
        return Vec::new();
    };
    let mut items = vec![
        item(
            Category::Waf,
            "WAF web ACL".to_string(),
            1.0,
            "web ACL-month",
            WEB_ACL_MONTH,
        ),
        item(
            Category::Waf,
            format!(
                "WAF rules (allow list, block list{}, {} managed rule group(s))",
                if waf.rate_limit.requests_per_5_minutes > 0 {
                    ", rate limit"
                } else {
                    ""
                },
                waf.managed_rule_groups.len()
            ),
            rules(config) as f64,
            "rule-month",
            RULE_MONTH,
        ),
        item(
            Category::Waf,
            "WAF requests inspected".to_string(),
            traffic.requests / 1_000_000.0,
            "1M requests",
            REQUESTS_PER_MILLION,
        ),
    ];
    let capacity = wcus(config);
    if capacity > INCLUDED_WCUS {
        let blocks = (capacity - INCLUDED_WCUS).div_ceil(500);
        items.push(item(
            Category::Waf,
            format!("WAF requests above {INCLUDED_WCUS} WCUs ({capacity} WCUs: {blocks} block(s) of 500)"),
            traffic.requests / 1_000_000.0,
            "1M requests",
            EXTRA_WCU_BLOCK_PER_MILLION * f64::from(blocks),
        ));
    }
    items.extend(auto_block_items(config));
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_block_adds_the_block_tables_reads_and_writes() {
        let plain = items(&traffic(1_000_000.0), &config("[waf]\n"));
        let with = items(
            &traffic(1_000_000.0),
            &config("[waf]\n[waf.auto_block]\nwindow = 5\n"),
        );
        assert_eq!(with.len(), plain.len() + 2);
        let reads = &with[with.len() - 2];
        // 43,200 runs × 6 Queries × 0.5 RRU = 129,600 RRU.
        assert!((reads.quantity - 0.1296).abs() < 1e-9, "{reads:?}");
        assert!((reads.cost - 0.1296 * 0.125).abs() < 1e-9, "{reads:?}");
        let writes = &with[with.len() - 1];
        assert!((writes.cost - 0.0432 * 0.625).abs() < 1e-9, "{writes:?}");
    }

    fn config(waf: &str) -> StackConfig {
        let text = format!(
            "name = \"shop\"\n[[origins]]\nid = \"app\"\ndomain = \"app.example.com\"\n{waf}"
        );
        match StackConfig::parse(&text, "proxy.toml") {
            Ok(config) => config,
            Err(err) => panic!("{err}"),
        }
    }

    fn traffic(requests: f64) -> Traffic {
        Traffic {
            requests,
            gb: 0.0,
            https_share: 1.0,
            geo: Vec::new(),
            invalidation_paths: 0,
            source: "flags".to_string(),
        }
    }

    fn total(items: &[LineItem]) -> f64 {
        items.iter().map(|i| i.cost).sum()
    }

    #[test]
    fn the_default_waf_costs_acl_six_rules_and_requests() {
        // $5 + 6 rules × $1 + 50M × $0.60 per million = $41.
        let items = items(&traffic(50_000_000.0), &config("[waf]\n"));
        assert_eq!(items.len(), 3);
        assert!((total(&items) - 41.0).abs() < 1e-9, "{items:?}");
        assert_eq!(wcus(&config("[waf]\n")), 2 + 2 + 2 + 700 + 200 + 25);
    }

    #[test]
    fn capacity_above_1500_wcus_adds_a_request_charge_per_500() {
        let heavy = config(
            "[waf]\n[[waf.managed_rule_groups]]\nname = \"AWSManagedRulesCommonRuleSet\"\n[[waf.managed_rule_groups]]\nname = \"AWSManagedRulesSQLiRuleSet\"\n[[waf.managed_rule_groups]]\nname = \"AWSManagedRulesLinuxRuleSet\"\n[[waf.managed_rule_groups]]\nname = \"AWSManagedRulesWindowsRuleSet\"\n[[waf.managed_rule_groups]]\nname = \"AWSManagedRulesKnownBadInputsRuleSet\"\n[[waf.managed_rule_groups]]\nname = \"AWSManagedRulesPHPRuleSet\"\n",
        );
        // 6 own + 700 + 200 × 4 + 100 = 1606 WCUs: one block of 500 above 1500.
        assert_eq!(wcus(&heavy), 1606);
        let items = items(&traffic(10_000_000.0), &heavy);
        assert_eq!(items.len(), 4);
        // $5 + 9 rules + 10M × ($0.60 + $0.20) = $22.
        assert!((total(&items) - 22.0).abs() < 1e-9, "{items:?}");
    }

    #[test]
    fn without_waf_nothing_is_charged() {
        assert!(items(&traffic(1e9), &config("")).is_empty());
    }
}
