//! The alarm topic (with its optional e-mail subscription), one CloudWatch alarm per rule,
//! and the dashboard.

use crate::context::Run;
use crate::diff::{Action, fields};
use crate::error::DeployError;
use crate::ports::cloudwatch::Alarm;
use crate::spec::alarms::{self as spec, AlarmSpec};
use crate::spec::policy::canonical;

const TOPIC: &str = "SNS topic";
const SUBSCRIPTION: &str = "SNS e-mail subscription";
const ALARM: &str = "CloudWatch alarm";
const DASHBOARD: &str = "CloudWatch dashboard";

pub async fn converge_topic(run: &Run<'_>, arn: &str) -> Result<(), DeployError> {
    let topics = &run.ports.topics;
    let name = run.names.alarm_topic();
    // Encrypted only with a key the config names: SNS's AWS-managed key `alias/aws/sns`
    // would keep CloudWatch from publishing alarms to it (its key policy cannot be edited).
    let key = run.config.encryption.kms_key_arn.clone();
    let key_text = |key: Option<&str>| key.unwrap_or("none").to_string();
    let desired = fields([
        ("exists", "true".to_string()),
        ("kms_key", key_text(key.as_deref())),
    ]);
    let current = topics.kms_key(arn).await?;
    let observed = current.as_ref().map(|current| {
        fields([
            ("exists", "true".to_string()),
            ("kms_key", key_text(current.as_deref())),
        ])
    });
    let action = run.decide(TOPIC, &name, &desired, observed.as_ref());
    if run.applying() && action.is_change() {
        if action == Action::Create {
            run.mutating("sns:CreateTopic", &name)?;
            topics.create(&name, run.tags()).await?;
        }
        // A new topic has no key: set only when one is wanted.
        if current.clone().flatten() != key {
            run.mutating("sns:SetTopicAttributes", &name)?;
            topics
                .set_kms_key(arn, key.as_deref().unwrap_or_default())
                .await?;
        }
    }
    let Some(email) = run.config.alarms.email.clone() else {
        return Ok(());
    };
    // A topic made just now has no subscriptions yet: nothing to list.
    let subscribed = current.is_some() && email_subscriptions(run, arn).await?.contains(&email);
    let desired = fields([("endpoint", email.clone())]);
    let observed = subscribed.then(|| desired.clone());
    let action = run.decide(SUBSCRIPTION, &email, &desired, observed.as_ref());
    if run.applying() && action == Action::Create {
        run.mutating("sns:Subscribe", &email)?;
        topics.subscribe(arn, "email", &email).await?;
        run.progress.step(&format!(
            "{email} gets a confirmation e-mail from AWS; alarms reach it once confirmed"
        ));
    }
    Ok(())
}

pub async fn remove_topic(run: &Run<'_>, arn: &str) -> Result<(), DeployError> {
    if !run.ports.topics.exists(arn).await? {
        return Ok(());
    }
    run.note(TOPIC, &run.names.alarm_topic(), Action::Delete);
    // Deleting a topic deletes its subscriptions; they are listed so `down` reports what
    // `up` created.
    for email in email_subscriptions(run, arn).await? {
        run.note(SUBSCRIPTION, &email, Action::Delete);
    }
    // `plan` lists the deletion; only `up`/`down` carry it out.
    if !run.applying() {
        return Ok(());
    }
    run.mutating("sns:DeleteTopic", arn)?;
    run.ports.topics.delete(arn).await
}

/// The e-mail addresses subscribed to the topic (pending confirmation or not: a second `up`
/// before the owner confirms must not subscribe them again).
async fn email_subscriptions(run: &Run<'_>, arn: &str) -> Result<Vec<String>, DeployError> {
    Ok(run
        .ports
        .topics
        .subscriptions(arn)
        .await?
        .into_iter()
        .filter(|s| s.protocol == "email")
        .filter_map(|s| s.endpoint)
        .collect())
}

/// The stack's existing alarms: the rules' and the pipeline's.
async fn existing_alarms(run: &Run<'_>) -> Result<Vec<Alarm>, DeployError> {
    let mut alarms = run.ports.cloudwatch.alarms(&run.names.alarm("")).await?;
    alarms.extend(
        run.ports
            .cloudwatch
            .alarms(&run.names.pipeline_alarm(""))
            .await?,
    );
    Ok(alarms)
}

pub async fn converge_alarms(run: &Run<'_>, specs: &[AlarmSpec]) -> Result<(), DeployError> {
    let existing = existing_alarms(run).await?;
    for alarm in specs {
        let observed = existing
            .iter()
            .find(|a| a.name == alarm.name)
            .map(spec::flatten_existing);
        let action = run.decide(ALARM, &alarm.name, &alarm.flatten(), observed.as_ref());
        if run.applying() && action.is_change() {
            put_alarm(run, alarm).await?;
        }
    }
    let candidates: Vec<&Alarm> = existing
        .iter()
        .filter(|a| specs.iter().all(|s| s.name != a.name))
        .collect();
    for stale in ours(run, candidates).await? {
        run.note(ALARM, &stale, Action::Delete);
        if run.applying() {
            delete_alarms(run, vec![stale]).await?;
        }
    }
    Ok(())
}

/// Of alarms found by name prefix, the names of those this stack made. A prefix also matches
/// another stack's alarms when that stack's name extends this one's (`shop` and
/// `shop-rule`), so an alarm the config does not name is ours only if tagged so.
async fn ours(run: &Run<'_>, alarms: Vec<&Alarm>) -> Result<Vec<String>, DeployError> {
    let known: Vec<String> = spec::alarm_names(run.config);
    let stack_tag = run.tags().into_iter().next();
    let mut out = Vec::new();
    for alarm in alarms {
        if known.contains(&alarm.name) {
            out.push(alarm.name.clone());
            continue;
        }
        let arn = run.arn("cloudwatch", &format!("alarm:{}", alarm.name));
        let tags = run.ports.cloudwatch.alarm_tags(&arn).await?;
        if stack_tag.as_ref().is_some_and(|t| tags.contains(t)) {
            out.push(alarm.name.clone());
        }
    }
    Ok(out)
}

/// PutMetricAlarm replaces the whole alarm, so one call both creates and updates it.
async fn put_alarm(run: &Run<'_>, alarm: &AlarmSpec) -> Result<(), DeployError> {
    run.mutating("cloudwatch:PutMetricAlarm", &alarm.name)?;
    run.ports.cloudwatch.put_alarm(alarm, run.tags()).await
}

async fn delete_alarms(run: &Run<'_>, names: Vec<String>) -> Result<(), DeployError> {
    run.mutating("cloudwatch:DeleteAlarms", &names.join(","))?;
    run.ports.cloudwatch.delete_alarms(names).await
}

pub async fn remove_alarms(run: &Run<'_>) -> Result<(), DeployError> {
    let existing = existing_alarms(run).await?;
    let names = ours(run, existing.iter().collect()).await?;
    if names.is_empty() {
        return Ok(());
    }
    for name in &names {
        run.note(ALARM, name, Action::Delete);
    }
    // `plan` lists the deletion; only `up`/`down` carry it out.
    if !run.applying() {
        return Ok(());
    }
    // DeleteAlarms takes up to 100 names per call.
    for chunk in names.chunks(100) {
        delete_alarms(run, chunk.to_vec()).await?;
    }
    Ok(())
}

/// The dashboard's body in canonical form (AWS may answer it with other spacing or key
/// order than it was sent with).
async fn dashboard_body(run: &Run<'_>, name: &str) -> Result<Option<String>, DeployError> {
    Ok(run
        .ports
        .cloudwatch
        .dashboard(name)
        .await?
        .map(|body| canonical(&body)))
}

pub async fn converge_dashboard(
    run: &Run<'_>,
    body: &serde_json::Value,
) -> Result<(), DeployError> {
    let name = run.names.dashboard();
    let desired = fields([("body", body.to_string())]);
    let observed = dashboard_body(run, &name)
        .await?
        .map(|b| fields([("body", b)]));
    let action = run.decide(DASHBOARD, &name, &desired, observed.as_ref());
    if !run.applying() || !action.is_change() {
        return Ok(());
    }
    run.mutating("cloudwatch:PutDashboard", &name)?;
    run.ports
        .cloudwatch
        .put_dashboard(&name, body.to_string())
        .await
}

pub async fn remove_dashboard(run: &Run<'_>) -> Result<(), DeployError> {
    let name = run.names.dashboard();
    if dashboard_body(run, &name).await?.is_none() {
        return Ok(());
    }
    run.note(DASHBOARD, &name, Action::Delete);
    // `plan` lists the deletion; only `up`/`down` carry it out.
    if !run.applying() {
        return Ok(());
    }
    run.mutating("cloudwatch:DeleteDashboards", &name)?;
    run.ports.cloudwatch.delete_dashboard(&name).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::Mode;
    use crate::diff::{Change, FieldChange};
    use crate::ports::fake::FakeAccount;
    use crate::ports::sns::{FakeSubscription, Topics};
    use cfrp_config::StackConfig;

    const ACCOUNT: &str = "123456789012";
    const REGION: &str = "eu-west-1";
    const EMAIL: &str = "ops@example.com";
    const TOPIC_NAME: &str = "cfrp-shop-alarms";
    const DASHBOARD_NAME: &str = "cfrp-shop-dashboard";

    fn config() -> StackConfig {
        let mut config = StackConfig::for_origin("shop", REGION, "app.example.com");
        config.alarms.email = Some(EMAIL.to_string());
        config
    }

    fn topic_arn() -> String {
        format!("arn:aws:sns:{REGION}:{ACCOUNT}:{TOPIC_NAME}")
    }

    fn alarm_specs() -> Vec<AlarmSpec> {
        let specs = spec::alarms(&config(), &topic_arn());
        assert!(specs.len() >= 2, "the default rules give several alarms");
        specs
    }

    fn dashboard() -> serde_json::Value {
        crate::spec::dashboard::body(&config(), "d111111abcdef8.cloudfront.net", "E2EXAMPLE")
    }

    /// One step of the module, run against the fake account.
    enum Step {
        /// The topic, with this e-mail address subscribed.
        Topic(Option<&'static str>),
        RemoveTopic,
        Alarms(Vec<AlarmSpec>),
        RemoveAlarms,
        Dashboard(serde_json::Value),
        RemoveDashboard,
    }

    /// What a run of one step did.
    struct Outcome {
        result: Result<(), DeployError>,
        changes: Vec<Change>,
        mutations: Vec<String>,
    }

    impl Outcome {
        fn actions(&self) -> Vec<(String, String, Action)> {
            self.changes
                .iter()
                .map(|c| (c.kind.clone(), c.name.clone(), c.action.clone()))
                .collect()
        }

        fn error(&self) -> String {
            self.result
                .as_ref()
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        }
    }

    async fn run(account: &FakeAccount, mode: Mode, step: Step) -> Outcome {
        let mut config = config();
        if let Step::Topic(email) = &step {
            config.alarms.email = email.map(str::to_string);
        }
        let run = Run::offline(&config, account.ports(), ACCOUNT, mode);
        let result = match &step {
            Step::Topic(_) => converge_topic(&run, &topic_arn()).await,
            Step::RemoveTopic => remove_topic(&run, &topic_arn()).await,
            Step::Alarms(specs) => converge_alarms(&run, specs).await,
            Step::RemoveAlarms => remove_alarms(&run).await,
            Step::Dashboard(body) => converge_dashboard(&run, body).await,
            Step::RemoveDashboard => remove_dashboard(&run).await,
        };
        Outcome {
            result,
            changes: run.changes(),
            mutations: run.mutations(),
        }
    }

    #[tokio::test]
    async fn a_configured_key_encrypts_the_topic_once_and_none_is_set_without_one() {
        const KEY: &str =
            "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        let account = FakeAccount::new(REGION, ACCOUNT);
        let mut keyed = StackConfig::for_origin("shop", REGION, "app.example.com");
        keyed.encryption.kms_key_arn = Some(KEY.to_string());
        let up = Run::offline(&keyed, account.ports(), ACCOUNT, Mode::Apply);
        assert!(converge_topic(&up, &topic_arn()).await.is_ok());
        assert_eq!(
            up.mutations(),
            vec![
                format!("sns:CreateTopic {TOPIC_NAME}"),
                format!("sns:SetTopicAttributes {TOPIC_NAME}")
            ]
        );
        assert_eq!(
            account.topic(&topic_arn()).map(|t| t.kms_key),
            Some(KEY.to_string())
        );
        let again = Run::offline(&keyed, account.ports(), ACCOUNT, Mode::Apply);
        assert!(converge_topic(&again, &topic_arn()).await.is_ok());
        assert_eq!(again.changes()[0].action, Action::Unchanged);
        assert!(again.mutations().is_empty());

        // The key taken out of the config: one field, and encryption turned off.
        let plain = StackConfig::for_origin("shop", REGION, "app.example.com");
        let off = Run::offline(&plain, account.ports(), ACCOUNT, Mode::Apply);
        assert!(converge_topic(&off, &topic_arn()).await.is_ok());
        assert_eq!(
            off.changes()[0].action,
            Action::Update {
                changes: vec![crate::diff::FieldChange {
                    field: "kms_key".into(),
                    from: Some(KEY.into()),
                    to: Some("none".into()),
                }]
            }
        );
        assert_eq!(
            off.mutations(),
            vec![format!("sns:SetTopicAttributes {TOPIC_NAME}")]
        );
        assert_eq!(
            account.topic(&topic_arn()).map(|t| t.kms_key),
            Some(String::new())
        );
    }

    fn change(kind: &str, name: &str, action: Action) -> (String, String, Action) {
        (kind.to_string(), name.to_string(), action)
    }

    fn stack_tag() -> (String, String) {
        ("cfrp:stack".to_string(), "shop".to_string())
    }

    // The topic and its e-mail subscription.

    #[tokio::test]
    async fn from_nothing_a_plan_makes_no_topic_and_up_makes_it_tagged_with_the_email_subscribed() {
        let account = FakeAccount::new(REGION, ACCOUNT);
        let plan = run(&account, Mode::Plan, Step::Topic(Some(EMAIL))).await;
        assert!(plan.result.is_ok(), "{}", plan.error());
        assert_eq!(
            plan.actions(),
            vec![
                change(TOPIC, TOPIC_NAME, Action::Create),
                change(SUBSCRIPTION, EMAIL, Action::Create),
            ]
        );
        assert!(plan.mutations.is_empty() && account.mutating_calls().is_empty());
        assert!(account.topic(&topic_arn()).is_none());

        let up = run(&account, Mode::Apply, Step::Topic(Some(EMAIL))).await;
        assert!(up.result.is_ok(), "{}", up.error());
        assert_eq!(
            up.mutations,
            vec![
                format!("sns:CreateTopic {TOPIC_NAME}"),
                format!("sns:Subscribe {EMAIL}"),
            ]
        );
        let topic = account.topic(&topic_arn()).unwrap_or_default();
        assert_eq!(topic.name, TOPIC_NAME);
        assert!(topic.tags.contains(&stack_tag()));
        assert_eq!(
            topic.subscriptions,
            vec![FakeSubscription {
                protocol: "email".into(),
                endpoint: EMAIL.into(),
                pending_confirmation: true,
            }]
        );
    }

    #[tokio::test]
    async fn without_an_email_only_the_topic_is_made() {
        let account = FakeAccount::new(REGION, ACCOUNT);
        let up = run(&account, Mode::Apply, Step::Topic(None)).await;
        assert!(up.result.is_ok(), "{}", up.error());
        assert_eq!(
            up.actions(),
            vec![change(TOPIC, TOPIC_NAME, Action::Create)]
        );
        assert_eq!(up.mutations, vec![format!("sns:CreateTopic {TOPIC_NAME}")]);
        let topic = account.topic(&topic_arn()).unwrap_or_default();
        assert!(topic.subscriptions.is_empty());
    }

    #[tokio::test]
    async fn a_converged_topic_is_unchanged_while_its_subscription_awaits_confirmation() {
        let account = FakeAccount::new(REGION, ACCOUNT);
        let _ = run(&account, Mode::Apply, Step::Topic(Some(EMAIL))).await;
        let before = account.mutating_calls().len();
        let again = run(&account, Mode::Apply, Step::Topic(Some(EMAIL))).await;
        assert!(again.result.is_ok(), "{}", again.error());
        assert_eq!(
            again.actions(),
            vec![
                change(TOPIC, TOPIC_NAME, Action::Unchanged),
                change(SUBSCRIPTION, EMAIL, Action::Unchanged),
            ]
        );
        assert!(again.mutations.is_empty());
        assert_eq!(account.mutating_calls().len(), before);
        let topic = account.topic(&topic_arn()).unwrap_or_default();
        assert_eq!(topic.subscriptions.len(), 1);
    }

    #[tokio::test]
    async fn an_email_unsubscribed_by_hand_is_planned_and_subscribed_again_alone() {
        let account = FakeAccount::new(REGION, ACCOUNT);
        let _ = run(&account, Mode::Apply, Step::Topic(Some(EMAIL))).await;
        account.edit_topic(&topic_arn(), |t| t.subscriptions.clear());

        let plan = run(&account, Mode::Plan, Step::Topic(Some(EMAIL))).await;
        assert_eq!(
            plan.actions(),
            vec![
                change(TOPIC, TOPIC_NAME, Action::Unchanged),
                change(SUBSCRIPTION, EMAIL, Action::Create),
            ]
        );
        assert!(plan.mutations.is_empty());
        let topic = account.topic(&topic_arn()).unwrap_or_default();
        assert!(topic.subscriptions.is_empty(), "a plan subscribes nobody");

        let up = run(&account, Mode::Apply, Step::Topic(Some(EMAIL))).await;
        assert!(up.result.is_ok(), "{}", up.error());
        assert_eq!(up.mutations, vec![format!("sns:Subscribe {EMAIL}")]);
        let topic = account.topic(&topic_arn()).unwrap_or_default();
        assert_eq!(topic.subscriptions.len(), 1);
    }

    #[tokio::test]
    async fn a_topic_deleted_by_hand_is_made_again_with_its_subscription() {
        let account = FakeAccount::new(REGION, ACCOUNT);
        let _ = run(&account, Mode::Apply, Step::Topic(Some(EMAIL))).await;
        // As `aws sns delete-topic` would, outside the deployer.
        assert!(Topics::delete(&account, &topic_arn()).await.is_ok());

        let up = run(&account, Mode::Apply, Step::Topic(Some(EMAIL))).await;
        assert!(up.result.is_ok(), "{}", up.error());
        assert_eq!(
            up.actions(),
            vec![
                change(TOPIC, TOPIC_NAME, Action::Create),
                change(SUBSCRIPTION, EMAIL, Action::Create),
            ]
        );
        assert_eq!(
            up.mutations,
            vec![
                format!("sns:CreateTopic {TOPIC_NAME}"),
                format!("sns:Subscribe {EMAIL}"),
            ]
        );
        let topic = account.topic(&topic_arn()).unwrap_or_default();
        assert_eq!(topic.subscriptions.len(), 1);
    }

    #[tokio::test]
    async fn remove_topic_lists_its_subscription_deletes_once_and_then_finds_nothing() {
        let account = FakeAccount::new(REGION, ACCOUNT);
        let _ = run(&account, Mode::Apply, Step::Topic(Some(EMAIL))).await;

        let plan = run(&account, Mode::Plan, Step::RemoveTopic).await;
        assert!(plan.result.is_ok(), "{}", plan.error());
        assert_eq!(
            plan.actions(),
            vec![
                change(TOPIC, TOPIC_NAME, Action::Delete),
                change(SUBSCRIPTION, EMAIL, Action::Delete),
            ]
        );
        assert!(plan.mutations.is_empty());
        assert!(
            account.topic(&topic_arn()).is_some(),
            "a plan deletes nothing"
        );

        let down = run(&account, Mode::Apply, Step::RemoveTopic).await;
        assert!(down.result.is_ok(), "{}", down.error());
        assert_eq!(
            down.mutations,
            vec![format!("sns:DeleteTopic {}", topic_arn())]
        );
        assert!(account.topic(&topic_arn()).is_none());

        let again = run(&account, Mode::Apply, Step::RemoveTopic).await;
        assert!(again.result.is_ok(), "{}", again.error());
        assert!(again.changes.is_empty() && again.mutations.is_empty());
    }

    #[tokio::test]
    async fn a_subscribe_that_fails_keeps_the_topic_and_the_next_run_only_subscribes() {
        let account = FakeAccount::new(REGION, ACCOUNT);
        account.fail("sns:Subscribe", 1);
        let up = run(&account, Mode::Apply, Step::Topic(Some(EMAIL))).await;
        assert!(
            up.error()
                .contains(&format!("sns:Subscribe for {EMAIL} failed")),
            "{}",
            up.error()
        );
        let topic = account.topic(&topic_arn()).unwrap_or_default();
        assert_eq!(
            topic.name, TOPIC_NAME,
            "the topic was made before the failure"
        );
        assert!(topic.subscriptions.is_empty());

        let resumed = run(&account, Mode::Apply, Step::Topic(Some(EMAIL))).await;
        assert!(resumed.result.is_ok(), "{}", resumed.error());
        assert_eq!(
            resumed.actions(),
            vec![
                change(TOPIC, TOPIC_NAME, Action::Unchanged),
                change(SUBSCRIPTION, EMAIL, Action::Create),
            ]
        );
        assert_eq!(resumed.mutations, vec![format!("sns:Subscribe {EMAIL}")]);
        let converged = run(&account, Mode::Apply, Step::Topic(Some(EMAIL))).await;
        assert!(converged.mutations.is_empty());
    }

    // The rule alarms.

    fn put_calls(specs: &[AlarmSpec]) -> Vec<String> {
        specs
            .iter()
            .map(|s| format!("cloudwatch:PutMetricAlarm {}", s.name))
            .collect()
    }

    #[tokio::test]
    async fn from_nothing_a_plan_makes_no_alarm_and_up_makes_one_per_rule_tagged() {
        let account = FakeAccount::new(REGION, ACCOUNT);
        let specs = alarm_specs();
        let plan = run(&account, Mode::Plan, Step::Alarms(specs.clone())).await;
        assert!(plan.result.is_ok(), "{}", plan.error());
        assert_eq!(
            plan.actions(),
            specs
                .iter()
                .map(|s| change(ALARM, &s.name, Action::Create))
                .collect::<Vec<_>>()
        );
        assert!(plan.mutations.is_empty() && account.mutating_calls().is_empty());
        assert!(account.alarm_names().is_empty());

        let up = run(&account, Mode::Apply, Step::Alarms(specs.clone())).await;
        assert!(up.result.is_ok(), "{}", up.error());
        assert_eq!(up.mutations, put_calls(&specs));
        for alarm in &specs {
            let made = account.alarm(&alarm.name).unwrap_or_default();
            assert_eq!(made.alarm.description, alarm.description);
            assert_eq!(made.alarm.alarm_actions, vec![topic_arn()]);
            assert_eq!(made.alarm.ok_actions, vec![topic_arn()]);
            assert_eq!(made.alarm, alarm.as_alarm());
            assert!(made.tags.contains(&stack_tag()));
        }
    }

    #[tokio::test]
    async fn converged_alarms_are_unchanged_and_cost_no_call() {
        let account = FakeAccount::new(REGION, ACCOUNT);
        let specs = alarm_specs();
        let _ = run(&account, Mode::Apply, Step::Alarms(specs.clone())).await;
        let before = account.mutating_calls().len();
        let again = run(&account, Mode::Apply, Step::Alarms(specs.clone())).await;
        assert!(again.result.is_ok(), "{}", again.error());
        assert!(again.changes.iter().all(|c| c.action == Action::Unchanged));
        assert_eq!(again.changes.len(), specs.len());
        assert!(again.mutations.is_empty());
        assert_eq!(account.mutating_calls().len(), before);
    }

    #[tokio::test]
    async fn a_threshold_changed_by_hand_is_one_field_and_one_put_of_only_that_alarm() {
        let account = FakeAccount::new(REGION, ACCOUNT);
        let specs = alarm_specs();
        let first = specs[0].name.clone();
        let _ = run(&account, Mode::Apply, Step::Alarms(specs.clone())).await;
        account.edit_alarm(&first, |a| a.threshold = 2.0);
        let drift = Action::Update {
            changes: vec![FieldChange {
                field: "threshold".into(),
                from: Some("GreaterThanOrEqualToThreshold 2".into()),
                to: Some("GreaterThanOrEqualToThreshold 1".into()),
            }],
        };

        let plan = run(&account, Mode::Plan, Step::Alarms(specs.clone())).await;
        assert_eq!(plan.changes[0].action, drift);
        assert!(
            plan.changes[1..]
                .iter()
                .all(|c| c.action == Action::Unchanged)
        );
        assert!(plan.mutations.is_empty());
        let drifted = account.alarm(&first).unwrap_or_default();
        assert_eq!(drifted.alarm.threshold, 2.0, "a plan fixes nothing");

        let up = run(&account, Mode::Apply, Step::Alarms(specs.clone())).await;
        assert!(up.result.is_ok(), "{}", up.error());
        assert_eq!(up.changes[0].action, drift);
        assert_eq!(
            up.mutations,
            vec![format!("cloudwatch:PutMetricAlarm {first}")]
        );
        let fixed = account.alarm(&first).unwrap_or_default();
        assert_eq!(fixed.alarm.threshold, spec::ALARM_VALUE);
        assert!(
            fixed.tags.contains(&stack_tag()),
            "an update keeps the tags"
        );
    }

    #[tokio::test]
    async fn the_alarm_of_a_rule_taken_out_of_the_config_is_deleted_alone() {
        let account = FakeAccount::new(REGION, ACCOUNT);
        let specs = alarm_specs();
        let _ = run(&account, Mode::Apply, Step::Alarms(specs.clone())).await;
        let kept = specs[1..].to_vec();
        let gone = specs[0].name.clone();

        let plan = run(&account, Mode::Plan, Step::Alarms(kept.clone())).await;
        assert!(
            plan.actions()
                .contains(&change(ALARM, &gone, Action::Delete))
        );
        assert!(plan.mutations.is_empty());
        assert!(account.alarm(&gone).is_some(), "a plan deletes nothing");

        let up = run(&account, Mode::Apply, Step::Alarms(kept.clone())).await;
        assert!(up.result.is_ok(), "{}", up.error());
        assert_eq!(
            up.mutations,
            vec![format!("cloudwatch:DeleteAlarms {gone}")]
        );
        assert!(account.alarm(&gone).is_none());
        assert_eq!(account.alarm_names().len(), kept.len());
    }

    #[tokio::test]
    async fn remove_alarms_deletes_them_in_one_call_and_then_finds_nothing() {
        let account = FakeAccount::new(REGION, ACCOUNT);
        let specs = alarm_specs();
        let _ = run(&account, Mode::Apply, Step::Alarms(specs.clone())).await;
        // Read by prefix: the rules' alarms, then the pipeline's, each in name order.
        let (mut names, mut pipeline): (Vec<String>, Vec<String>) = specs
            .iter()
            .map(|s| s.name.clone())
            .partition(|n| n.starts_with("cfrp-shop-rule-"));
        names.sort();
        pipeline.sort();
        names.extend(pipeline);

        let plan = run(&account, Mode::Plan, Step::RemoveAlarms).await;
        assert!(plan.result.is_ok(), "{}", plan.error());
        assert_eq!(
            plan.actions(),
            names
                .iter()
                .map(|n| change(ALARM, n, Action::Delete))
                .collect::<Vec<_>>()
        );
        assert!(plan.mutations.is_empty());
        assert_eq!(
            account.alarm_names().len(),
            names.len(),
            "a plan deletes nothing"
        );

        let down = run(&account, Mode::Apply, Step::RemoveAlarms).await;
        assert!(down.result.is_ok(), "{}", down.error());
        assert_eq!(
            down.mutations,
            vec![format!("cloudwatch:DeleteAlarms {}", names.join(","))]
        );
        assert!(account.alarm_names().is_empty());

        let again = run(&account, Mode::Apply, Step::RemoveAlarms).await;
        assert!(again.result.is_ok(), "{}", again.error());
        assert!(again.changes.is_empty() && again.mutations.is_empty());
    }

    #[tokio::test]
    async fn another_stack_whose_name_extends_ours_keeps_its_alarms() {
        let account = FakeAccount::new(REGION, ACCOUNT);
        let specs = alarm_specs();
        let _ = run(&account, Mode::Apply, Step::Alarms(specs.clone())).await;
        // Stack "shop-rule"'s rule "x" and stack "shop-pipeline"'s pipeline alarm: both
        // start with one of stack "shop"'s prefixes.
        let theirs = ["cfrp-shop-rule-rule-x", "cfrp-shop-pipeline-pipeline-x"];
        for name in theirs {
            let other = name.replacen("cfrp-shop-", "", 1);
            let stack = other.split_once('-').map_or("", |(s, _)| s);
            account.add_alarm(
                Alarm {
                    name: name.to_string(),
                    ..specs[0].as_alarm()
                },
                vec![("cfrp:stack".to_string(), format!("shop-{stack}"))],
            );
        }
        // An alarm of ours left out of the specs is deleted, theirs are not.
        let (removed, kept) = specs.split_at(1);
        let up = run(&account, Mode::Apply, Step::Alarms(kept.to_vec())).await;
        assert!(up.result.is_ok(), "{}", up.error());
        assert_eq!(
            up.mutations,
            vec![format!("cloudwatch:DeleteAlarms {}", removed[0].name)]
        );
        for name in theirs {
            assert!(account.alarm(name).is_some(), "{name} is not ours");
        }

        let down = run(&account, Mode::Apply, Step::RemoveAlarms).await;
        assert!(down.result.is_ok(), "{}", down.error());
        let mut left = theirs.map(str::to_string).to_vec();
        left.sort();
        assert_eq!(account.alarm_names(), left);
    }

    #[tokio::test]
    async fn more_than_a_hundred_alarms_are_removed_in_calls_of_at_most_a_hundred() {
        let account = FakeAccount::new(REGION, ACCOUNT);
        let names = config().names();
        let template = alarm_specs()[0].clone();
        let many: Vec<AlarmSpec> = (0..150)
            .map(|i| AlarmSpec {
                name: names.alarm(&format!("r{i:03}")),
                ..template.clone()
            })
            .collect();
        let up = run(&account, Mode::Apply, Step::Alarms(many)).await;
        assert!(up.result.is_ok(), "{}", up.error());
        assert_eq!(account.alarm_names().len(), 150);

        // The fake refuses more than 100 names in one call, as AWS does.
        let down = run(&account, Mode::Apply, Step::RemoveAlarms).await;
        assert!(down.result.is_ok(), "{}", down.error());
        assert_eq!(down.mutations.len(), 2);
        assert!(account.alarm_names().is_empty());
    }

    #[tokio::test]
    async fn a_delete_that_fails_after_a_put_is_resumed_by_the_next_run() {
        let account = FakeAccount::new(REGION, ACCOUNT);
        let specs = alarm_specs();
        let _ = run(&account, Mode::Apply, Step::Alarms(specs.clone())).await;
        // The first rule renamed: one alarm to make, then one to delete.
        let mut renamed = specs.clone();
        renamed[0].name = config().names().alarm("Renamed");
        let old = specs[0].name.clone();
        let new = renamed[0].name.clone();

        account.fail("cloudwatch:DeleteAlarms", 1);
        let failed = run(&account, Mode::Apply, Step::Alarms(renamed.clone())).await;
        assert!(
            failed
                .error()
                .contains(&format!("cloudwatch:DeleteAlarms for {old} failed")),
            "{}",
            failed.error()
        );
        assert!(
            account.alarm(&new).is_some(),
            "the put before it went through"
        );
        assert!(account.alarm(&old).is_some());

        let resumed = run(&account, Mode::Apply, Step::Alarms(renamed.clone())).await;
        assert!(resumed.result.is_ok(), "{}", resumed.error());
        assert!(
            resumed
                .actions()
                .contains(&change(ALARM, &new, Action::Unchanged))
        );
        assert!(
            resumed
                .actions()
                .contains(&change(ALARM, &old, Action::Delete))
        );
        assert_eq!(
            resumed.mutations,
            vec![format!("cloudwatch:DeleteAlarms {old}")]
        );
        assert!(account.alarm(&old).is_none());

        let converged = run(&account, Mode::Apply, Step::Alarms(renamed)).await;
        assert!(converged.result.is_ok() && converged.mutations.is_empty());
    }

    #[tokio::test]
    async fn a_put_that_fails_is_reported_with_the_call_and_the_next_run_makes_every_alarm() {
        let account = FakeAccount::new(REGION, ACCOUNT);
        let specs = alarm_specs();
        account.fail("cloudwatch:PutMetricAlarm", 1);
        let failed = run(&account, Mode::Apply, Step::Alarms(specs.clone())).await;
        assert!(
            failed.error().contains(&format!(
                "cloudwatch:PutMetricAlarm for {} failed",
                specs[0].name
            )),
            "{}",
            failed.error()
        );
        assert!(account.alarm_names().is_empty());

        let resumed = run(&account, Mode::Apply, Step::Alarms(specs.clone())).await;
        assert!(resumed.result.is_ok(), "{}", resumed.error());
        assert_eq!(resumed.mutations, put_calls(&specs));
        assert_eq!(account.alarm_names().len(), specs.len());
    }

    // The dashboard.

    #[tokio::test]
    async fn from_nothing_a_plan_makes_no_dashboard_and_up_puts_the_body() {
        let account = FakeAccount::new(REGION, ACCOUNT);
        let plan = run(&account, Mode::Plan, Step::Dashboard(dashboard())).await;
        assert!(plan.result.is_ok(), "{}", plan.error());
        assert_eq!(
            plan.actions(),
            vec![change(DASHBOARD, DASHBOARD_NAME, Action::Create)]
        );
        assert!(plan.mutations.is_empty() && account.mutating_calls().is_empty());
        assert!(account.dashboard(DASHBOARD_NAME).is_none());

        let up = run(&account, Mode::Apply, Step::Dashboard(dashboard())).await;
        assert!(up.result.is_ok(), "{}", up.error());
        assert_eq!(
            up.mutations,
            vec![format!("cloudwatch:PutDashboard {DASHBOARD_NAME}")]
        );
        assert_eq!(
            account.dashboard(DASHBOARD_NAME),
            Some(dashboard().to_string())
        );
    }

    #[tokio::test]
    async fn a_dashboard_answered_with_other_spacing_is_unchanged_and_costs_no_call() {
        let account = FakeAccount::new(REGION, ACCOUNT);
        let _ = run(&account, Mode::Apply, Step::Dashboard(dashboard())).await;
        let pretty = serde_json::to_string_pretty(&dashboard()).unwrap_or_default();
        account.edit_dashboard(DASHBOARD_NAME, |body| *body = pretty);
        let before = account.mutating_calls().len();

        let again = run(&account, Mode::Apply, Step::Dashboard(dashboard())).await;
        assert!(again.result.is_ok(), "{}", again.error());
        assert_eq!(
            again.actions(),
            vec![change(DASHBOARD, DASHBOARD_NAME, Action::Unchanged)]
        );
        assert!(again.mutations.is_empty());
        assert_eq!(account.mutating_calls().len(), before);
    }

    #[tokio::test]
    async fn a_widget_retitled_by_hand_is_the_body_field_and_one_put() {
        let account = FakeAccount::new(REGION, ACCOUNT);
        let _ = run(&account, Mode::Apply, Step::Dashboard(dashboard())).await;
        let edited = dashboard()
            .to_string()
            .replace("Requests per minute", "Requests");
        account.edit_dashboard(DASHBOARD_NAME, |body| *body = edited.clone());
        let drift = Action::Update {
            changes: vec![FieldChange {
                field: "body".into(),
                from: Some(canonical(&edited)),
                to: Some(dashboard().to_string()),
            }],
        };

        let plan = run(&account, Mode::Plan, Step::Dashboard(dashboard())).await;
        assert_eq!(
            plan.actions(),
            vec![change(DASHBOARD, DASHBOARD_NAME, drift.clone())]
        );
        assert!(plan.mutations.is_empty());
        assert_eq!(account.dashboard(DASHBOARD_NAME), Some(edited.clone()));

        let up = run(&account, Mode::Apply, Step::Dashboard(dashboard())).await;
        assert!(up.result.is_ok(), "{}", up.error());
        assert_eq!(up.actions(), vec![change(DASHBOARD, DASHBOARD_NAME, drift)]);
        assert_eq!(
            up.mutations,
            vec![format!("cloudwatch:PutDashboard {DASHBOARD_NAME}")]
        );
        assert_eq!(
            account.dashboard(DASHBOARD_NAME),
            Some(dashboard().to_string())
        );
    }

    #[tokio::test]
    async fn remove_dashboard_deletes_once_and_then_finds_nothing() {
        let account = FakeAccount::new(REGION, ACCOUNT);
        let _ = run(&account, Mode::Apply, Step::Dashboard(dashboard())).await;

        let plan = run(&account, Mode::Plan, Step::RemoveDashboard).await;
        assert!(plan.result.is_ok(), "{}", plan.error());
        assert_eq!(
            plan.actions(),
            vec![change(DASHBOARD, DASHBOARD_NAME, Action::Delete)]
        );
        assert!(plan.mutations.is_empty());
        assert!(
            account.dashboard(DASHBOARD_NAME).is_some(),
            "a plan deletes nothing"
        );

        let down = run(&account, Mode::Apply, Step::RemoveDashboard).await;
        assert!(down.result.is_ok(), "{}", down.error());
        assert_eq!(
            down.mutations,
            vec![format!("cloudwatch:DeleteDashboards {DASHBOARD_NAME}")]
        );
        assert!(account.dashboard(DASHBOARD_NAME).is_none());

        let again = run(&account, Mode::Apply, Step::RemoveDashboard).await;
        assert!(again.result.is_ok(), "{}", again.error());
        assert!(again.changes.is_empty() && again.mutations.is_empty());
    }

    #[tokio::test]
    async fn a_dashboard_put_that_fails_is_reported_and_the_next_run_puts_it() {
        let account = FakeAccount::new(REGION, ACCOUNT);
        account.fail("cloudwatch:PutDashboard", 1);
        let failed = run(&account, Mode::Apply, Step::Dashboard(dashboard())).await;
        assert!(
            failed.error().contains(&format!(
                "cloudwatch:PutDashboard for {DASHBOARD_NAME} failed"
            )),
            "{}",
            failed.error()
        );
        assert!(account.dashboard(DASHBOARD_NAME).is_none());

        let resumed = run(&account, Mode::Apply, Step::Dashboard(dashboard())).await;
        assert!(resumed.result.is_ok(), "{}", resumed.error());
        assert_eq!(
            resumed.actions(),
            vec![change(DASHBOARD, DASHBOARD_NAME, Action::Create)]
        );
        assert_eq!(
            account.dashboard(DASHBOARD_NAME),
            Some(dashboard().to_string())
        );
    }
}
