//! A plan as a value: what `plan` shows, `plan --out` saves and `up --plan` applies. It holds
//! the stack's steps with their dependencies, every decision (create, update with the field
//! diffs, delete, unchanged) with the step that made it and a digest of the state it was made
//! from, and the config it was computed for. Text and JSON are two views of it; the saved file
//! is the JSON view.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use cfrp_config::StackConfig;
use cfrp_engine::Graph;
use serde::{Deserialize, Serialize};

use crate::context::Run;
use crate::diff::{Action, Change, Fields, digest, same_decision};

/// The saved plan's format; a file of another format is refused, not guessed at.
pub const FORMAT: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub id: usize,
    pub name: String,
    pub depends_on: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub format: u32,
    pub stack: String,
    pub region: String,
    pub account: String,
    /// A digest of `config`.
    pub config_sha256: String,
    /// The stack's config, flattened to `field path → JSON value`, so a changed field can be
    /// named.
    pub config: Fields,
    pub steps: Vec<Step>,
    pub changes: Vec<Change>,
    /// What the run found and left alone that the user should know about.
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// Why a saved plan cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PlanFileError {
    #[error("reading the plan {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path} is not a plan this deployer wrote ({reason}); make one with `deployer plan --out FILE`"
    )]
    Unreadable { path: PathBuf, reason: String },
    #[error(
        "the plan in {path} no longer applies; nothing was changed. Since it was made:{}\nRun `deployer plan --out {}` again and review it.",
        moved.iter().map(|m| format!("\n  - {m}")).collect::<String>(),
        path.display()
    )]
    Moved { path: PathBuf, moved: Vec<String> },
}

impl Plan {
    /// The plan a run decided, over the `graph` of steps it ran.
    pub fn of(run: &Run<'_>, graph: &Graph) -> Plan {
        let config = flatten_config(run.config);
        let steps = graph
            .nodes()
            .iter()
            .enumerate()
            .map(|(id, node)| Step {
                id,
                name: node.name.clone(),
                depends_on: node.depends_on.iter().map(|d| d.0).collect(),
            })
            .collect();
        Plan {
            format: FORMAT,
            stack: run.names.stack().to_string(),
            region: run.region.clone(),
            account: run.account.clone(),
            config_sha256: digest(&config),
            config,
            steps,
            changes: run.changes(),
            warnings: run.warnings(),
        }
    }

    /// Whether applying it would change anything.
    pub fn pending(&self) -> bool {
        self.changes.iter().any(|c| c.action.is_change())
    }

    /// Writes the JSON view to `path` (through a temporary file, so a reader never sees half
    /// a plan).
    pub fn save(&self, path: &Path) -> Result<(), PlanFileError> {
        let io = |source| PlanFileError::Io {
            path: path.to_path_buf(),
            source,
        };
        let text = serde_json::to_string_pretty(self)
            .map_err(std::io::Error::other)
            .map_err(io)?;
        let partial = path.with_extension("partial");
        std::fs::write(&partial, text + "\n").map_err(io)?;
        std::fs::rename(&partial, path).map_err(io)
    }

    pub fn load(path: &Path) -> Result<Plan, PlanFileError> {
        let text = std::fs::read_to_string(path).map_err(|source| PlanFileError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let unreadable = |reason: String| PlanFileError::Unreadable {
            path: path.to_path_buf(),
            reason,
        };
        let plan: Plan = serde_json::from_str(&text).map_err(|e| unreadable(e.to_string()))?;
        if plan.format != FORMAT {
            return Err(unreadable(format!(
                "format {}, this deployer reads format {FORMAT}",
                plan.format
            )));
        }
        Ok(plan)
    }

    /// What moved between this (saved) plan and one made now: the stack, config fields, and
    /// resources whose state or decision is no longer the one the plan showed. Empty when the
    /// saved plan still describes exactly what applying it would do.
    pub fn moved_since(&self, now: &Plan) -> Vec<String> {
        let mut moved = Vec::new();
        for (what, saved, current) in [
            ("stack", &self.stack, &now.stack),
            ("region", &self.region, &now.region),
            ("account", &self.account, &now.account),
        ] {
            if saved != current {
                moved.push(format!(
                    "the {what} is \"{current}\", the plan was made for \"{saved}\""
                ));
            }
        }
        if self.config_sha256 != now.config_sha256 {
            let keys: BTreeSet<&String> = self.config.keys().chain(now.config.keys()).collect();
            for key in keys {
                let (saved, current) = (self.config.get(key), now.config.get(key));
                if saved != current {
                    moved.push(format!(
                        "config field {key} changed: {} → {}",
                        saved.map_or("(not set)", String::as_str),
                        current.map_or("(not set)", String::as_str)
                    ));
                }
            }
        }
        let by_resource = |plan: &Plan| -> BTreeMap<(String, String), Change> {
            plan.changes
                .iter()
                .map(|c| ((c.kind.clone(), c.name.clone()), c.clone()))
                .collect()
        };
        let (saved, current) = (by_resource(self), by_resource(now));
        for ((kind, name), planned) in &saved {
            match current.get(&(kind.clone(), name.clone())) {
                None => moved.push(format!(
                    "{kind} {name}: the plan showed {}, it is no longer part of the stack's plan",
                    planned.action.label()
                )),
                Some(c) if c.observed_sha256 != planned.observed_sha256 => moved.push(format!(
                    "{kind} {name} was changed outside this plan ({})",
                    match (&planned.observed_sha256, &c.observed_sha256) {
                        (None, Some(_)) => "it exists now",
                        (Some(_), None) => "it is gone",
                        _ => "its settings differ from when the plan read them",
                    }
                )),
                Some(c) if !same_decision(&planned.action, &c.action) => moved.push(format!(
                    "{kind} {name}: the plan showed {}, it now needs {}",
                    planned.action.label(),
                    c.action.label()
                )),
                Some(_) => {}
            }
        }
        for ((kind, name), change) in &current {
            if !saved.contains_key(&(kind.clone(), name.clone())) && change.action.is_change() {
                moved.push(format!(
                    "{kind} {name}: now needs {}, which the plan did not show",
                    change.action.label()
                ));
            }
        }
        moved
    }

    /// Counts of create, update, delete and unchanged decisions.
    pub fn summary(&self) -> Summary {
        let mut summary = Summary::default();
        for c in &self.changes {
            match c.action {
                Action::Create => summary.create += 1,
                Action::Update { .. } => summary.update += 1,
                Action::Delete => summary.delete += 1,
                Action::Unchanged => summary.unchanged += 1,
            }
        }
        summary
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub create: usize,
    pub update: usize,
    pub delete: usize,
    pub unchanged: usize,
}

/// The config as `field path → JSON value` (`origins[0].domain → "app.example.com"`).
fn flatten_config(config: &StackConfig) -> Fields {
    let mut fields = Fields::new();
    // A config always serialises; a failure would leave the map empty and the hash of it.
    if let Ok(value) = serde_json::to_value(config) {
        flatten_value("", &value, &mut fields);
    }
    fields
}

fn flatten_value(path: &str, value: &serde_json::Value, into: &mut Fields) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, value) in map {
                let path = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                flatten_value(&path, value, into);
            }
        }
        serde_json::Value::Array(items) if !items.is_empty() => {
            for (i, value) in items.iter().enumerate() {
                flatten_value(&format!("{path}[{i}]"), value, into);
            }
        }
        other => {
            into.insert(path.to_string(), other.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::FieldChange;

    fn change(kind: &str, name: &str, action: Action, observed: Option<&str>) -> Change {
        Change {
            kind: kind.into(),
            name: name.into(),
            action,
            step: 0,
            observed_sha256: observed.map(str::to_string),
        }
    }

    fn plan(config: &[(&str, &str)], changes: Vec<Change>) -> Plan {
        let config: Fields = config
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Plan {
            format: FORMAT,
            stack: "shop".into(),
            region: "eu-west-1".into(),
            account: "123456789012".into(),
            config_sha256: digest(&config),
            config,
            steps: Vec::new(),
            changes,
            warnings: Vec::new(),
        }
    }

    #[test]
    fn the_same_plan_has_moved_nothing() {
        let p = plan(
            &[("name", "\"shop\"")],
            vec![change("SQS queue", "q", Action::Create, None)],
        );
        assert!(p.moved_since(&p.clone()).is_empty());
    }

    #[test]
    fn a_changed_config_field_is_named_with_both_values() {
        let saved = plan(&[("logging.sampling_rate", "100")], vec![]);
        let now = plan(&[("logging.sampling_rate", "10")], vec![]);
        assert_eq!(
            saved.moved_since(&now),
            vec!["config field logging.sampling_rate changed: 100 → 10".to_string()]
        );
    }

    #[test]
    fn a_resource_changed_behind_the_plans_back_is_named() {
        let update = Action::Update {
            changes: vec![FieldChange {
                field: "comment".into(),
                from: Some("a".into()),
                to: Some("b".into()),
            }],
        };
        let saved = plan(
            &[],
            vec![change(
                "CloudFront distribution",
                "d",
                update.clone(),
                Some("1"),
            )],
        );
        let now = plan(
            &[],
            vec![change("CloudFront distribution", "d", update, Some("2"))],
        );
        let moved = saved.moved_since(&now);
        assert_eq!(moved.len(), 1);
        assert!(moved[0].contains("CloudFront distribution d was changed outside this plan"));
    }

    #[test]
    fn new_work_the_plan_did_not_show_and_planned_work_now_unneeded_are_named() {
        let saved = plan(&[], vec![change("SQS queue", "a", Action::Create, None)]);
        let now = plan(
            &[],
            vec![
                change("SQS queue", "a", Action::Unchanged, None),
                change("SQS queue", "b", Action::Delete, None),
            ],
        );
        assert_eq!(
            saved.moved_since(&now),
            vec![
                "SQS queue a: the plan showed create, it now needs unchanged".to_string(),
                "SQS queue b: now needs delete, which the plan did not show".to_string(),
            ]
        );
    }

    #[test]
    fn a_saved_plan_round_trips_and_another_format_is_refused() {
        let dir = std::env::temp_dir().join(format!("cfrp-plan-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap_or_default();
        let path = dir.join("plan.json");
        let p = plan(
            &[("name", "\"shop\"")],
            vec![change("SQS queue", "q", Action::Create, None)],
        );
        assert!(p.save(&path).is_ok());
        assert_eq!(Plan::load(&path).ok(), Some(p.clone()));
        let mut other = p;
        other.format = 99;
        assert!(other.save(&path).is_ok());
        let refused = Plan::load(&path)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(refused.contains("format 99"), "{refused}");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn configs_flatten_to_named_fields() {
        let mut fields = Fields::new();
        flatten_value(
            "",
            &serde_json::json!({"a": {"b": [1, {"c": "x"}]}, "e": []}),
            &mut fields,
        );
        assert_eq!(fields.get("a.b[0]").map(String::as_str), Some("1"));
        assert_eq!(fields.get("a.b[1].c").map(String::as_str), Some("\"x\""));
        assert_eq!(fields.get("e").map(String::as_str), Some("[]"));
    }
}
