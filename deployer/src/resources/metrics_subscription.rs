//! The distribution's additional CloudWatch metrics (a CloudFront monitoring subscription):
//! on with `[distribution] additional_metrics = true`, removed when the config turns them off
//! and by `down` before the distribution. Named in the plan by the stack's caller reference,
//! as the distribution is, so a plan made before the distribution exists lines up with its
//! `up`.

use crate::context::Run;
use crate::diff::{Action, Fields, fields};
use crate::error::DeployError;

pub const KIND: &str = "CloudFront additional metrics";

fn subscription_fields(enabled: bool) -> Fields {
    let status = if enabled { "Enabled" } else { "Disabled" };
    fields([("realtime_metrics_subscription_status", status.to_string())])
}

/// Converges the subscription of the stack's distribution (`None`: not created yet, which
/// only a plan sees). With additional metrics off, a subscription an earlier `up` made is
/// deleted; with none there, nothing is recorded.
pub async fn converge(run: &Run<'_>, distribution_id: Option<&str>) -> Result<(), DeployError> {
    let name = run.names.caller_reference();
    let observed = match distribution_id {
        Some(id) => run.ports.metrics_subscriptions.subscription(id).await?,
        None => None,
    };
    if !run.config.distribution.additional_metrics {
        return match (distribution_id, observed) {
            (Some(id), Some(_)) => delete(run, &name, id).await,
            _ => Ok(()),
        };
    }
    let action = run.decide(
        KIND,
        &name,
        &subscription_fields(true),
        observed.map(subscription_fields).as_ref(),
    );
    if !run.applying() || !action.is_change() {
        return Ok(());
    }
    let Some(id) = distribution_id else {
        return Err(DeployError::state(
            &name,
            "the distribution was not created before its additional metrics (a bug in the plan's graph)",
        ));
    };
    // CloudFront keeps one subscription per distribution and refuses a second create: a
    // Disabled one (made outside the stack) is replaced.
    if observed.is_some() {
        run.mutating("cloudfront:DeleteMonitoringSubscription", id)?;
        run.ports
            .metrics_subscriptions
            .delete_subscription(id)
            .await?;
    }
    run.mutating("cloudfront:CreateMonitoringSubscription", id)?;
    run.ports
        .metrics_subscriptions
        .create_subscription(id, true)
        .await
}

/// `down`: deletes the subscription of the stack's distribution, if it has one.
pub async fn remove(run: &Run<'_>, distribution_id: Option<&str>) -> Result<(), DeployError> {
    let Some(id) = distribution_id else {
        return Ok(());
    };
    if run
        .ports
        .metrics_subscriptions
        .subscription(id)
        .await?
        .is_none()
    {
        return Ok(());
    }
    delete(run, &run.names.caller_reference(), id).await
}

async fn delete(run: &Run<'_>, name: &str, id: &str) -> Result<(), DeployError> {
    run.note(KIND, name, Action::Delete);
    // `plan` lists the deletion; only `up`/`down` carry it out.
    if !run.applying() {
        return Ok(());
    }
    run.mutating("cloudfront:DeleteMonitoringSubscription", id)?;
    run.ports
        .metrics_subscriptions
        .delete_subscription(id)
        .await
}

#[cfg(test)]
mod tests {
    use cfrp_config::StackConfig;
    use cfrp_config::naming::Function;

    use super::*;
    use crate::context::Mode;
    use crate::diff::Change;
    use crate::package::Packages;
    use crate::ports::fake::FakeAccount;

    const ACCOUNT: &str = "123456789012";

    fn config(additional_metrics: bool) -> StackConfig {
        let mut config = StackConfig::for_origin("shop", "eu-west-1", "app.example.com");
        config.distribution.additional_metrics = additional_metrics;
        config
    }

    fn packages() -> Packages {
        Function::ALL
            .iter()
            .map(|f| (f.short(), format!("zip of {}", f.short()).into_bytes()))
            .collect()
    }

    /// One run of the whole stack (`up`/`plan`, or `down` with `remove`): its decisions on
    /// the subscription and the subscription calls it made.
    async fn run_stack(
        account: &FakeAccount,
        config: &StackConfig,
        mode: Mode,
        remove: bool,
    ) -> (Vec<Change>, Vec<String>) {
        let before = account.calls().len();
        let run = Run::offline(config, account.ports(), ACCOUNT, mode);
        let result = if remove {
            crate::stack::remove(&run).await.map(drop)
        } else {
            crate::stack::converge(&run, &packages(), false)
                .await
                .map(drop)
        };
        if let Err(err) = result {
            panic!("the stack failed: {err}");
        }
        let changes = run
            .changes()
            .into_iter()
            .filter(|c| c.kind == KIND)
            .collect();
        (changes, account.calls()[before..].to_vec())
    }

    fn distribution_id(account: &FakeAccount, calls: &[String]) -> String {
        let id = calls
            .iter()
            .find_map(|c| c.strip_prefix("cloudfront:GetMonitoringSubscription "))
            .unwrap_or_default()
            .to_string();
        assert!(account.distribution(&id).is_some(), "{calls:#?}");
        id
    }

    fn subscription_calls(calls: &[String]) -> Vec<&str> {
        calls
            .iter()
            .filter(|c| c.contains("MonitoringSubscription ") && !c.contains(":Get"))
            .map(|c| c.split(' ').next().unwrap_or_default())
            .collect()
    }

    #[tokio::test]
    async fn plan_shows_the_subscription_up_creates_it_and_a_second_up_changes_nothing() {
        let account = FakeAccount::new("eu-west-1", ACCOUNT);
        let on = config(true);
        let (changes, _) = run_stack(&account, &on, Mode::Plan, false).await;
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].name, "cfrp-shop-distribution");
        assert_eq!(changes[0].action, Action::Create);
        assert!(account.mutating_calls().is_empty());

        let (changes, calls) = run_stack(&account, &on, Mode::Apply, false).await;
        assert_eq!(changes[0].action, Action::Create);
        assert_eq!(
            subscription_calls(&calls),
            vec!["cloudfront:CreateMonitoringSubscription"]
        );
        let id = distribution_id(&account, &calls);
        assert_eq!(account.metrics_subscription(&id), Some(true));

        let before = account.mutating_calls().len();
        let (changes, _) = run_stack(&account, &on, Mode::Apply, false).await;
        assert_eq!(changes[0].action, Action::Unchanged);
        assert_eq!(account.mutating_calls()[before..], Vec::<String>::new());
    }

    #[tokio::test]
    async fn off_by_default_turning_it_off_deletes_it_and_down_removes_it_before_the_distribution()
    {
        let account = FakeAccount::new("eu-west-1", ACCOUNT);
        // Off from the start: no decision, no subscription call but reads.
        let (changes, calls) = run_stack(&account, &config(false), Mode::Apply, false).await;
        assert!(changes.is_empty(), "{changes:?}");
        assert!(subscription_calls(&calls).is_empty(), "{calls:#?}");
        let id = distribution_id(&account, &calls);
        assert_eq!(account.metrics_subscription(&id), None);

        run_stack(&account, &config(true), Mode::Apply, false).await;
        assert_eq!(account.metrics_subscription(&id), Some(true));
        let (changes, calls) = run_stack(&account, &config(false), Mode::Plan, false).await;
        assert_eq!(changes[0].action, Action::Delete);
        assert!(subscription_calls(&calls).is_empty());
        let (changes, calls) = run_stack(&account, &config(false), Mode::Apply, false).await;
        assert_eq!(changes[0].action, Action::Delete);
        assert_eq!(
            subscription_calls(&calls),
            vec!["cloudfront:DeleteMonitoringSubscription"]
        );
        assert_eq!(account.metrics_subscription(&id), None);

        run_stack(&account, &config(true), Mode::Apply, false).await;
        let (changes, calls) = run_stack(&account, &config(true), Mode::Apply, true).await;
        assert_eq!(changes[0].action, Action::Delete);
        let position = |prefix: &str| calls.iter().position(|c| c.starts_with(prefix));
        let deleted = position("cloudfront:DeleteMonitoringSubscription");
        let disabled = position("cloudfront:UpdateDistribution");
        assert!(deleted.is_some() && deleted < disabled, "{calls:#?}");
        assert!(account.distribution(&id).is_none());
        assert_eq!(account.metrics_subscription(&id), None);
    }

    #[tokio::test]
    async fn a_disabled_subscription_made_elsewhere_is_replaced_by_an_enabled_one() {
        let account = FakeAccount::new("eu-west-1", ACCOUNT);
        let (_, calls) = run_stack(&account, &config(false), Mode::Apply, false).await;
        let id = distribution_id(&account, &calls);
        let ports = account.ports();
        if let Err(err) = ports
            .metrics_subscriptions
            .create_subscription(&id, false)
            .await
        {
            panic!("{err}");
        }
        let (changes, calls) = run_stack(&account, &config(true), Mode::Apply, false).await;
        let Action::Update { changes: fields } = &changes[0].action else {
            panic!("{changes:?}");
        };
        assert_eq!(fields[0].from.as_deref(), Some("Disabled"));
        assert_eq!(fields[0].to.as_deref(), Some("Enabled"));
        assert_eq!(
            subscription_calls(&calls),
            vec![
                "cloudfront:DeleteMonitoringSubscription",
                "cloudfront:CreateMonitoringSubscription"
            ]
        );
        assert_eq!(account.metrics_subscription(&id), Some(true));
    }

    #[tokio::test]
    async fn the_fake_answers_as_cloudfront_does() {
        let account = FakeAccount::new("eu-west-1", ACCOUNT);
        let ports = account.ports();
        let missing = ports.metrics_subscriptions.subscription("E0000").await;
        assert!(
            missing
                .err()
                .is_some_and(|e| e.to_string().contains("NoSuchDistribution")),
        );
    }
}
