//! The web ACL of `[waf]` and its four IP sets (allow and block list, IPv4 and IPv6), scope
//! CLOUDFRONT in us-east-1. The distribution carries the ACL's ARN as its `WebACLId`.
//!
//! Every write sends the lock token of the read before it; when WAF refuses it as stale
//! (someone else wrote in between: another `up`, `deployer block`, the analyser) the
//! resource is read again and the write tried again, at most [`LOCK_ATTEMPTS`] times.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::context::Run;
use crate::diff::Action;
use crate::error::DeployError;
use crate::ports::wafv2::{AclSpec, Found, is_lock_conflict};
use crate::spec::KNOWN_AFTER_UP;
use crate::spec::waf::{self as spec, IpSetSpec};

const ACL_KIND: &str = "WAF web ACL";
const IP_SET_KIND: &str = "WAF IP set";

/// Writes refused for a stale lock token are tried this often in all.
pub const LOCK_ATTEMPTS: u32 = 5;

/// The wait before retrying a stale write; doubles each time.
const LOCK_RETRY_DELAY: Duration = if cfg!(test) {
    Duration::from_millis(1)
} else {
    Duration::from_millis(200)
};

/// Runs `write` (which reads, then writes with the read's lock token) until it is not refused
/// for a stale token, at most [`LOCK_ATTEMPTS`] times.
pub async fn with_lock_retries<T, F, Fut>(what: &str, mut write: F) -> Result<T, DeployError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, DeployError>>,
{
    let mut delay = LOCK_RETRY_DELAY;
    let mut attempt = 1;
    loop {
        match write().await {
            Err(err) if is_lock_conflict(&err) && attempt < LOCK_ATTEMPTS => {
                tokio::time::sleep(delay).await;
                delay *= 2;
                attempt += 1;
            }
            Err(err) if is_lock_conflict(&err) => {
                return Err(DeployError::state(
                    what,
                    format!(
                        "WAF refused {LOCK_ATTEMPTS} writes in a row because someone else changed it each time in between (WAFOptimisticLockException); run the command again"
                    ),
                ));
            }
            other => return other,
        }
    }
}

/// Converges the four IP sets; their ARNs by name (those that exist).
pub async fn converge_ip_sets(run: &Run<'_>) -> Result<BTreeMap<String, String>, DeployError> {
    let mut arns = BTreeMap::new();
    let Some(waf) = &run.config.waf else {
        return Ok(arns);
    };
    for set in spec::ip_sets(run.config, waf) {
        if let Some(arn) = converge_ip_set(run, &set).await? {
            arns.insert(set.name.clone(), arn);
        }
    }
    Ok(arns)
}

async fn converge_ip_set(run: &Run<'_>, set: &IpSetSpec) -> Result<Option<String>, DeployError> {
    let sets = &run.ports.web_acls;
    let desired = spec::ip_set_fields(set.ipv6, set.addresses.as_deref(), &set.description);
    let found = sets.find_ip_set(&set.name).await?;
    let current = match &found {
        Some(found) => sets.ip_set(found).await?,
        None => None,
    };
    let observed = current.as_ref().map(|c| {
        spec::ip_set_fields(
            c.ipv6,
            set.addresses.as_ref().map(|_| c.addresses.as_slice()),
            &c.description,
        )
    });
    let action = run.decide(IP_SET_KIND, &set.name, &desired, observed.as_ref());
    if !run.applying() || !action.is_change() {
        return Ok(found.map(|f| f.arn));
    }
    match (action, found) {
        (Action::Create, _) | (_, None) => {
            run.mutating("wafv2:CreateIPSet", &set.name)?;
            let empty = Vec::new();
            let addresses = set.addresses.as_ref().unwrap_or(&empty);
            let created = sets
                .create_ip_set(&set.name, set.ipv6, addresses, &set.description, run.tags())
                .await?;
            Ok(Some(created.arn))
        }
        (_, Some(found)) => {
            let found = &found;
            with_lock_retries(&set.name, move || async move {
                let now = sets.ip_set(found).await?.ok_or_else(|| {
                    DeployError::state(&set.name, "the IP set disappeared while being updated")
                })?;
                // The block list's addresses are its owners'; only the description is ours.
                let addresses = set.addresses.clone().unwrap_or(now.addresses);
                run.mutating("wafv2:UpdateIPSet", &set.name)?;
                sets.update_ip_set(found, &addresses, &set.description, &now.lock_token)
                    .await
            })
            .await?;
            Ok(Some(found.arn.clone()))
        }
    }
}

/// Converges the web ACL; its ARN (KNOWN_AFTER_UP in a plan before it exists), or None
/// without `[waf]`.
pub async fn converge_web_acl(
    run: &Run<'_>,
    ip_set_arns: &BTreeMap<String, String>,
) -> Result<Option<String>, DeployError> {
    let Some(waf) = &run.config.waf else {
        return Ok(None);
    };
    let acls = &run.ports.web_acls;
    let desired_spec = spec::acl(run.config, waf, &run.account, ip_set_arns);
    let desired = spec::desired_fields(&desired_spec);
    let found = acls.find_web_acl(&desired_spec.name).await?;
    let current = match &found {
        Some(found) => acls.web_acl(found).await?,
        None => None,
    };
    let observed = current
        .as_ref()
        .map(|c| spec::flatten(&c.description, &c.metric_name, c.default_allow, &c.rules));
    let action = run.decide(ACL_KIND, &desired_spec.name, &desired, observed.as_ref());
    if !run.applying() || !action.is_change() {
        return Ok(Some(
            found.map_or_else(|| KNOWN_AFTER_UP.to_string(), |f| f.arn),
        ));
    }
    match found {
        None => {
            run.mutating("wafv2:CreateWebACL", &desired_spec.name)?;
            let created = acls.create_web_acl(&desired_spec, run.tags()).await?;
            Ok(Some(created.arn))
        }
        Some(found) => {
            update_web_acl(run, &found, &desired_spec).await?;
            Ok(Some(found.arn))
        }
    }
}

async fn update_web_acl(run: &Run<'_>, found: &Found, spec: &AclSpec) -> Result<(), DeployError> {
    let acls = &run.ports.web_acls;
    with_lock_retries(&found.name, move || async move {
        let now = acls.web_acl(found).await?.ok_or_else(|| {
            DeployError::state(&found.name, "the web ACL disappeared while being updated")
        })?;
        run.mutating("wafv2:UpdateWebACL", &found.name)?;
        acls.update_web_acl(found, spec, &now.lock_token).await
    })
    .await
}

/// Deletes the web ACL (the distribution no longer carries it by now), then its IP sets.
/// What is already gone costs one read.
pub async fn remove(run: &Run<'_>) -> Result<(), DeployError> {
    remove_web_acl(run).await?;
    remove_ip_sets(run).await
}

pub async fn remove_web_acl(run: &Run<'_>) -> Result<(), DeployError> {
    let acls = &run.ports.web_acls;
    let name = run.names.web_acl();
    let Some(found) = acls.find_web_acl(&name).await? else {
        return Ok(());
    };
    run.note(ACL_KIND, &name, Action::Delete);
    if !run.applying() {
        return Ok(());
    }
    let (found, name) = (&found, name.as_str());
    with_lock_retries(name, move || async move {
        let Some(now) = acls.web_acl(found).await? else {
            return Ok(());
        };
        run.mutating("wafv2:DeleteWebACL", name)?;
        acls.delete_web_acl(found, &now.lock_token).await
    })
    .await
}

pub async fn remove_ip_sets(run: &Run<'_>) -> Result<(), DeployError> {
    let sets = &run.ports.web_acls;
    for list in ["allow", "block"] {
        for ipv6 in [false, true] {
            let name = run.names.waf_ip_set(list, ipv6);
            let Some(found) = sets.find_ip_set(&name).await? else {
                continue;
            };
            run.note(IP_SET_KIND, &name, Action::Delete);
            if !run.applying() {
                continue;
            }
            let (found, name) = (&found, name.as_str());
            with_lock_retries(name, move || async move {
                let Some(now) = sets.ip_set(found).await? else {
                    return Ok(());
                };
                run.mutating("wafv2:DeleteIPSet", name)?;
                sets.delete_ip_set(found, &now.lock_token).await
            })
            .await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::Mode;
    use crate::ports::fake::FakeAccount;
    use cfrp_config::StackConfig;

    const ACCOUNT: &str = "123456789012";

    fn config(waf: &str) -> StackConfig {
        let text = format!(
            "name = \"shop\"\nregion = \"eu-west-1\"\n[[origins]]\nid = \"app\"\ndomain = \"app.example.com\"\n{waf}"
        );
        match StackConfig::parse(&text, "proxy.toml") {
            Ok(config) => config,
            Err(err) => panic!("{err}"),
        }
    }

    async fn up(
        account: &FakeAccount,
        config: &StackConfig,
        mode: Mode,
    ) -> (Run<'static>, Option<String>) {
        let config: &'static StackConfig = Box::leak(Box::new(config.clone()));
        let run = Run::offline(config, account.ports(), ACCOUNT, mode);
        let arns = match converge_ip_sets(&run).await {
            Ok(arns) => arns,
            Err(err) => panic!("{err}"),
        };
        let acl = match converge_web_acl(&run, &arns).await {
            Ok(acl) => acl,
            Err(err) => panic!("{err}"),
        };
        (run, acl)
    }

    #[tokio::test]
    async fn plan_creates_nothing_up_creates_the_acl_and_a_second_up_makes_no_call() {
        let account = FakeAccount::new("eu-west-1", ACCOUNT);
        let config = config("[waf]\nallow_list = [\"198.51.100.7/32\"]\n");
        let (run, acl) = up(&account, &config, Mode::Plan).await;
        assert_eq!(acl.as_deref(), Some(KNOWN_AFTER_UP));
        assert_eq!(run.changes().len(), 5);
        assert!(run.changes().iter().all(|c| c.action == Action::Create));
        assert!(account.mutating_calls().is_empty());

        let (run, acl) = up(&account, &config, Mode::Apply).await;
        let Some(web_acl) = account.fake_web_acl("cfrp-shop-web-acl") else {
            panic!("no web ACL: {:?}", account.calls())
        };
        assert_eq!(acl, Some(web_acl.found.arn.clone()));
        assert_eq!(run.mutations().len(), 5);
        assert_eq!(web_acl.rules.len(), 6);
        let allow = account.fake_ip_set("cfrp-shop-allow-v4");
        assert_eq!(
            allow.map(|s| s.addresses),
            Some(vec!["198.51.100.7/32".to_string()])
        );

        let before = account.mutating_calls().len();
        let (run, _) = up(&account, &config, Mode::Apply).await;
        assert!(run.mutations().is_empty(), "{:?}", run.mutations());
        assert_eq!(account.mutating_calls().len(), before);
        assert!(run.changes().iter().all(|c| c.action == Action::Unchanged));
    }

    #[tokio::test]
    async fn a_rule_change_is_planned_field_by_field_and_applied_through_a_lock_race() {
        let account = FakeAccount::new("eu-west-1", ACCOUNT);
        up(&account, &config("[waf]\n"), Mode::Apply).await;
        let counting = config("[waf]\n[waf.rate_limit]\nmode = \"count\"\n");
        let (run, _) = up(&account, &counting, Mode::Plan).await;
        let acl_change = run
            .changes()
            .into_iter()
            .find(|c| c.kind == ACL_KIND)
            .map(|c| c.action);
        match acl_change {
            Some(Action::Update { changes }) => {
                assert_eq!(changes.len(), 1, "{changes:?}");
                assert_eq!(changes[0].field, "rule.rate-limit.action");
                assert_eq!(changes[0].from.as_deref(), Some("block"));
                assert_eq!(changes[0].to.as_deref(), Some("count"));
            }
            other => panic!("{other:?}"),
        }
        // Someone else writes the ACL between our read and our write, twice.
        account.race_waf("cfrp-shop-web-acl", 2);
        let (run, _) = up(&account, &counting, Mode::Apply).await;
        assert_eq!(run.mutations().len(), 3, "{:?}", run.mutations());
        let rate = account
            .fake_web_acl("cfrp-shop-web-acl")
            .and_then(|a| a.rules.into_iter().find(|r| r.name == "rate-limit"));
        assert_eq!(
            rate.map(|r| r.action),
            Some(crate::ports::wafv2::RuleAction::Count)
        );
    }

    #[tokio::test]
    async fn endless_lock_conflicts_stop_with_an_error_saying_what_to_do() {
        let account = FakeAccount::new("eu-west-1", ACCOUNT);
        up(&account, &config("[waf]\n"), Mode::Apply).await;
        account.race_waf("cfrp-shop-web-acl", 100);
        let changed = config("[waf]\nmode = \"count\"\n");
        let run = Run::offline(&changed, account.ports(), ACCOUNT, Mode::Apply);
        let arns = converge_ip_sets(&run).await.unwrap_or_default();
        let err = match converge_web_acl(&run, &arns).await {
            Ok(_) => panic!("no error"),
            Err(err) => err.to_string(),
        };
        assert!(err.contains("run the command again"), "{err}");
        assert_eq!(run.mutations().len() as u32, LOCK_ATTEMPTS);
    }

    #[tokio::test]
    async fn the_block_lists_addresses_are_left_to_their_owners() {
        let account = FakeAccount::new("eu-west-1", ACCOUNT);
        let config = config("[waf]\n");
        up(&account, &config, Mode::Apply).await;
        account.edit_ip_set("cfrp-shop-block-v4", |set| {
            set.addresses = vec!["203.0.113.9/32".to_string()];
        });
        let (run, _) = up(&account, &config, Mode::Apply).await;
        assert!(run.mutations().is_empty(), "{:?}", run.mutations());
        assert_eq!(
            account
                .fake_ip_set("cfrp-shop-block-v4")
                .map(|s| s.addresses),
            Some(vec!["203.0.113.9/32".to_string()])
        );
    }

    #[tokio::test]
    async fn remove_deletes_the_acl_before_its_ip_sets_and_leaves_nothing() {
        let account = FakeAccount::new("eu-west-1", ACCOUNT);
        let config = config("[waf]\n");
        up(&account, &config, Mode::Apply).await;
        let run = Run::offline(&config, account.ports(), ACCOUNT, Mode::Apply);
        if let Err(err) = remove(&run).await {
            panic!("{err}");
        }
        let mutations = run.mutations();
        assert_eq!(mutations.len(), 5, "{mutations:?}");
        assert!(mutations[0].starts_with("wafv2:DeleteWebACL"));
        assert!(account.fake_web_acl("cfrp-shop-web-acl").is_none());
        assert!(account.fake_ip_set("cfrp-shop-block-v6").is_none());
        // Again: nothing left, reads only.
        let run = Run::offline(&config, account.ports(), ACCOUNT, Mode::Apply);
        assert!(remove(&run).await.is_ok());
        assert!(run.mutations().is_empty());
    }
}
