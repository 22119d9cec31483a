//! Which origin-verify secret `up` gives the distribution's origins. Pure: the value comes
//! from the distribution as it is (never replaced as a side effect of `up`); only a
//! distribution that carries none gets a fresh one. Rotation is `deployer secret rotate`'s.

use aws_sdk_cloudfront::types::DistributionConfig;

use super::distribution::{ORIGIN_VERIFY_HEADER, secret_digest};
use crate::diff::Fields;

/// How `up` chose the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    /// Every origin that carries the header carries this value: kept.
    Kept(String),
    /// Origins disagree: the value most of them carry is kept (on a tie, the one the earliest
    /// origin carries) and given to the others, whose old value stops working.
    Majority {
        value: String,
        /// The origins that carried another value, or none.
        differing: Vec<String>,
    },
    /// A fresh value: the distribution is new (`existing` false), or none of its origins
    /// carries the header.
    Fresh { value: String, existing: bool },
}

impl Choice {
    pub fn value(&self) -> &str {
        match self {
            Choice::Kept(value) | Choice::Majority { value, .. } | Choice::Fresh { value, .. } => {
                value
            }
        }
    }
}

/// Each origin's id and the origin-verify value it carries, in the distribution's order.
pub fn origin_secrets(config: &DistributionConfig) -> Vec<(String, Option<String>)> {
    config
        .origins()
        .map(|o| o.items())
        .unwrap_or_default()
        .iter()
        .map(|o| {
            let value = o
                .custom_headers()
                .map(|h| h.items())
                .unwrap_or_default()
                .iter()
                .find(|h| h.header_name().eq_ignore_ascii_case(ORIGIN_VERIFY_HEADER))
                .map(|h| h.header_value().to_string());
            (o.id().to_string(), value)
        })
        .collect()
}

/// The value CloudFront sends today: the one every origin carries. None when an origin lacks
/// the header or origins disagree (then `up` gives them [`choose`]'s value). `secret show`,
/// `secret rotate` and `up`'s tests all read the current value through this one function.
pub fn current(config: &DistributionConfig) -> Option<String> {
    let carried = origin_secrets(config);
    let (_, first) = carried.first()?;
    let first = first.as_ref()?;
    carried
        .iter()
        .all(|(_, value)| value.as_ref() == Some(first))
        .then(|| first.clone())
}

/// The secret for the distribution as it is now (None: it does not exist yet); `fresh`
/// makes a new value when one is needed.
pub fn choose<E>(
    existing: Option<&DistributionConfig>,
    fresh: impl FnOnce() -> Result<String, E>,
) -> Result<Choice, E> {
    let Some(existing) = existing else {
        return Ok(Choice::Fresh {
            value: fresh()?,
            existing: false,
        });
    };
    let carried = origin_secrets(existing);
    // Distinct values in order of first appearance, with how many origins carry each.
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for value in carried.iter().filter_map(|(_, v)| v.as_deref()) {
        match counts.iter_mut().find(|(v, _)| *v == value) {
            Some((_, n)) => *n += 1,
            None => counts.push((value, 1)),
        }
    }
    // max_by_key keeps the last of equals: walk in reverse so a tie goes to the earliest.
    let Some((value, _)) = counts.iter().rev().max_by_key(|(_, n)| *n).copied() else {
        return Ok(Choice::Fresh {
            value: fresh()?,
            existing: true,
        });
    };
    if counts.len() == 1 {
        return Ok(Choice::Kept(value.to_string()));
    }
    Ok(Choice::Majority {
        value: value.to_string(),
        differing: carried
            .iter()
            .filter(|(_, v)| v.as_deref().is_some_and(|v| v != value))
            .map(|(id, _)| id.clone())
            .collect(),
    })
}

/// Says in the plan why an origin's secret changes: the desired value of each origin-verify
/// field that differs from what the origin carries names the choice, the same wording
/// planning and applying (so the applied decision matches the shown one). A fresh value on
/// an existing distribution is "known after up" while planning, so a saved plan still
/// applies; applying shows its digest.
pub fn explain(desired: &mut Fields, observed: Option<&Fields>, choice: &Choice, applying: bool) {
    let suffix = format!(".header[{ORIGIN_VERIFY_HEADER}]");
    for (key, value) in desired.iter_mut() {
        if !key.ends_with(&suffix) || observed.and_then(|o| o.get(key)) == Some(value) {
            continue;
        }
        match choice {
            Choice::Fresh { existing: true, .. } if !applying => {
                *value = format!(
                    "(a new secret {}: no origin carried one; read it with `deployer secret show`)",
                    super::KNOWN_AFTER_UP
                );
            }
            Choice::Majority { value: kept, .. } => {
                *value = format!(
                    "{} (origins disagreed: up keeps the value most origins carry, for all; `deployer secret show` reads it)",
                    secret_digest(kept)
                );
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cloudfront::types::{CustomHeaders, Origin, OriginCustomHeader, Origins};

    fn distribution(origins: &[(&str, Option<&str>)]) -> DistributionConfig {
        let items = origins
            .iter()
            .map(|(id, secret)| {
                let mut origin = Origin::builder()
                    .id(*id)
                    .domain_name(format!("{id}.example.com"));
                if let Some(secret) = secret {
                    let header = OriginCustomHeader::builder()
                        .header_name(ORIGIN_VERIFY_HEADER)
                        .header_value(*secret)
                        .build()
                        .expect("header");
                    origin = origin.custom_headers(
                        CustomHeaders::builder()
                            .quantity(1)
                            .items(header)
                            .build()
                            .expect("headers"),
                    );
                }
                origin.build().expect("origin")
            })
            .collect::<Vec<_>>();
        DistributionConfig::builder()
            .caller_reference("cfrp-shop")
            .comment("")
            .enabled(true)
            .origins(
                Origins::builder()
                    .quantity(items.len() as i32)
                    .set_items(Some(items))
                    .build()
                    .expect("origins"),
            )
            .build()
            .expect("config")
    }

    fn fresh() -> Result<String, ()> {
        Ok("fresh".to_string())
    }

    #[test]
    fn a_missing_header_on_the_first_origin_keeps_the_value_the_others_carry() {
        let d = distribution(&[("web", None), ("api", Some("old")), ("img", Some("old"))]);
        assert_eq!(choose(Some(&d), fresh), Ok(Choice::Kept("old".into())));
    }

    #[test]
    fn the_current_value_is_the_one_every_origin_carries_or_none() {
        let same = distribution(&[("web", Some("a")), ("api", Some("a"))]);
        assert_eq!(current(&same), Some("a".into()));
        // [a, b, a]: not one value, though no two neighbours are equal after the first.
        let apart = distribution(&[("web", Some("a")), ("api", Some("b")), ("img", Some("a"))]);
        assert_eq!(current(&apart), None);
        let missing = distribution(&[("web", None), ("api", Some("a"))]);
        assert_eq!(current(&missing), None);
        assert_eq!(current(&distribution(&[])), None);
    }

    #[test]
    fn only_a_new_distribution_or_one_without_any_secret_gets_a_fresh_value() {
        assert_eq!(
            choose(None, fresh),
            Ok(Choice::Fresh {
                value: "fresh".into(),
                existing: false
            })
        );
        let bare = distribution(&[("web", None), ("api", None)]);
        assert_eq!(
            choose(Some(&bare), fresh),
            Ok(Choice::Fresh {
                value: "fresh".into(),
                existing: true
            })
        );
    }

    #[test]
    fn disagreeing_origins_keep_the_majority_value_and_a_tie_goes_to_the_earliest_origin() {
        let d = distribution(&[("web", Some("a")), ("api", Some("b")), ("img", Some("b"))]);
        assert_eq!(
            choose(Some(&d), fresh),
            Ok(Choice::Majority {
                value: "b".into(),
                differing: vec!["web".into()]
            })
        );
        let tie = distribution(&[("web", Some("a")), ("api", Some("b"))]);
        assert_eq!(
            choose(Some(&tie), fresh),
            Ok(Choice::Majority {
                value: "a".into(),
                differing: vec!["api".into()]
            })
        );
    }

    #[test]
    fn the_plan_says_why_a_secret_changes_and_the_apply_matches_it() {
        let key = format!("origins[web].header[{ORIGIN_VERIFY_HEADER}]");
        let other = format!("origins[api].header[{ORIGIN_VERIFY_HEADER}]");
        let observed: Fields = [
            (key.clone(), secret_digest("a")),
            (other.clone(), secret_digest("b")),
        ]
        .into();
        let majority = Choice::Majority {
            value: "b".into(),
            differing: vec!["web".into()],
        };
        let desired = || -> Fields {
            [
                (key.clone(), secret_digest("b")),
                (other.clone(), secret_digest("b")),
            ]
            .into()
        };
        let mut planned = desired();
        explain(&mut planned, Some(&observed), &majority, false);
        assert!(
            planned[&key].contains("origins disagreed"),
            "{}",
            planned[&key]
        );
        assert_eq!(
            planned[&other],
            secret_digest("b"),
            "an unchanged origin stays unchanged"
        );
        let mut applied = desired();
        explain(&mut applied, Some(&observed), &majority, true);
        assert_eq!(applied, planned);

        let none: Fields = [(key.clone(), "x".to_string())]
            .into_iter()
            .take(0)
            .collect();
        let mut fresh_plan: Fields = [(key.clone(), secret_digest("new"))].into();
        let fresh = Choice::Fresh {
            value: "new".into(),
            existing: true,
        };
        explain(&mut fresh_plan, Some(&none), &fresh, false);
        assert!(fresh_plan[&key].contains(crate::spec::KNOWN_AFTER_UP));
        assert!(!fresh_plan[&key].contains("new\""));
    }
}
