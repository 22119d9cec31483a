//! What `plan` shows and `up` acts on: per resource, create / update (with the changed
//! fields) / unchanged / delete. Pure: both sides of every comparison are flattened into the
//! same `Fields` shape by the same function, so a field either round-trips or shows up here.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A resource's settings flattened to `field path → canonical text`.
pub type Fields = BTreeMap<String, String>;

/// Builds `Fields` from `(key, value)` pairs.
pub fn fields<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> Fields {
    pairs
        .into_iter()
        .map(|(k, v)| (k.into(), v.into()))
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    pub field: String,
    /// `None` when the resource lacks the field today.
    pub from: Option<String>,
    /// `None` when the field goes away.
    pub to: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "lowercase")]
pub enum Action {
    Create,
    Update { changes: Vec<FieldChange> },
    Unchanged,
    Delete,
}

impl Action {
    pub fn is_change(&self) -> bool {
        !matches!(self, Action::Unchanged)
    }
    pub fn label(&self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update { .. } => "update",
            Action::Unchanged => "unchanged",
            Action::Delete => "delete",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// The kind of resource, e.g. "Kinesis stream".
    pub kind: String,
    pub name: String,
    #[serde(flatten)]
    pub action: Action,
    /// The plan step that decided it.
    #[serde(default)]
    pub step: usize,
    /// A digest of the resource's settings as read when the decision was made ([`digest`]):
    /// a saved plan is refused when it no longer matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_sha256: Option<String>,
}

/// Something a run found that the user should act on, changing nothing itself: e.g. a bucket
/// the stack uses but does not own lacks a protection the deployer would give its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warning {
    pub kind: String,
    pub name: String,
    pub message: String,
}

/// The digest of a resource's flattened settings (values that are secrets are digests
/// already, see `spec::distribution::secret_digest`).
pub fn digest(fields: &Fields) -> String {
    let mut hasher = Sha256::new();
    for (key, value) in fields {
        // Lengths first: no two different maps hash the same text.
        hasher.update(format!("{}:{key}{}:{value}", key.len(), value.len()));
    }
    format!("{:x}", hasher.finalize())
}

/// Whether a decision made now is the one a plan showed. A value the plan could only show as
/// `(known after up)` matches whatever it turned out to be.
pub fn same_decision(planned: &Action, now: &Action) -> bool {
    match (planned, now) {
        (Action::Update { changes: planned }, Action::Update { changes: now }) => {
            planned.len() == now.len()
                && planned.iter().zip(now).all(|(p, n)| {
                    p.field == n.field
                        && p.from == n.from
                        && (p.to == n.to
                            || p.to
                                .as_deref()
                                .is_some_and(|to| to.contains(crate::spec::KNOWN_AFTER_UP)))
                })
        }
        _ => planned == now,
    }
}

/// Compares what the config wants with what exists. Only the desired keys count: a resource
/// may carry settings we do not manage (AWS defaults, fields other tools set).
pub fn compare(desired: &Fields, observed: Option<&Fields>) -> Action {
    let Some(observed) = observed else {
        return Action::Create;
    };
    let mut keys: Vec<&String> = desired.keys().collect();
    // A key we manage that exists today but is no longer desired is a change too; managed keys
    // are recognisable because every list/map element key we emit carries its parent's path.
    for key in observed.keys() {
        if !desired.contains_key(key) && is_managed_list_entry(key, desired) {
            keys.push(key);
        }
    }
    keys.sort();
    keys.dedup();
    let changes: Vec<FieldChange> = keys
        .into_iter()
        .filter_map(|key| {
            let from = observed.get(key);
            let to = desired.get(key);
            (from != to).then(|| FieldChange {
                field: key.clone(),
                from: from.cloned(),
                to: to.cloned(),
            })
        })
        .collect();
    if changes.is_empty() {
        Action::Unchanged
    } else {
        Action::Update { changes }
    }
}

/// An observed key like `origins[old].domain` is ours when we emit other `origins[…]` keys:
/// it is an entry of a list we own entirely, so its absence from the config means removal.
fn is_managed_list_entry(key: &str, desired: &Fields) -> bool {
    let Some(bracket) = key.find('[') else {
        return false;
    };
    let list = &key[..=bracket];
    desired.keys().any(|k| k.starts_with(list))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_known_after_up_matches_what_it_became_and_nothing_else_does() {
        let update = |to: &str| Action::Update {
            changes: vec![FieldChange {
                field: "settings".into(),
                from: Some("old".into()),
                to: Some(to.into()),
            }],
        };
        let planned = update("{\"distribution\":\"(known after up)\"}");
        assert!(same_decision(
            &planned,
            &update("{\"distribution\":\"E123\"}")
        ));
        assert!(!same_decision(&update("a"), &update("b")));
        assert!(!same_decision(&Action::Create, &Action::Unchanged));
        assert!(same_decision(&Action::Delete, &Action::Delete));
    }

    #[test]
    fn digests_differ_when_any_field_does() {
        let a = fields([("a", "1"), ("b", "2")]);
        let b = fields([("a", "1"), ("b", "3")]);
        let c = fields([("a", "1b"), ("", "2")]);
        assert_ne!(digest(&a), digest(&b));
        assert_ne!(digest(&a), digest(&c));
        assert_eq!(digest(&a), digest(&a.clone()));
    }

    #[test]
    fn nothing_observed_is_create() {
        assert_eq!(compare(&fields([("a", "1")]), None), Action::Create);
    }

    #[test]
    fn equal_fields_are_unchanged_and_extra_observed_scalars_are_ignored() {
        let desired = fields([("a", "1")]);
        let observed = fields([("a", "1"), ("aws_default", "x")]);
        assert_eq!(compare(&desired, Some(&observed)), Action::Unchanged);
    }

    #[test]
    fn changed_and_removed_list_entries_are_reported_field_by_field() {
        let desired = fields([("origins[app].domain", "new.example.com")]);
        let observed = fields([
            ("origins[app].domain", "old.example.com"),
            ("origins[gone].domain", "gone.example.com"),
        ]);
        let Action::Update { changes } = compare(&desired, Some(&observed)) else {
            panic!("expected an update");
        };
        assert_eq!(
            changes,
            vec![
                FieldChange {
                    field: "origins[app].domain".into(),
                    from: Some("old.example.com".into()),
                    to: Some("new.example.com".into()),
                },
                FieldChange {
                    field: "origins[gone].domain".into(),
                    from: Some("gone.example.com".into()),
                    to: None,
                },
            ]
        );
    }
}
