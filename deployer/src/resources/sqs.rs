//! SQS queues: the manuscripts queue with its dead-letter queue, and the analyser's
//! on-failure destination.

use std::collections::BTreeMap;

use aws_sdk_sqs::types::QueueAttributeName;

use crate::context::Run;
use crate::diff::{Action, Fields};
use crate::error::DeployError;
use crate::spec::policy::canonical;

const KIND: &str = "SQS queue";

/// A queue and the attributes we manage (JSON-valued ones compare in canonical form).
#[derive(Debug, Clone)]
pub struct QueueSpec {
    pub name: String,
    pub attributes: BTreeMap<QueueAttributeName, String>,
}

fn comparable(name: &QueueAttributeName, value: &str) -> String {
    match name {
        QueueAttributeName::Policy | QueueAttributeName::RedrivePolicy => canonical(value),
        _ => value.to_string(),
    }
}

/// Attributes by their API names, comparable.
fn comparable_fields(attributes: &BTreeMap<String, String>) -> Fields {
    attributes
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                comparable(&QueueAttributeName::from(k.as_str()), v),
            )
        })
        .collect()
}

fn by_name(attributes: &BTreeMap<QueueAttributeName, String>) -> BTreeMap<String, String> {
    attributes
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), v.clone()))
        .collect()
}

/// SSE-SQS wanted on a queue that has a KMS key: the key is removed too (an empty
/// `KmsMasterKeyId`), since SQS keeps a queue under SSE-KMS while it names a key. A queue that
/// never had a key needs no such field, so none is added and a second run compares equal.
fn without_stale_key(wanted: &mut BTreeMap<String, String>, observed: &BTreeMap<String, String>) {
    let key = QueueAttributeName::KmsMasterKeyId.as_str();
    let managed_sse = QueueAttributeName::SqsManagedSseEnabled.as_str();
    let wants_sse_sqs = wanted.get(managed_sse).is_some_and(|v| v == "true");
    let has_key = observed.get(key).is_some_and(|v| !v.is_empty());
    if wants_sse_sqs && !wanted.contains_key(key) && has_key {
        wanted.insert(key.to_string(), String::new());
    }
}

pub async fn converge(run: &Run<'_>, spec: &QueueSpec) -> Result<(), DeployError> {
    let queues = &run.ports.queues;
    let mut wanted = by_name(&spec.attributes);
    let url = queues.url(&spec.name).await?;
    let observed = match &url {
        None => None,
        Some(url) => {
            let attributes = queues.attributes(url).await?;
            without_stale_key(&mut wanted, &attributes);
            Some(comparable_fields(&attributes))
        }
    };
    let desired = comparable_fields(&wanted);
    let action = run.decide(KIND, &spec.name, &desired, observed.as_ref());
    if !run.applying() || !action.is_change() {
        return Ok(());
    }
    match (action, url) {
        (Action::Create, _) => {
            run.mutating("sqs:CreateQueue", &spec.name)?;
            queues.create(&spec.name, wanted, run.tags()).await?;
        }
        (Action::Update { changes }, Some(url)) => {
            let changed: BTreeMap<String, String> = wanted
                .into_iter()
                .filter(|(k, _)| changes.iter().any(|c| &c.field == k))
                .collect();
            run.mutating("sqs:SetQueueAttributes", &spec.name)?;
            queues.set_attributes(&url, changed).await?;
        }
        _ => {}
    }
    Ok(())
}

pub async fn remove(run: &Run<'_>, name: &str) -> Result<(), DeployError> {
    let Some(url) = run.ports.queues.url(name).await? else {
        return Ok(());
    };
    run.note(KIND, name, Action::Delete);
    // `plan` lists the deletion; only `up`/`down` carry it out.
    if !run.applying() {
        return Ok(());
    }
    run.mutating("sqs:DeleteQueue", name)?;
    run.ports.queues.delete(&url).await
}

/// The bucket a queue accepts S3 notifications from, read from the queue's policy (the
/// `aws:SourceArn` condition `up` writes): how `up` finds the bucket to unhook when the
/// manuscripts feature was turned off and the config no longer names it.
pub async fn source_bucket(run: &Run<'_>, name: &str) -> Result<Option<String>, DeployError> {
    let Some(url) = run.ports.queues.url(name).await? else {
        return Ok(None);
    };
    let attributes = run.ports.queues.attributes(&url).await?;
    let policy = attributes
        .get(QueueAttributeName::Policy.as_str())
        .map(String::as_str)
        .unwrap_or_default();
    Ok(bucket_in_policy(policy))
}

/// The first `arn:aws:s3:::<bucket>` source ARN a queue policy's conditions allow.
fn bucket_in_policy(policy: &str) -> Option<String> {
    let document: serde_json::Value = serde_json::from_str(&canonical(policy)).ok()?;
    let statements = match &document["Statement"] {
        serde_json::Value::Array(list) => list.clone(),
        single => vec![single.clone()],
    };
    statements.iter().find_map(|statement| {
        ["ArnEquals", "ArnLike"].iter().find_map(|operator| {
            statement["Condition"][operator]["aws:SourceArn"]
                .as_str()?
                .strip_prefix("arn:aws:s3:::")
                .filter(|bucket| !bucket.is_empty())
                .map(str::to_string)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::Mode;
    use crate::diff::FieldChange;
    use crate::ports::fake::FakeAccount;
    use cfrp_config::StackConfig;

    const ACCOUNT: &str = "123456789012";

    fn config() -> StackConfig {
        StackConfig::for_origin("shop", "eu-west-1", "app.example.com")
    }

    fn spec(visibility: &str) -> QueueSpec {
        QueueSpec {
            name: "cfrp-shop-manuscripts".into(),
            attributes: BTreeMap::from([
                (QueueAttributeName::VisibilityTimeout, visibility.to_string()),
                (
                    QueueAttributeName::RedrivePolicy,
                    r#"{"maxReceiveCount": 5, "deadLetterTargetArn": "arn:aws:sqs:eu-west-1:123456789012:dlq"}"#
                        .to_string(),
                ),
            ]),
        }
    }

    /// Converges `spec` in `mode` against `account`; the decisions and the mutating calls.
    async fn converge_with(
        account: &FakeAccount,
        mode: Mode,
        spec: &QueueSpec,
    ) -> (
        Result<(), DeployError>,
        Vec<crate::diff::Change>,
        Vec<String>,
    ) {
        let config = config();
        let run = Run::offline(&config, account.ports(), ACCOUNT, mode);
        let result = converge(&run, spec).await;
        (result, run.changes(), run.mutations())
    }

    #[tokio::test]
    async fn from_nothing_a_plan_creates_nothing_and_up_creates_the_queue_tagged() {
        let account = FakeAccount::new("eu-west-1", ACCOUNT);
        let (result, changes, calls) = converge_with(&account, Mode::Plan, &spec("390")).await;
        assert!(result.is_ok());
        assert_eq!(changes[0].action, Action::Create);
        assert!(calls.is_empty() && account.mutating_calls().is_empty());

        let (result, changes, calls) = converge_with(&account, Mode::Apply, &spec("390")).await;
        assert!(result.is_ok());
        assert_eq!(changes[0].action, Action::Create);
        assert_eq!(calls, vec!["sqs:CreateQueue cfrp-shop-manuscripts"]);
        let queue = account.queue("cfrp-shop-manuscripts").unwrap_or_default();
        assert_eq!(queue.attributes["VisibilityTimeout"], "390");
        assert!(
            queue
                .tags
                .contains(&("cfrp:stack".to_string(), "shop".to_string()))
        );
    }

    #[tokio::test]
    async fn a_converged_queue_is_unchanged_and_costs_no_call() {
        let account = FakeAccount::new("eu-west-1", ACCOUNT);
        let _ = converge_with(&account, Mode::Apply, &spec("390")).await;
        let before = account.mutating_calls().len();
        let (result, changes, calls) = converge_with(&account, Mode::Apply, &spec("390")).await;
        assert!(result.is_ok());
        assert_eq!(changes[0].action, Action::Unchanged);
        assert!(calls.is_empty());
        assert_eq!(account.mutating_calls().len(), before);
    }

    #[tokio::test]
    async fn one_attribute_changed_by_hand_is_one_field_and_one_set_call_of_only_it() {
        let account = FakeAccount::new("eu-west-1", ACCOUNT);
        let _ = converge_with(&account, Mode::Apply, &spec("390")).await;
        account.edit_queue("cfrp-shop-manuscripts", |q| {
            q.attributes.insert("VisibilityTimeout".into(), "30".into());
        });
        let (result, changes, calls) = converge_with(&account, Mode::Apply, &spec("390")).await;
        assert!(result.is_ok());
        assert_eq!(
            changes[0].action,
            Action::Update {
                changes: vec![FieldChange {
                    field: "VisibilityTimeout".into(),
                    from: Some("30".into()),
                    to: Some("390".into()),
                }]
            }
        );
        assert_eq!(calls, vec!["sqs:SetQueueAttributes cfrp-shop-manuscripts"]);
        let queue = account.queue("cfrp-shop-manuscripts").unwrap_or_default();
        assert_eq!(queue.attributes["VisibilityTimeout"], "390");
    }

    #[tokio::test]
    async fn a_queue_switched_back_from_a_customer_key_loses_the_key_then_stays_unchanged() {
        let account = FakeAccount::new("eu-west-1", ACCOUNT);
        let key = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        let with = |kms: Option<&str>| {
            let mut spec = spec("390");
            spec.attributes.extend(crate::spec::queues::encryption(kms));
            spec
        };
        let _ = converge_with(&account, Mode::Apply, &with(Some(key))).await;
        let queue = account.queue("cfrp-shop-manuscripts").unwrap_or_default();
        assert_eq!(queue.attributes["KmsMasterKeyId"], key);

        let (result, changes, calls) = converge_with(&account, Mode::Apply, &with(None)).await;
        assert!(result.is_ok());
        let Action::Update { changes } = &changes[0].action else {
            panic!("{changes:?}");
        };
        let fields: Vec<(&str, Option<&str>)> = changes
            .iter()
            .map(|c| (c.field.as_str(), c.to.as_deref()))
            .collect();
        assert_eq!(
            fields,
            vec![
                ("KmsMasterKeyId", Some("")),
                ("SqsManagedSseEnabled", Some("true"))
            ]
        );
        assert_eq!(calls, vec!["sqs:SetQueueAttributes cfrp-shop-manuscripts"]);
        let queue = account.queue("cfrp-shop-manuscripts").unwrap_or_default();
        assert!(!queue.attributes.contains_key("KmsMasterKeyId"));
        assert_eq!(queue.attributes["SqsManagedSseEnabled"], "true");

        let (_, changes, calls) = converge_with(&account, Mode::Apply, &with(None)).await;
        assert_eq!(changes[0].action, Action::Unchanged);
        assert!(calls.is_empty());
    }

    #[tokio::test]
    async fn remove_deletes_once_and_then_finds_nothing_to_do() {
        let account = FakeAccount::new("eu-west-1", ACCOUNT);
        let _ = converge_with(&account, Mode::Apply, &spec("390")).await;
        let config = config();
        let plan = Run::offline(&config, account.ports(), ACCOUNT, Mode::Plan);
        assert!(remove(&plan, "cfrp-shop-manuscripts").await.is_ok());
        assert_eq!(plan.changes()[0].action, Action::Delete);
        assert!(
            account.queue("cfrp-shop-manuscripts").is_some(),
            "a plan deletes nothing"
        );

        let run = Run::offline(&config, account.ports(), ACCOUNT, Mode::Apply);
        assert!(remove(&run, "cfrp-shop-manuscripts").await.is_ok());
        assert!(account.queue("cfrp-shop-manuscripts").is_none());
        let again = Run::offline(&config, account.ports(), ACCOUNT, Mode::Apply);
        assert!(remove(&again, "cfrp-shop-manuscripts").await.is_ok());
        assert!(again.changes().is_empty() && again.mutations().is_empty());
    }

    #[tokio::test]
    async fn a_create_that_fails_is_reported_with_the_call_and_the_next_run_creates_it() {
        let account = FakeAccount::new("eu-west-1", ACCOUNT);
        account.fail("sqs:CreateQueue", 1);
        let (result, _, _) = converge_with(&account, Mode::Apply, &spec("390")).await;
        let message = result.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            message.contains("sqs:CreateQueue for cfrp-shop-manuscripts failed"),
            "{message}"
        );
        assert!(account.queue("cfrp-shop-manuscripts").is_none());
        let (result, changes, _) = converge_with(&account, Mode::Apply, &spec("390")).await;
        assert!(result.is_ok());
        assert_eq!(changes[0].action, Action::Create);
        assert!(account.queue("cfrp-shop-manuscripts").is_some());
    }

    #[tokio::test]
    async fn the_bucket_is_found_again_through_the_queue_policy() {
        let account = FakeAccount::new("eu-west-1", ACCOUNT);
        let policy = crate::spec::policy::queue_from_bucket(
            "arn:aws:sqs:eu-west-1:123456789012:cfrp-shop-manuscripts",
            "arn:aws:s3:::shop-manuscripts",
            ACCOUNT,
        );
        let mut with_policy = spec("390");
        with_policy
            .attributes
            .insert(QueueAttributeName::Policy, policy.to_string());
        let _ = converge_with(&account, Mode::Apply, &with_policy).await;
        let config = config();
        let run = Run::offline(&config, account.ports(), ACCOUNT, Mode::Plan);
        let found = source_bucket(&run, "cfrp-shop-manuscripts")
            .await
            .ok()
            .flatten();
        assert_eq!(found.as_deref(), Some("shop-manuscripts"));
        assert_eq!(
            source_bucket(&run, "cfrp-shop-other").await.ok().flatten(),
            None
        );
    }

    #[test]
    fn the_source_bucket_comes_from_the_policy_up_writes() {
        let policy = crate::spec::policy::queue_from_bucket(
            "arn:aws:sqs:eu-west-1:123456789012:q",
            "arn:aws:s3:::shop-manuscripts",
            "123456789012",
        );
        assert_eq!(
            bucket_in_policy(&policy.to_string()).as_deref(),
            Some("shop-manuscripts")
        );
        assert_eq!(bucket_in_policy(""), None);
        assert_eq!(
            bucket_in_policy(r#"{"Statement": {"Condition": {}}}"#),
            None
        );
    }
}
