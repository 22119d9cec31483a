//! The stack's workflows as functions returning values: plan `up`, apply a plan, plan and
//! carry out `down`, read the status. The CLI commands (`commands.rs`) add the questions and
//! the printing; the demo calls these directly. Text and JSON are two views of each value.

use std::io::Write;

use cfrp_config::{Function, StackConfig};
use serde::Serialize;
use serde_json::json;

use crate::context::Mode;
use crate::diff::Action;
use crate::error::DeployError;
use crate::package::Packages;
use crate::plan::Plan;
use crate::resources::{cloudfront, lambda};
use crate::session::Session;
use crate::spec::{self, Arns, distribution::ORIGIN_VERIFY_HEADER};
use crate::stack::{self, Deployed, Timing};

/// A plan shown before anything changes, or what applying one did.
#[derive(Debug, Clone)]
pub enum Outcome {
    Planned,
    Applied {
        /// The report's heading: "Applied", "Up to date", "Removed".
        title: &'static str,
        /// Every mutating call made, in order, as `service:Operation name`.
        mutations: Vec<String>,
    },
}

/// A plan or an applied plan, with what is deployed and how long each phase took.
#[derive(Debug, Clone)]
pub struct Report {
    pub plan: Plan,
    pub outcome: Outcome,
    /// The distribution (`up` and `plan`; `down` has none to show).
    pub deployed: Option<Deployed>,
    /// The phases that ran the stack's graph (`plan`, `apply`), in order.
    pub timing: Vec<(&'static str, Timing)>,
}

impl Report {
    pub fn planned(plan: Plan, deployed: Option<Deployed>) -> Report {
        Report {
            plan,
            outcome: Outcome::Planned,
            deployed,
            timing: Vec::new(),
        }
    }

    pub fn mutations(&self) -> &[String] {
        match &self.outcome {
            Outcome::Planned => &[],
            Outcome::Applied { mutations, .. } => mutations,
        }
    }

    /// The JSON view.
    pub fn json(&self) -> serde_json::Value {
        let applied = matches!(self.outcome, Outcome::Applied { .. });
        // Each step's seconds in the last phase that ran it.
        let seconds = self
            .timing
            .last()
            .map(|(_, t)| t.step_seconds.clone())
            .unwrap_or_default();
        let timing: serde_json::Map<String, serde_json::Value> = self
            .timing
            .iter()
            .map(|(phase, t)| (phase.to_string(), json!(t)))
            .collect();
        let steps: Vec<serde_json::Value> = self
            .plan
            .steps
            .iter()
            .map(|s| {
                let mut step = json!({"id": s.id, "name": s.name, "depends_on": s.depends_on});
                if let Some(seconds) = seconds.get(s.id) {
                    step["seconds"] = json!(seconds);
                }
                step
            })
            .collect();
        let plan = &self.plan;
        json!({
            "stack": plan.stack,
            "region": plan.region,
            "account": plan.account,
            "mode": if applied { "apply" } else { "plan" },
            "config_sha256": plan.config_sha256,
            "steps": steps,
            "changes": plan.changes,
            "warnings": plan.warnings,
            "summary": plan.summary(),
            "mutating_calls": self.mutations().len(),
            "mutations": self.mutations(),
            "distribution": self.deployed,
            "timing": timing,
        })
    }

    /// The text view.
    pub fn write_text(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let plan = &self.plan;
        let summary = plan.summary();
        let title = match &self.outcome {
            Outcome::Planned => "Plan",
            Outcome::Applied { title, .. } => title,
        };
        writeln!(
            out,
            "{title} for stack \"{}\" (region {}, account {}):",
            plan.stack, plan.region, plan.account
        )?;
        for change in &plan.changes {
            let mark = match change.action {
                Action::Create => "+",
                Action::Update { .. } => "~",
                Action::Delete => "-",
                Action::Unchanged => continue,
            };
            writeln!(out, "  {mark} {} {}", change.kind, change.name)?;
            if let Action::Update { changes } = &change.action {
                for field in changes {
                    writeln!(
                        out,
                        "      {}: {} → {}",
                        field.field,
                        shorten(field.from.as_deref()),
                        shorten(field.to.as_deref())
                    )?;
                }
            }
        }
        writeln!(
            out,
            "{} to create, {} to update, {} to delete, {} unchanged.",
            summary.create, summary.update, summary.delete, summary.unchanged
        )?;
        for warning in &plan.warnings {
            writeln!(
                out,
                "  ! {} {}: {}",
                warning.kind, warning.name, warning.message
            )?;
        }
        let applied = matches!(self.outcome, Outcome::Applied { .. });
        if applied {
            writeln!(out, "{} mutating call(s) made.", self.mutations().len())?;
        }
        if let Some(d) = &self.deployed
            && let (Some(id), Some(domain)) = (&d.distribution_id, &d.domain_name)
        {
            writeln!(
                out,
                "Distribution {id}: https://{domain} ({})",
                d.status.as_deref().unwrap_or("unknown")
            )?;
            if applied {
                // The secret itself is never printed here (logs and CI output keep it).
                writeln!(
                    out,
                    "Origins receive the header `{ORIGIN_VERIFY_HEADER}` with the stack's secret; reject requests without it. `deployer secret show` prints the value."
                )?;
                writeln!(
                    out,
                    "Dashboard: {}",
                    spec::dashboard::console_url(
                        &plan.region,
                        &cfrp_config::Names::new(&plan.stack).dashboard(),
                    )
                )?;
            }
        }
        Ok(())
    }
}

/// Long values (policies, dashboard bodies) cut to one readable line.
fn shorten(value: Option<&str>) -> String {
    match value {
        None => "(none)".to_string(),
        Some(v) if v.chars().count() > 100 => {
            let head: String = v.chars().take(97).collect();
            format!("\"{head}…\"")
        }
        Some(v) => format!("\"{v}\""),
    }
}

/// Reads everything and decides, changing nothing: the plan of `up`, with what is known of
/// the distribution and the planning phase's timing.
pub async fn plan_up(
    session: &Session,
    config: &StackConfig,
    packages: &Packages,
) -> Result<Report, DeployError> {
    let run = session.run(config, Mode::Plan).await?;
    let converged = stack::converge(&run, packages, false).await?;
    Ok(Report {
        plan: Plan::of(&run, &converged.graph),
        outcome: Outcome::Planned,
        deployed: Some(converged.deployed),
        timing: vec![("plan", converged.timing)],
    })
}

/// Why applying stopped, and how far it got.
#[derive(Debug, thiserror::Error)]
#[error("{error}")]
pub struct Stopped {
    pub error: DeployError,
    /// The mutating calls made before it stopped (the next run resumes from there).
    pub mutations: Vec<String>,
}

/// Applies `approved` (the plan someone saw): every step whose decision still matches runs,
/// independent steps at once; `wait` also waits for the distribution to deploy.
/// `planning` is the plan's own report, whose timing leads the result's.
pub async fn apply_up(
    session: &Session,
    config: &StackConfig,
    packages: &Packages,
    approved: &Plan,
    planning: &Report,
    wait: bool,
) -> Result<Report, Stopped> {
    let mut run = session
        .run(config, Mode::Apply)
        .await
        .map_err(|error| Stopped {
            error,
            mutations: Vec::new(),
        })?;
    run.approve(&approved.changes);
    let converged = stack::converge(&run, packages, wait)
        .await
        .map_err(|error| Stopped {
            error,
            mutations: run.mutations(),
        })?;
    let mut timing = planning.timing.clone();
    timing.push(("apply", converged.timing));
    Ok(Report {
        plan: Plan::of(&run, &converged.graph),
        outcome: Outcome::Applied {
            title: "Applied",
            mutations: run.mutations(),
        },
        deployed: Some(converged.deployed),
        timing,
    })
}

/// What `down` would remove, changing nothing.
pub async fn plan_down(session: &Session, config: &StackConfig) -> Result<Report, DeployError> {
    let run = session.run(config, Mode::Plan).await?;
    let (graph, timing) = stack::remove(&run).await?;
    Ok(Report {
        plan: Plan::of(&run, &graph),
        outcome: Outcome::Planned,
        deployed: None,
        timing: vec![("plan", timing)],
    })
}

/// Removes what `approved` (from [`plan_down`]) listed, in reverse dependency order.
pub async fn apply_down(
    session: &Session,
    config: &StackConfig,
    approved: &Report,
) -> Result<Report, DeployError> {
    let mut run = session.run(config, Mode::Apply).await?;
    run.approve(&approved.plan.changes);
    let (graph, applying) = stack::remove(&run).await?;
    let mut timing = approved.timing.clone();
    timing.push(("apply", applying));
    Ok(Report {
        plan: Plan::of(&run, &graph),
        outcome: Outcome::Applied {
            title: "Removed",
            mutations: run.mutations(),
        },
        deployed: None,
        timing,
    })
}

/// What `status` shows: the distribution, the functions and their mappings, the alarms.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub stack: String,
    pub region: String,
    /// None when the stack has no distribution.
    pub distribution: Option<DistributionStatus>,
    pub functions: Vec<FunctionStatus>,
    pub alarms: Vec<AlarmStatus>,
    /// The staging distribution and its continuous deployment policy (`stage`), if any.
    pub staging: Option<crate::resources::staging::StagingStatus>,
    /// Primary against staging over the canary window, with the canary rules' states; None
    /// without a staging distribution (or with alarms or `[staging.canary]` off).
    pub canary: Option<crate::monitor::canary::Comparison>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DistributionStatus {
    pub id: String,
    pub domain_name: String,
    pub status: String,
    pub enabled: Option<bool>,
    pub aliases: Vec<String>,
    pub origins: Vec<OriginStatus>,
}

#[derive(Debug, Clone, Serialize)]
pub struct OriginStatus {
    pub id: String,
    pub domain: String,
    pub path: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct FunctionStatus {
    pub function: String,
    pub deployed: bool,
    pub last_modified: Option<String>,
    pub event_source_mapping: Option<MappingStatus>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MappingStatus {
    pub source: String,
    pub state: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct AlarmStatus {
    pub alarm: String,
    pub state: Option<String>,
}

/// Reads the stack's status (changes nothing).
pub async fn status(session: &Session, config: &StackConfig) -> Result<Status, DeployError> {
    let run = session.run(config, Mode::Plan).await?;
    let found = cloudfront::find_distribution(&run).await?;
    let arns = Arns::new(config, &run.account, found.as_ref().map(|f| f.id.as_str()));
    let mut distribution = None;
    if let Some(f) = &found {
        let got = run
            .aws
            .cloudfront
            .get_distribution()
            .id(&f.id)
            .send()
            .await
            .map_err(|e| DeployError::aws("cloudfront:GetDistribution", &f.id, e))?;
        let d = got.distribution();
        let dc = d.and_then(|d| d.distribution_config());
        distribution = Some(DistributionStatus {
            id: f.id.clone(),
            domain_name: f.domain.clone(),
            status: d.map(|d| d.status().to_string()).unwrap_or_default(),
            enabled: dc.map(|c| c.enabled()),
            aliases: dc
                .and_then(|c| c.aliases())
                .map(|a| a.items().to_vec())
                .unwrap_or_default(),
            origins: dc
                .and_then(|c| c.origins())
                .map(|o| o.items())
                .unwrap_or_default()
                .iter()
                .map(|o| OriginStatus {
                    id: o.id().to_string(),
                    domain: o.domain_name().to_string(),
                    path: o.origin_path().unwrap_or_default().to_string(),
                })
                .collect(),
        });
    }
    let mut functions = Vec::new();
    for function in spec::functions(config) {
        let name = run.names.lambda(function);
        let observed = lambda::observe_function(&run, &name).await?;
        let source = match function {
            Function::LogAnalyser => Some(arns.stream.clone()),
            Function::Invalidator => Some(arns.manuscripts_queue.clone()),
            Function::AlarmEvaluator => None,
        };
        let event_source_mapping =
            match (&observed, source) {
                (Some(_), Some(source)) => lambda::observe_mapping(&run, &name, &source)
                    .await?
                    .map(|m| MappingStatus {
                        source,
                        state: m.state,
                    }),
                _ => None,
            };
        functions.push(FunctionStatus {
            function: name,
            deployed: observed.is_some(),
            last_modified: observed.map(|o| o.last_modified),
            event_source_mapping,
        });
    }
    let mut alarms = Vec::new();
    // The rules' alarms, then the pipeline's (every page).
    for prefix in [run.names.alarm(""), run.names.pipeline_alarm("")] {
        let found = run.ports.cloudwatch.alarms(&prefix).await?;
        alarms.extend(found.into_iter().map(|a| AlarmStatus {
            alarm: a.name,
            state: a.state,
        }));
    }
    let staging = crate::resources::staging::status(&run).await?;
    let canary = match (&found, &staging) {
        (Some(primary), Some(staged)) if config.alarms.enabled && config.staging.canary.enabled => {
            let now_ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
            Some(
                crate::monitor::canary::fetch(
                    config,
                    &run.aws.cloudwatch,
                    &primary.domain,
                    &staged.domain,
                    now_ms,
                )
                .await?,
            )
        }
        _ => None,
    };
    Ok(Status {
        stack: run.names.stack().to_string(),
        region: run.region.clone(),
        distribution,
        functions,
        alarms,
        staging,
        canary,
    })
}

impl Status {
    /// Nothing of the stack is left: no distribution, function or alarm.
    pub fn is_empty(&self) -> bool {
        self.distribution.is_none()
            && !self.functions.iter().any(|f| f.deployed)
            && self.alarms.is_empty()
    }

    /// The text view.
    pub fn write_text(&self, out: &mut dyn Write) -> std::io::Result<()> {
        writeln!(out, "Stack \"{}\" (region {})", self.stack, self.region)?;
        match &self.distribution {
            None => writeln!(out, "  distribution: not deployed")?,
            Some(d) => {
                writeln!(
                    out,
                    "  distribution {} https://{} — {}{}",
                    d.id,
                    d.domain_name,
                    d.status,
                    if d.enabled == Some(false) {
                        " (disabled)"
                    } else {
                        ""
                    }
                )?;
                for alias in &d.aliases {
                    writeln!(out, "    alias {alias}")?;
                }
                for origin in &d.origins {
                    writeln!(
                        out,
                        "    origin {} → {}{}",
                        origin.id, origin.domain, origin.path
                    )?;
                }
            }
        }
        if let Some(s) = &self.staging {
            writeln!(
                out,
                "  staging distribution {} https://{} — {}",
                s.id, s.domain, s.status
            )?;
            match &s.policy {
                Some(p) => writeln!(
                    out,
                    "    continuous deployment policy {}: {}, {}, {}",
                    p.id,
                    if p.enabled { "enabled" } else { "disabled" },
                    p.traffic,
                    if p.attached_to_primary {
                        "attached to the primary"
                    } else {
                        "not attached"
                    }
                )?,
                None => writeln!(out, "    no continuous deployment policy")?,
            }
        }
        if let Some(c) = &self.canary {
            for line in crate::monitor::canary::lines(c) {
                writeln!(out, "  {line}")?;
            }
        }
        for f in &self.functions {
            writeln!(
                out,
                "  function {}: {}{}",
                f.function,
                f.last_modified
                    .as_deref()
                    .map_or("not deployed".to_string(), |m| format!("last modified {m}")),
                f.event_source_mapping
                    .as_ref()
                    .map_or(String::new(), |m| format!(
                        ", event source mapping {}",
                        m.state
                    ))
            )?;
        }
        for a in &self.alarms {
            writeln!(
                out,
                "  alarm {}: {}",
                a.alarm,
                a.state.as_deref().unwrap_or_default()
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::Warning;

    #[test]
    fn warnings_are_part_of_both_views_of_a_plan() {
        let plan = Plan {
            format: crate::plan::FORMAT,
            stack: "shop".into(),
            region: "eu-west-1".into(),
            account: "123456789012".into(),
            config_sha256: String::new(),
            config: Default::default(),
            steps: Vec::new(),
            changes: Vec::new(),
            warnings: vec![Warning {
                kind: "S3 bucket".into(),
                name: "shop-manuscripts".into(),
                message: "no default encryption".into(),
            }],
        };
        let report = Report::planned(plan, None);
        let mut text = Vec::new();
        assert!(report.write_text(&mut text).is_ok());
        let text = String::from_utf8_lossy(&text);
        assert!(
            text.contains("  ! S3 bucket shop-manuscripts: no default encryption\n"),
            "{text}"
        );
        assert_eq!(
            report.json()["warnings"],
            json!([{"kind": "S3 bucket", "name": "shop-manuscripts", "message": "no default encryption"}])
        );
    }
}
