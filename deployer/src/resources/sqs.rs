//! SQS queues: the manuscripts queue with its dead-letter queue, and the analyser's
//! on-failure destination.

use std::collections::BTreeMap;

use aws_sdk_sqs::types::QueueAttributeName;

use crate::context::Run;
use crate::diff::{Action, Fields};
use crate::error::DeployError;
use crate::resources::found;
use crate::spec::policy::canonical;

const KIND: &str = "SQS queue";

/// A queue and the attributes we manage (JSON-valued ones compare in canonical form).
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

async fn queue_url(run: &Run<'_>, name: &str) -> Result<Option<String>, DeployError> {
    match run.aws.sqs.get_queue_url().queue_name(name).send().await {
        Ok(out) => Ok(out.queue_url),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_queue_does_not_exist()) =>
        {
            Ok(None)
        }
        Err(err) => Err(DeployError::aws("sqs:GetQueueUrl", name, err)),
    }
}

pub async fn converge(run: &mut Run<'_>, spec: &QueueSpec) -> Result<(), DeployError> {
    let desired: Fields = spec
        .attributes
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), comparable(k, v)))
        .collect();
    let url = queue_url(run, &spec.name).await?;
    let observed = match &url {
        None => None,
        Some(url) => {
            let out = run
                .aws
                .sqs
                .get_queue_attributes()
                .queue_url(url)
                .attribute_names(QueueAttributeName::All)
                .send()
                .await
                .map_err(|e| DeployError::aws("sqs:GetQueueAttributes", &spec.name, e))?;
            Some(
                out.attributes()
                    .map(|a| {
                        a.iter()
                            .map(|(k, v)| (k.as_str().to_string(), comparable(k, v)))
                            .collect::<Fields>()
                    })
                    .unwrap_or_default(),
            )
        }
    };
    let action = run.decide(KIND, &spec.name, &desired, observed.as_ref());
    if !run.applying() || !action.is_change() {
        return Ok(());
    }
    match (action, url) {
        (Action::Create, _) => {
            run.mutating("sqs:CreateQueue", &spec.name);
            run.aws
                .sqs
                .create_queue()
                .queue_name(&spec.name)
                .set_attributes(Some(spec.attributes.clone().into_iter().collect()))
                .set_tags(Some(run.tags().into_iter().collect()))
                .send()
                .await
                .map_err(|e| DeployError::aws("sqs:CreateQueue", &spec.name, e))?;
        }
        (Action::Update { changes }, Some(url)) => {
            let changed: std::collections::HashMap<QueueAttributeName, String> = spec
                .attributes
                .iter()
                .filter(|(k, _)| changes.iter().any(|c| c.field == k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            run.mutating("sqs:SetQueueAttributes", &spec.name);
            run.aws
                .sqs
                .set_queue_attributes()
                .queue_url(url)
                .set_attributes(Some(changed))
                .send()
                .await
                .map_err(|e| DeployError::aws("sqs:SetQueueAttributes", &spec.name, e))?;
        }
        _ => {}
    }
    Ok(())
}

pub async fn remove(run: &mut Run<'_>, name: &str) -> Result<(), DeployError> {
    let Some(url) = queue_url(run, name).await? else {
        return Ok(());
    };
    run.note(KIND, name, Action::Delete);
    run.mutating("sqs:DeleteQueue", name);
    found(
        run.aws.sqs.delete_queue().queue_url(url).send().await,
        |e| e.is_queue_does_not_exist(),
        "sqs:DeleteQueue",
        name,
    )?;
    Ok(())
}
