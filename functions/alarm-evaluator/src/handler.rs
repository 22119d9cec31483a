//! The Lambda handler: on each scheduled event, evaluate every rule once, publish the states,
//! log one line per rule and one per transition.

use aws_lambda_events::event::cloudwatch_events::CloudWatchEvent;
use cfrp_config::EvaluatorSettings;
use lambda_runtime::{Error, LambdaEvent};
use serde::Serialize;

use crate::canary;
use crate::evaluate::{State, evaluate};
use crate::port::{MetricsPort, RuleStateDatum};
use crate::queries::{plan, previous_state, series};

/// The event's time when it is the schedule's event (EventBridge, `Scheduled Event` from
/// `aws.events`); None for anything else, which neither the rules nor the auto-block run act on.
pub fn scheduled_time_ms(event: &CloudWatchEvent) -> Option<i64> {
    (event.detail_type.as_deref() == Some("Scheduled Event")
        && event.source.as_deref() == Some("aws.events"))
    .then(|| event.time.timestamp_millis())
}

pub struct Evaluator<P> {
    pub settings: EvaluatorSettings,
    pub port: P,
}

#[derive(Debug, thiserror::Error)]
pub enum EvaluationError {
    #[error(
        "not an EventBridge scheduled event ({0}); the evaluator only runs on its schedule rule"
    )]
    NotScheduled(String),
}

/// One rule's outcome, as logged and returned.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleOutcome {
    pub rule: String,
    pub state: State,
    pub previous: Option<State>,
    pub values: Vec<Option<f64>>,
    pub breaching: usize,
    pub missing: usize,
    pub threshold: f64,
    pub severity: String,
    pub action: String,
}

impl<P: MetricsPort> Evaluator<P> {
    pub async fn handle(
        &self,
        event: LambdaEvent<CloudWatchEvent>,
    ) -> Result<Vec<RuleOutcome>, Error> {
        self.evaluate(&event.payload).await
    }

    /// Evaluates at the event's time. Nothing is published when reading the metrics fails.
    pub async fn evaluate(
        &self,
        event: &CloudWatchEvent,
    ) -> Result<Vec<RuleOutcome>, Box<dyn std::error::Error + Send + Sync>> {
        let Some(now_ms) = scheduled_time_ms(event) else {
            return Err(Box::new(EvaluationError::NotScheduled(format!(
                "detail-type {:?}, source {:?}",
                event.detail_type, event.source
            ))));
        };
        let mut plan = plan(&self.settings, now_ms);
        canary::extend(&mut plan, &self.settings);
        let results = self.port.fetch(&plan).await.inspect_err(|err| {
            tracing::error!(error = %err, "evaluation failed: no rule state written for this run");
        })?;
        let mut outcomes = Vec::new();
        for (index, rule) in self.settings.rules.iter().enumerate() {
            let previous = previous_state(index, &results);
            let verdict = evaluate(rule, &series(rule, index, &results, &plan), previous);
            outcomes.push(RuleOutcome {
                rule: rule.name.clone(),
                state: verdict.state,
                previous,
                values: verdict.values,
                breaching: verdict.breaching,
                missing: verdict.missing,
                threshold: rule.threshold,
                severity: rule.severity.as_str().to_string(),
                action: rule.action.clone(),
            });
        }
        // The canary rules (while a staging distribution is set) are logged and published
        // like the others.
        outcomes.extend(canary::outcomes(&self.settings, &results, &plan));
        let mut states = Vec::new();
        for outcome in &outcomes {
            let values = serde_json::to_string(&outcome.values).unwrap_or_default();
            tracing::info!(target: "rule", rule = %outcome.rule, state = outcome.state.as_str(), values = %values, breaching = outcome.breaching, missing = outcome.missing, threshold = outcome.threshold, "rule evaluated");
            if let Some(before) = outcome.previous
                && before != outcome.state
            {
                tracing::warn!(target: "transition", rule = %outcome.rule, from = before.as_str(), to = outcome.state.as_str(), values = %values, severity = %outcome.severity, action = %outcome.action, "rule changed state");
            }
            states.push(RuleStateDatum {
                rule: outcome.rule.clone(),
                state: outcome.state,
                timestamp_ms: plan.end_ms,
            });
        }
        self.port.publish(&self.settings.namespace, &states).await?;
        Ok(outcomes)
    }
}
