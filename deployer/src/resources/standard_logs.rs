//! CloudFront standard access logs (v2) of `[standard_logs]`: a CloudWatch Logs delivery
//! source for the distribution (log type ACCESS_LOGS), a delivery destination (the bucket or
//! log group the config names; the stack does not create it) and the delivery between them,
//! all in us-east-1. CloudWatch Logs takes tags only at creation, refuses a new output format
//! or resource for an existing destination or source, and refuses to delete a source or
//! destination a delivery uses: a change is therefore made as delete-then-create, the
//! delivery first out and last in. `down` (and turning the section off) deletes the delivery,
//! then the destination, then the source.

use cfrp_config::{StandardLogs, StandardLogsDestination};

use crate::context::{CLOUDFRONT_REGION, Run};
use crate::diff::{Action, Fields, fields};
use crate::error::DeployError;
use crate::ports::deliveries::{Delivery, DeliveryDestination, DeliverySource};
use crate::spec::Arns;

pub const SOURCE_KIND: &str = "Log delivery source";
pub const DESTINATION_KIND: &str = "Log delivery destination";
pub const DELIVERY_KIND: &str = "Log delivery";

/// CloudFront's log type for access logs.
const LOG_TYPE: &str = "ACCESS_LOGS";

/// The name of the stack's delivery source, destination and (in the plan) delivery.
pub fn name(stack: &str) -> String {
    format!("cfrp-{stack}-access-logs")
}

/// The ARN of the bucket (and prefix) or log group the logs go to.
pub fn destination_resource_arn(logs: &StandardLogs, account: &str) -> String {
    match logs.destination {
        StandardLogsDestination::S3 => {
            let bucket = logs.bucket.as_deref().unwrap_or_default();
            match &logs.prefix {
                Some(prefix) => format!("arn:aws:s3:::{bucket}/{prefix}"),
                None => format!("arn:aws:s3:::{bucket}"),
            }
        }
        StandardLogsDestination::CloudwatchLogs => format!(
            "arn:aws:logs:{CLOUDFRONT_REGION}:{account}:log-group:{}",
            logs.log_group.as_deref().unwrap_or_default()
        ),
    }
}

fn source_fields(resource_arn: &str, log_type: &str) -> Fields {
    fields([("resource_arn", resource_arn), ("log_type", log_type)])
}

fn destination_fields(output_format: &str, resource_arn: &str) -> Fields {
    fields([
        ("output_format", output_format),
        ("destination_resource_arn", resource_arn),
    ])
}

/// The delivery's own fields and those of the two ends it pairs: a new source or destination
/// means a new delivery, and the plan says so on the delivery too.
fn delivery_fields(source: &Fields, destination: &Fields, record_fields: &[String]) -> Fields {
    let mut all = fields([("record_fields", record_fields.join(","))]);
    for (key, value) in source {
        all.insert(format!("source.{key}"), value.clone());
    }
    for (key, value) in destination {
        all.insert(format!("destination.{key}"), value.clone());
    }
    all
}

fn observed_source_fields(source: &DeliverySource) -> Fields {
    source_fields(&source.resource_arns.join(","), &source.log_type)
}

fn observed_destination_fields(destination: &DeliveryDestination) -> Fields {
    destination_fields(
        destination.output_format.as_deref().unwrap_or_default(),
        &destination.resource_arn,
    )
}

/// What exists of the stack's standard logs.
struct Observed {
    source: Option<DeliverySource>,
    destination: Option<DeliveryDestination>,
    /// The deliveries from the stack's source.
    deliveries: Vec<Delivery>,
}

async fn observe(run: &Run<'_>, name: &str) -> Result<Observed, DeployError> {
    let deliveries = &run.ports.deliveries;
    let source = deliveries.source(name).await?;
    let destination = deliveries.destination(name).await?;
    let from_source = match source {
        Some(_) => deliveries.deliveries_of(name).await?,
        None => Vec::new(),
    };
    Ok(Observed {
        source,
        destination,
        deliveries: from_source,
    })
}

/// Converges the standard logs of the stack's distribution (`None`: not created yet, which
/// only a plan sees). Without `[standard_logs]`, what an earlier `up` made is deleted.
pub async fn converge(run: &Run<'_>, distribution_id: Option<&str>) -> Result<(), DeployError> {
    let name = name(&run.config.name);
    let observed = observe(run, &name).await?;
    let Some(logs) = &run.config.standard_logs else {
        return delete_all(run, &name, observed).await;
    };
    let distribution_arn = Arns::new(run.config, &run.account, distribution_id).distribution;
    let want_source = source_fields(&distribution_arn, LOG_TYPE);
    let want_destination = destination_fields(
        logs.format.as_str(),
        &destination_resource_arn(logs, &run.account),
    );
    let want_delivery = delivery_fields(&want_source, &want_destination, &logs.fields);

    let have_source = observed.source.as_ref().map(observed_source_fields);
    let have_destination = observed
        .destination
        .as_ref()
        .map(observed_destination_fields);
    // The delivery to the stack's destination; any other from the stack's source is not the
    // stack's to judge, but must go before the source can be replaced.
    let ours = observed.destination.as_ref().and_then(|d| {
        observed
            .deliveries
            .iter()
            .find(|delivery| delivery.destination_arn == d.arn)
    });
    let have_delivery = match (&have_source, &have_destination, ours) {
        (Some(source), Some(destination), Some(delivery)) => Some(delivery_fields(
            source,
            destination,
            &delivery.record_fields,
        )),
        _ => None,
    };

    let source_action = run.decide(SOURCE_KIND, &name, &want_source, have_source.as_ref());
    let destination_action = run.decide(
        DESTINATION_KIND,
        &name,
        &want_destination,
        have_destination.as_ref(),
    );
    let delivery_action = run.decide(DELIVERY_KIND, &name, &want_delivery, have_delivery.as_ref());
    if !run.applying()
        || !(source_action.is_change()
            || destination_action.is_change()
            || delivery_action.is_change())
    {
        return Ok(());
    }
    if distribution_id.is_none() {
        return Err(DeployError::state(
            &name,
            "the distribution was not created before its standard logs (a bug in the plan's graph)",
        ));
    }
    let ports = &run.ports.deliveries;
    // Out: the delivery, then whichever end changes.
    if delivery_action.is_change() {
        let replaced: Vec<&Delivery> = if source_action.is_change() {
            observed.deliveries.iter().collect()
        } else {
            ours.into_iter().collect()
        };
        for delivery in replaced {
            run.mutating("logs:DeleteDelivery", &delivery.id)?;
            ports.delete_delivery(&delivery.id).await?;
        }
    }
    if destination_action.is_change() && observed.destination.is_some() {
        run.mutating("logs:DeleteDeliveryDestination", &name)?;
        ports.delete_destination(&name).await?;
    }
    if source_action.is_change() && observed.source.is_some() {
        run.mutating("logs:DeleteDeliverySource", &name)?;
        ports.delete_source(&name).await?;
    }
    // In: the ends, then the delivery.
    if source_action.is_change() {
        run.mutating("logs:PutDeliverySource", &name)?;
        ports
            .put_source(&name, &distribution_arn, LOG_TYPE, run.tags())
            .await?;
    }
    let destination_arn = match (&destination_action, &observed.destination) {
        (Action::Unchanged, Some(existing)) => existing.arn.clone(),
        _ => {
            run.mutating("logs:PutDeliveryDestination", &name)?;
            ports
                .put_destination(
                    &name,
                    logs.format.as_str(),
                    &destination_resource_arn(logs, &run.account),
                    run.tags(),
                )
                .await?
        }
    };
    if delivery_action.is_change() {
        run.mutating("logs:CreateDelivery", &name)?;
        ports
            .create_delivery(&name, &destination_arn, &logs.fields, run.tags())
            .await?;
    }
    Ok(())
}

/// `down`: deletes the stack's delivery, destination and source, in that order, whatever the
/// config says now (a section removed since the last `up` still leaves them behind).
pub async fn remove(run: &Run<'_>) -> Result<(), DeployError> {
    let name = name(&run.config.name);
    let observed = observe(run, &name).await?;
    delete_all(run, &name, observed).await
}

async fn delete_all(run: &Run<'_>, name: &str, observed: Observed) -> Result<(), DeployError> {
    if !observed.deliveries.is_empty() {
        run.note(DELIVERY_KIND, name, Action::Delete);
    }
    if observed.destination.is_some() {
        run.note(DESTINATION_KIND, name, Action::Delete);
    }
    if observed.source.is_some() {
        run.note(SOURCE_KIND, name, Action::Delete);
    }
    // `plan` lists the deletions; only `up`/`down` carry them out.
    if !run.applying() {
        return Ok(());
    }
    let ports = &run.ports.deliveries;
    for delivery in &observed.deliveries {
        run.mutating("logs:DeleteDelivery", &delivery.id)?;
        ports.delete_delivery(&delivery.id).await?;
    }
    if observed.destination.is_some() {
        run.mutating("logs:DeleteDeliveryDestination", name)?;
        ports.delete_destination(name).await?;
    }
    if observed.source.is_some() {
        run.mutating("logs:DeleteDeliverySource", name)?;
        ports.delete_source(name).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use cfrp_config::naming::Function;
    use cfrp_config::{StackConfig, StandardLogsFormat};

    use super::*;
    use crate::context::Mode;
    use crate::diff::Change;
    use crate::package::Packages;
    use crate::ports::fake::FakeAccount;

    const ACCOUNT: &str = "123456789012";
    const NAME: &str = "cfrp-shop-access-logs";

    fn config(section: &str) -> StackConfig {
        let text = format!(
            "name = \"shop\"\nregion = \"eu-west-1\"\n[[origins]]\nid = \"app\"\ndomain = \"app.example.com\"\n{section}"
        );
        match StackConfig::parse(&text, "proxy.toml") {
            Ok(config) => config,
            Err(err) => panic!("{err}"),
        }
    }

    const S3: &str = "[standard_logs]\ndestination = \"s3\"\nbucket = \"shop-logs\"\nprefix = \"cdn\"\nfields = [\"date\", \"time\", \"sc-status\"]\n";

    fn packages() -> Packages {
        Function::ALL
            .iter()
            .map(|f| (f.short(), format!("zip of {}", f.short()).into_bytes()))
            .collect()
    }

    /// One run of the whole stack: its decisions on the standard logs and the delivery calls
    /// (reads left out) it made.
    async fn run_stack(
        account: &FakeAccount,
        config: &StackConfig,
        mode: Mode,
        remove: bool,
    ) -> (Vec<Change>, Vec<String>, Vec<String>) {
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
            .filter(|c| [SOURCE_KIND, DESTINATION_KIND, DELIVERY_KIND].contains(&c.kind.as_str()))
            .collect();
        let calls = account.calls()[before..].to_vec();
        let writes = calls
            .iter()
            .filter(|c| {
                c.starts_with("logs:")
                    && c.contains("Deliver")
                    && !c.contains(":Get")
                    && !c.contains(":Describe")
            })
            .map(|c| c.split(' ').next().unwrap_or_default().to_string())
            .collect();
        (changes, writes, calls)
    }

    fn distribution_arn(account: &FakeAccount) -> String {
        let source = account
            .delivery_source(NAME)
            .unwrap_or_else(|| panic!("no delivery source"));
        source.source.resource_arns.join(",")
    }

    #[tokio::test]
    async fn plan_lists_three_creates_up_makes_them_in_order_and_a_second_up_changes_nothing() {
        let account = FakeAccount::new("eu-west-1", ACCOUNT);
        let on = config(S3);
        let (changes, writes, _) = run_stack(&account, &on, Mode::Plan, false).await;
        assert_eq!(changes.len(), 3, "{changes:#?}");
        assert!(
            changes
                .iter()
                .all(|c| c.name == NAME && c.action == Action::Create)
        );
        assert!(writes.is_empty());

        let (_, writes, calls) = run_stack(&account, &on, Mode::Apply, false).await;
        assert_eq!(
            writes,
            [
                "logs:PutDeliverySource",
                "logs:PutDeliveryDestination",
                "logs:CreateDelivery"
            ]
        );
        let id = calls
            .iter()
            .find_map(|c| c.strip_prefix("cloudfront:CreateDistributionWithTags "))
            .map(str::to_string);
        assert!(id.is_some(), "{calls:#?}");
        let source = account
            .delivery_source(NAME)
            .unwrap_or_else(|| panic!("no source"));
        assert_eq!(source.source.log_type, "ACCESS_LOGS");
        assert!(
            distribution_arn(&account)
                .starts_with("arn:aws:cloudfront::123456789012:distribution/")
        );
        assert!(!distribution_arn(&account).contains("known after"));
        assert!(
            source
                .tags
                .iter()
                .any(|(k, v)| k == "cfrp:stack" && v == "shop"),
            "{:?}",
            source.tags
        );
        let destination = account
            .delivery_destination(NAME)
            .unwrap_or_else(|| panic!("no destination"));
        assert_eq!(
            destination.destination.output_format.as_deref(),
            Some("json")
        );
        assert_eq!(
            destination.destination.resource_arn,
            "arn:aws:s3:::shop-logs/cdn"
        );
        let deliveries = account.all_deliveries();
        assert_eq!(deliveries.len(), 1);
        assert_eq!(deliveries[0].destination_arn, destination.destination.arn);
        assert_eq!(deliveries[0].record_fields, ["date", "time", "sc-status"]);

        let before = account.mutating_calls().len();
        let (changes, _, _) = run_stack(&account, &on, Mode::Apply, false).await;
        assert!(
            changes.iter().all(|c| c.action == Action::Unchanged),
            "{changes:#?}"
        );
        assert_eq!(account.mutating_calls()[before..], Vec::<String>::new());
    }

    #[tokio::test]
    async fn a_new_format_replaces_destination_and_delivery_new_fields_only_the_delivery() {
        let account = FakeAccount::new("eu-west-1", ACCOUNT);
        run_stack(&account, &config(S3), Mode::Apply, false).await;

        let mut w3c = config(S3);
        if let Some(logs) = w3c.standard_logs.as_mut() {
            logs.format = StandardLogsFormat::W3c;
        }
        let (changes, writes, _) = run_stack(&account, &w3c, Mode::Plan, false).await;
        assert!(writes.is_empty());
        let destination = changes
            .iter()
            .find(|c| c.kind == DESTINATION_KIND)
            .unwrap_or_else(|| panic!("{changes:#?}"));
        let Action::Update { changes: fields } = &destination.action else {
            panic!("{destination:?}");
        };
        assert_eq!(fields[0].field, "output_format");
        assert_eq!(fields[0].from.as_deref(), Some("json"));
        assert_eq!(fields[0].to.as_deref(), Some("w3c"));
        let (_, writes, _) = run_stack(&account, &w3c, Mode::Apply, false).await;
        assert_eq!(
            writes,
            [
                "logs:DeleteDelivery",
                "logs:DeleteDeliveryDestination",
                "logs:PutDeliveryDestination",
                "logs:CreateDelivery"
            ]
        );
        assert_eq!(
            account
                .delivery_destination(NAME)
                .and_then(|d| d.destination.output_format),
            Some("w3c".to_string())
        );

        let mut fewer = w3c.clone();
        if let Some(logs) = fewer.standard_logs.as_mut() {
            logs.fields = vec!["date".to_string()];
        }
        let (changes, writes, _) = run_stack(&account, &fewer, Mode::Apply, false).await;
        let delivery = changes
            .iter()
            .find(|c| c.kind == DELIVERY_KIND)
            .unwrap_or_else(|| panic!("{changes:#?}"));
        assert!(
            matches!(&delivery.action, Action::Update { changes } if changes[0].field == "record_fields")
        );
        assert_eq!(writes, ["logs:DeleteDelivery", "logs:CreateDelivery"]);
        assert_eq!(account.all_deliveries()[0].record_fields, ["date"]);
    }

    #[tokio::test]
    async fn turning_it_off_and_down_delete_delivery_destination_source_in_that_order() {
        let account = FakeAccount::new("eu-west-1", ACCOUNT);
        run_stack(&account, &config(S3), Mode::Apply, false).await;
        let (changes, writes, _) = run_stack(&account, &config(""), Mode::Plan, false).await;
        assert_eq!(changes.len(), 3);
        assert!(changes.iter().all(|c| c.action == Action::Delete));
        assert!(writes.is_empty());
        let (_, writes, _) = run_stack(&account, &config(""), Mode::Apply, false).await;
        assert_eq!(
            writes,
            [
                "logs:DeleteDelivery",
                "logs:DeleteDeliveryDestination",
                "logs:DeleteDeliverySource"
            ]
        );
        assert!(account.delivery_source(NAME).is_none());
        assert!(account.delivery_destination(NAME).is_none());
        assert!(account.all_deliveries().is_empty());
        // Off from then on: reads only.
        let (changes, writes, _) = run_stack(&account, &config(""), Mode::Apply, false).await;
        assert!(changes.is_empty() && writes.is_empty());

        // down, to a log group this time: gone before the distribution is disabled.
        let group = config(
            "[standard_logs]\ndestination = \"cloudwatch_logs\"\nlog_group = \"/aws/vendedlogs/cloudfront/shop\"\nformat = \"plain\"\n",
        );
        run_stack(&account, &group, Mode::Apply, false).await;
        assert_eq!(
            account
                .delivery_destination(NAME)
                .map(|d| d.destination.resource_arn),
            Some(
                "arn:aws:logs:us-east-1:123456789012:log-group:/aws/vendedlogs/cloudfront/shop"
                    .to_string()
            )
        );
        assert_eq!(
            account.all_deliveries()[0].record_fields.len(),
            cfrp_config::STANDARD_LOG_FIELDS.len()
        );
        let (_, writes, calls) = run_stack(&account, &group, Mode::Apply, true).await;
        assert_eq!(
            writes,
            [
                "logs:DeleteDelivery",
                "logs:DeleteDeliveryDestination",
                "logs:DeleteDeliverySource"
            ]
        );
        let position = |prefix: &str| calls.iter().position(|c| c.starts_with(prefix));
        assert!(
            position("logs:DeleteDeliverySource") < position("cloudfront:UpdateDistribution"),
            "{calls:#?}"
        );
        assert!(account.delivery_source(NAME).is_none());
        assert!(account.all_deliveries().is_empty());
    }

    #[tokio::test]
    async fn the_fake_refuses_what_cloudwatch_logs_refuses() {
        let account = FakeAccount::new("us-east-1", ACCOUNT);
        let ports = account.ports();
        let dist = "arn:aws:cloudfront::123456789012:distribution/E1";
        let refused =
            |r: Result<(), DeployError>| r.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            refused(
                ports
                    .deliveries
                    .put_source("s", dist, "APPLICATION_LOGS", vec![])
                    .await
            )
            .contains("ValidationException")
        );
        assert!(
            refused(
                ports
                    .deliveries
                    .put_source("s", dist, "ACCESS_LOGS", vec![])
                    .await
            )
            .is_empty()
        );
        let arn = match ports
            .deliveries
            .put_destination("d", "json", "arn:aws:s3:::b", vec![])
            .await
        {
            Ok(arn) => arn,
            Err(err) => panic!("{err}"),
        };
        let fields = vec!["date".to_string()];
        if let Err(err) = ports
            .deliveries
            .create_delivery("s", &arn, &fields, vec![])
            .await
        {
            panic!("{err}");
        }
        let again = ports
            .deliveries
            .create_delivery("s", &arn, &fields, vec![])
            .await;
        assert!(
            again
                .err()
                .is_some_and(|e| e.to_string().contains("ConflictException"))
        );
        assert!(refused(ports.deliveries.delete_source("s").await).contains("ConflictException"));
        assert!(
            refused(ports.deliveries.delete_destination("d").await).contains("ConflictException")
        );
        let format = ports
            .deliveries
            .put_destination("d", "plain", "arn:aws:s3:::b", vec![])
            .await;
        assert!(
            format
                .err()
                .is_some_and(|e| e.to_string().contains("new Output Format"))
        );
    }
}
