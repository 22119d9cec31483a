#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed expectation is the report

//! The web ACL of `[waf]` with the real binary against the emulator: `up` creates it (scope
//! CLOUDFRONT, us-east-1) with the configured rules in the documented order and the
//! distribution carries its ARN as `WebACLId`; a second `up` makes no mutating call; a rule
//! set to count is one field in `plan` and one UpdateWebACL in `up`; `down` leaves no web ACL
//! and no IP set.

use aws_sdk_wafv2::types::Scope;
use serde_json::{Value, json};

use cfrp_tests::deploy::{StackFile, deployer, down, plan, stack_file, up};
use cfrp_tests::{emulator, requests_by_operation, sdk_config, unique};

const WAF: &str = r#"
[waf]
allow_list = ["198.51.100.7/32", "2001:db8::/48"]

[waf.rate_limit]
requests_per_5_minutes = 1000
path_prefix = "/api/"

[[waf.managed_rule_groups]]
name = "AWSManagedRulesCommonRuleSet"

[[waf.managed_rule_groups]]
name = "AWSManagedRulesAmazonIpReputationList"
mode = "count"
"#;

fn waf_stack(name: &str, extra: &str) -> StackFile {
    let extra = extra.to_string();
    stack_file(name, move |t| format!("{t}\n{extra}"))
}

async fn waf_client() -> aws_sdk_wafv2::Client {
    let config = sdk_config()
        .await
        .to_builder()
        .region(aws_config::Region::new("us-east-1"))
        .build();
    aws_sdk_wafv2::Client::new(&config)
}

/// The web ACLs and IP sets of scope CLOUDFRONT whose names start with `prefix`.
async fn waf_names(waf: &aws_sdk_wafv2::Client, prefix: &str) -> Vec<String> {
    let acls = waf
        .list_web_acls()
        .scope(Scope::Cloudfront)
        .limit(100)
        .send()
        .await
        .unwrap();
    let sets = waf
        .list_ip_sets()
        .scope(Scope::Cloudfront)
        .limit(100)
        .send()
        .await
        .unwrap();
    acls.web_acls()
        .iter()
        .filter_map(|a| a.name())
        .chain(sets.ip_sets().iter().filter_map(|s| s.name()))
        .filter(|n| n.starts_with(prefix))
        .map(str::to_string)
        .collect()
}

fn mutating_waf_requests(before: &std::collections::BTreeMap<String, u64>) -> Vec<String> {
    let now = requests_by_operation(&emulator().endpoint).unwrap();
    now.iter()
        .filter(|(op, n)| {
            op.starts_with("wafv2:")
                && !op.contains(":Get")
                && !op.contains(":List")
                && before.get(*op).copied().unwrap_or_default() < **n
        })
        .map(|(op, _)| op.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn up_creates_the_web_acl_the_distribution_carries_a_second_up_changes_nothing_and_down_removes_it()
 {
    let name: String = unique("waf").chars().take(32).collect();
    let stack = waf_stack(&name, WAF);
    let waf = waf_client().await;
    let prefix = format!("cfrp-{name}-");

    // ---- plan shows the ACL and its four IP sets to create
    let planned = plan(&stack);
    let kinds: Vec<&str> = planned["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] == "create")
        .filter_map(|c| c["kind"].as_str())
        .filter(|k| k.starts_with("WAF"))
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "WAF IP set").count(),
        4,
        "{planned:#}"
    );
    assert_eq!(
        kinds.iter().filter(|k| **k == "WAF web ACL").count(),
        1,
        "{planned:#}"
    );
    assert!(waf_names(&waf, &prefix).await.is_empty());

    // ---- up
    let report = up(&stack);
    let distribution_id = report["distribution"]["distribution_id"]
        .as_str()
        .unwrap()
        .to_string();
    let acl_name = format!("cfrp-{name}-web-acl");
    let summaries = waf
        .list_web_acls()
        .scope(Scope::Cloudfront)
        .limit(100)
        .send()
        .await
        .unwrap();
    let summary = summaries
        .web_acls()
        .iter()
        .find(|a| a.name() == Some(acl_name.as_str()))
        .unwrap_or_else(|| panic!("no web ACL {acl_name}"));
    let got = waf
        .get_web_acl()
        .name(&acl_name)
        .id(summary.id().unwrap())
        .scope(Scope::Cloudfront)
        .send()
        .await
        .unwrap();
    let acl = got.web_acl().unwrap();
    assert!(acl.default_action().unwrap().allow().is_some());
    let rules: Vec<(&str, i32)> = acl
        .rules()
        .iter()
        .map(|r| (r.name(), r.priority()))
        .collect();
    assert_eq!(
        rules,
        [
            ("allow-list", 0),
            ("block-list", 1),
            ("rate-limit", 2),
            ("AWSManagedRulesCommonRuleSet", 10),
            ("AWSManagedRulesAmazonIpReputationList", 11),
        ]
    );
    let allow = &acl.rules()[0];
    assert!(allow.action().unwrap().allow().is_some());
    let references: Vec<&str> = allow
        .statement()
        .unwrap()
        .or_statement()
        .unwrap()
        .statements()
        .iter()
        .map(|s| s.ip_set_reference_statement().unwrap().arn())
        .collect();
    assert_eq!(references.len(), 2);
    assert!(references[0].contains(&format!("/ipset/cfrp-{name}-allow-v4/")));
    let rate = acl.rules()[2]
        .statement()
        .unwrap()
        .rate_based_statement()
        .unwrap();
    assert_eq!(rate.limit(), 1000);
    assert_eq!(rate.evaluation_window_sec(), 300);
    let scope_down = rate
        .scope_down_statement()
        .unwrap()
        .byte_match_statement()
        .unwrap();
    assert_eq!(scope_down.search_string().as_ref(), b"/api/");
    assert!(acl.rules()[2].action().unwrap().block().is_some());
    let managed = &acl.rules()[4];
    assert_eq!(
        managed
            .statement()
            .unwrap()
            .managed_rule_group_statement()
            .unwrap()
            .name(),
        "AWSManagedRulesAmazonIpReputationList"
    );
    assert!(managed.override_action().unwrap().count().is_some());
    assert!(acl.rules()[3].override_action().unwrap().none().is_some());

    // The allow list's addresses, by IP version.
    let sets = waf
        .list_ip_sets()
        .scope(Scope::Cloudfront)
        .limit(100)
        .send()
        .await
        .unwrap();
    for (set_name, address) in [
        (format!("cfrp-{name}-allow-v4"), Some("198.51.100.7/32")),
        (format!("cfrp-{name}-allow-v6"), Some("2001:db8::/48")),
        (format!("cfrp-{name}-block-v4"), None),
        (format!("cfrp-{name}-block-v6"), None),
    ] {
        let found = sets
            .ip_sets()
            .iter()
            .find(|s| s.name() == Some(set_name.as_str()))
            .unwrap_or_else(|| panic!("no IP set {set_name}"));
        let set = waf
            .get_ip_set()
            .name(&set_name)
            .id(found.id().unwrap())
            .scope(Scope::Cloudfront)
            .send()
            .await
            .unwrap();
        let addresses: Vec<&str> = set
            .ip_set()
            .unwrap()
            .addresses()
            .iter()
            .map(String::as_str)
            .collect();
        assert_eq!(
            addresses,
            address.into_iter().collect::<Vec<_>>(),
            "{set_name}"
        );
    }

    // The distribution carries the ACL's ARN.
    let cloudfront = aws_sdk_cloudfront::Client::new(
        &sdk_config()
            .await
            .to_builder()
            .region(aws_config::Region::new("us-east-1"))
            .build(),
    );
    let config = cloudfront
        .get_distribution_config()
        .id(&distribution_id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        config.distribution_config().unwrap().web_acl_id(),
        summary.arn(),
        "WebACLId"
    );

    // ---- a second up changes nothing: not in the deployer's count, not at the emulator
    let before = requests_by_operation(&emulator().endpoint).unwrap();
    let again = up(&stack);
    assert_eq!(again["mutating_calls"], 0, "{again:#}");
    assert_eq!(mutating_waf_requests(&before), Vec::<String>::new());

    // ---- the rate rule set to count: one field in plan, one UpdateWebACL in up
    let counting = waf_stack(
        &name,
        &WAF.replace(
            "path_prefix = \"/api/\"",
            "path_prefix = \"/api/\"\nmode = \"count\"",
        ),
    );
    let planned = plan(&counting);
    let changed: Vec<&Value> = planned["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] != "unchanged")
        .collect();
    assert_eq!(changed.len(), 1, "{planned:#}");
    assert_eq!(changed[0]["kind"], "WAF web ACL");
    assert_eq!(
        changed[0]["changes"],
        json!([{"field": "rule.rate-limit.action", "from": "block", "to": "count"}])
    );
    let applied = up(&counting);
    assert_eq!(
        applied["mutations"],
        json!([format!("wafv2:UpdateWebACL {acl_name}")]),
        "{applied:#}"
    );

    // ---- down leaves no web ACL and no IP set
    down(&counting);
    assert_eq!(waf_names(&waf, &prefix).await, Vec::<String>::new());
    assert!(
        cloudfront
            .get_distribution()
            .id(&distribution_id)
            .send()
            .await
            .is_err(),
        "the distribution is gone"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_block_list_is_edited_by_deployer_block_and_turning_waf_off_removes_the_web_acl() {
    let name: String = unique("waf-off").chars().take(32).collect();
    let waf = waf_client().await;
    let prefix = format!("cfrp-{name}-");
    let with_waf = waf_stack(&name, "[waf]\nallow_list = [\"198.51.100.7/32\"]\n");
    let report = up(&with_waf);
    let distribution_id = report["distribution"]["distribution_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(waf_names(&waf, &prefix).await.len(), 5);

    // ---- deployer block: add with a reason and expiry, list, refuse an allow-listed one
    let config = with_waf.path.to_string_lossy().to_string();
    let block = |args: &[&str]| {
        let mut all = vec!["--config", config.as_str(), "--output", "json", "block"];
        all.extend_from_slice(args);
        deployer(&all)
    };
    let added = block(&[
        "add",
        "203.0.113.9/32",
        "--reason",
        "scraper",
        "--hours",
        "1",
    ])
    .expect_code(0)
    .json();
    assert_eq!(added["changed"], true, "{added:#}");
    let again = block(&[
        "add",
        "203.0.113.9/32",
        "--reason",
        "scraper",
        "--hours",
        "1",
    ])
    .expect_code(0)
    .json();
    assert_eq!(again["changed"], false, "{again:#}");
    let refused = block(&["add", "198.51.100.7/32", "--reason", "x"]).expect_code(1);
    assert!(refused.stderr.contains("allow_list"), "{}", refused.stderr);
    let listed = block(&["list"]).expect_code(0).json();
    let entries = listed["blocked"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{listed:#}");
    assert_eq!(entries[0]["address"], "203.0.113.9/32");
    assert_eq!(entries[0]["reason"], "scraper");
    assert_eq!(entries[0]["expired"], false);
    let expires = entries[0]["expires"].as_i64().unwrap() - entries[0]["added"].as_i64().unwrap();
    assert_eq!(expires, 3600);
    // The address is in the IP set WAF reads, and a second up leaves it there.
    let kept = up(&with_waf);
    assert_eq!(kept["mutating_calls"], 0, "{kept:#}");
    let sets = waf
        .list_ip_sets()
        .scope(Scope::Cloudfront)
        .limit(100)
        .send()
        .await
        .unwrap();
    let set_name = format!("cfrp-{name}-block-v4");
    let found = sets
        .ip_sets()
        .iter()
        .find(|s| s.name() == Some(set_name.as_str()))
        .unwrap();
    let set = waf
        .get_ip_set()
        .name(&set_name)
        .id(found.id().unwrap())
        .scope(Scope::Cloudfront)
        .send()
        .await
        .unwrap();
    assert_eq!(
        set.ip_set().unwrap().addresses(),
        ["203.0.113.9/32".to_string()]
    );
    let removed = block(&["remove", "203.0.113.9/32"]).expect_code(0).json();
    assert_eq!(removed["changed"], true, "{removed:#}");
    assert_eq!(block(&["list"]).expect_code(0).json()["blocked"], json!([]));

    let plain = waf_stack(&name, "");
    let off = up(&plain);
    let mutations: Vec<&str> = off["mutations"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let update = mutations
        .iter()
        .position(|m| m.starts_with("cloudfront:UpdateDistribution"))
        .unwrap_or_else(|| panic!("{off:#}"));
    let delete = mutations
        .iter()
        .position(|m| m.starts_with("wafv2:DeleteWebACL"))
        .unwrap_or_else(|| panic!("{off:#}"));
    assert!(update < delete, "detached first: {mutations:?}");
    assert_eq!(waf_names(&waf, &prefix).await, Vec::<String>::new());
    let cloudfront = aws_sdk_cloudfront::Client::new(
        &sdk_config()
            .await
            .to_builder()
            .region(aws_config::Region::new("us-east-1"))
            .build(),
    );
    let config = cloudfront
        .get_distribution_config()
        .id(&distribution_id)
        .send()
        .await
        .unwrap();
    assert_eq!(config.distribution_config().unwrap().web_acl_id(), Some(""));
    down(&plain);
}
