//! Which paths one batch invalidates.
//!
//! The rule, cheapest first while staying inside CloudFront's limits:
//! 1. Paths are de-duplicated.
//! 2. A directory with [`COLLAPSE_AT`] or more changed paths directly inside it becomes one
//!    wildcard `dir/*`: CloudFront bills a wildcard as one path, and a burst of uploads to one
//!    directory is cheaper invalidated at once (the price: unchanged objects in that
//!    directory are fetched from the origin again).
//! 3. CloudFront allows 3,000 file paths and 15 wildcard paths in progress per distribution.
//!    While the batch still has more than [`MAX_FILE_PATHS`] file paths, the directory with
//!    the most is collapsed; while it has more than [`MAX_WILDCARDS`] wildcards, everything
//!    becomes the one wildcard `<path_prefix>*`.
//! 4. Paths covered by a wildcard are dropped.
//!
//! The CallerReference is a SHA-256 over the sorted S3 change identities (bucket, key,
//! sequencer) and the final paths: a redelivered batch produces the same reference, so
//! CloudFront returns the invalidation it already has instead of creating a second one, while
//! a new upload of the same key (a new sequencer) gets a new invalidation.

use std::collections::{BTreeMap, BTreeSet};

use sha2::{Digest, Sha256};

pub const COLLAPSE_AT: usize = 10;
pub const MAX_FILE_PATHS: usize = cfrp_config::invalidation::MAX_FILE_PATHS_IN_PROGRESS;
pub const MAX_WILDCARDS: usize = cfrp_config::invalidation::MAX_WILDCARD_PATHS_IN_PROGRESS;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Sorted: wildcards and files.
    pub paths: Vec<String>,
    pub wildcards: usize,
}

fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(i) => &path[..=i],
        None => "/",
    }
}

/// Plans the paths for a batch; `path_prefix` is where all manuscripts live.
pub fn plan(paths: impl IntoIterator<Item = String>, path_prefix: &str) -> Plan {
    let unique: BTreeSet<String> = paths.into_iter().collect();
    let mut by_directory: BTreeMap<String, Vec<String>> = BTreeMap::new();
    // Wildcards given (a key with `*` in it, see `paths`) count against CloudFront's wildcard
    // limit like the ones made here.
    let mut wildcards: BTreeSet<String> = BTreeSet::new();
    for path in unique {
        if cfrp_config::invalidation::is_wildcard(&path) {
            wildcards.insert(path);
            continue;
        }
        by_directory
            .entry(parent(&path).to_string())
            .or_default()
            .push(path);
    }
    by_directory.retain(|directory, files| {
        if files.len() >= COLLAPSE_AT {
            wildcards.insert(format!("{directory}*"));
            false
        } else {
            true
        }
    });
    let mut file_count: usize = by_directory.values().map(Vec::len).sum();
    while file_count > MAX_FILE_PATHS {
        let Some(largest) = by_directory
            .iter()
            .max_by_key(|(_, files)| files.len())
            .map(|(d, _)| d.clone())
        else {
            break;
        };
        if let Some(files) = by_directory.remove(&largest) {
            file_count -= files.len();
        }
        wildcards.insert(format!("{largest}*"));
    }
    if wildcards.len() > MAX_WILDCARDS {
        return Plan {
            paths: vec![format!("{path_prefix}*")],
            wildcards: 1,
        };
    }
    let covered = |path: &str| {
        wildcards
            .iter()
            .any(|w| path.starts_with(w.trim_end_matches('*')))
    };
    let mut out: Vec<String> = by_directory
        .into_values()
        .flatten()
        .filter(|p| !covered(p))
        .collect();
    // A wildcard inside another wildcard's directory is redundant too.
    let nested: Vec<String> = wildcards
        .iter()
        .filter(|w| {
            wildcards
                .iter()
                .any(|outer| outer != *w && w.starts_with(outer.trim_end_matches('*')))
        })
        .cloned()
        .collect();
    for w in nested {
        wildcards.remove(&w);
    }
    let count = wildcards.len();
    out.extend(wildcards);
    out.sort();
    Plan {
        paths: out,
        wildcards: count,
    }
}

/// One S3 change, as the notification identifies it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Change {
    pub bucket: String,
    pub key: String,
    pub sequencer: String,
}

/// The CallerReference for a batch (at most 128 characters: "cfrp-" and 64 hex digits).
pub fn caller_reference(changes: &[Change], paths: &[String]) -> String {
    let mut sorted: Vec<&Change> = changes.iter().collect();
    sorted.sort();
    let mut hasher = Sha256::new();
    for change in sorted {
        for part in [&change.bucket, &change.key, &change.sequencer] {
            hasher.update(part.as_bytes());
            hasher.update([0]);
        }
    }
    hasher.update([1]);
    for path in paths {
        hasher.update(path.as_bytes());
        hasher.update([0]);
    }
    let digest = hasher.finalize();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("cfrp-{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(dir: &str, n: usize) -> Vec<String> {
        (0..n).map(|i| format!("{dir}f{i}.html")).collect()
    }

    #[test]
    fn duplicates_go_and_small_directories_stay_files() {
        let p = plan(
            vec!["/m/a.html".into(), "/m/a.html".into(), "/m/b.html".into()],
            "/m/",
        );
        assert_eq!(p.paths, vec!["/m/a.html", "/m/b.html"]);
        assert_eq!(p.wildcards, 0);
    }

    #[test]
    fn wildcards_from_starred_keys_count_against_the_wildcard_limit() {
        let one = plan(
            vec![
                "/m/notes/a*".into(),
                "/m/notes/ab.html".into(),
                "/m/x.html".into(),
            ],
            "/m/",
        );
        assert_eq!(
            one.paths,
            vec!["/m/notes/a*", "/m/x.html"],
            "ab.html is covered"
        );
        assert_eq!(one.wildcards, 1);
        let sixteen: Vec<String> = (0..16).map(|i| format!("/m/k{i:02}*")).collect();
        let p = plan(sixteen, "/m/");
        assert_eq!(p.paths, vec!["/m/*"]);
        assert_eq!(p.wildcards, 1);
    }

    #[test]
    fn a_busy_directory_becomes_one_wildcard_at_the_threshold() {
        let mut paths = files("/m/essays/", COLLAPSE_AT - 1);
        assert_eq!(plan(paths.clone(), "/m/").paths.len(), COLLAPSE_AT - 1);
        paths.push("/m/essays/last.html".into());
        paths.push("/m/other.html".into());
        let p = plan(paths, "/m/");
        assert_eq!(p.paths, vec!["/m/essays/*", "/m/other.html"]);
        assert_eq!(p.wildcards, 1);
    }

    #[test]
    fn file_paths_stay_within_the_in_progress_limit() {
        // 400 directories of 9 files: 3,600 files, none busy enough on its own.
        let paths: Vec<String> = (0..400)
            .flat_map(|d| files(&format!("/m/d{d}/"), 9))
            .collect();
        let p = plan(paths, "/m/");
        let file_paths = p.paths.iter().filter(|x| !x.ends_with('*')).count();
        // Collapsing 67 directories leaves 333 × 9 = 2,997 files, but 67 wildcards exceed 15,
        // so the whole prefix is invalidated.
        assert!(file_paths <= MAX_FILE_PATHS);
        assert_eq!(p.paths, vec!["/m/*"]);
    }

    #[test]
    fn exactly_at_the_limits_nothing_is_collapsed_needlessly() {
        let paths: Vec<String> = (0..MAX_FILE_PATHS / 3)
            .flat_map(|d| files(&format!("/m/d{d}/"), 3))
            .collect();
        let p = plan(paths, "/m/");
        assert_eq!(p.paths.len(), MAX_FILE_PATHS);
        assert_eq!(p.wildcards, 0);
        // Fifteen busy directories are fifteen wildcards; sixteen become one prefix wildcard.
        let fifteen: Vec<String> = (0..15)
            .flat_map(|d| files(&format!("/m/w{d}/"), COLLAPSE_AT))
            .collect();
        assert_eq!(plan(fifteen.clone(), "/m/").wildcards, 15);
        let mut sixteen = fifteen;
        sixteen.extend(files("/m/w15/", COLLAPSE_AT));
        assert_eq!(plan(sixteen, "/m/").paths, vec!["/m/*"]);
    }

    #[test]
    fn nested_wildcards_and_covered_files_are_dropped() {
        let mut paths = files("/m/a/", COLLAPSE_AT);
        paths.extend(files("/m/a/b/", COLLAPSE_AT));
        paths.push("/m/a/b/c/one.html".into());
        let p = plan(paths, "/m/");
        assert_eq!(p.paths, vec!["/m/a/*"]);
    }

    #[test]
    fn caller_reference_is_stable_under_reordering_and_changes_with_content() {
        let a = Change {
            bucket: "b".into(),
            key: "k1".into(),
            sequencer: "01".into(),
        };
        let b = Change {
            bucket: "b".into(),
            key: "k2".into(),
            sequencer: "02".into(),
        };
        let paths = vec!["/k1".to_string(), "/k2".to_string()];
        let one = caller_reference(&[a.clone(), b.clone()], &paths);
        assert_eq!(one, caller_reference(&[b.clone(), a.clone()], &paths));
        assert_eq!(one.len(), 69);
        let newer = Change {
            sequencer: "03".into(),
            ..a
        };
        assert_ne!(one, caller_reference(&[newer, b], &paths));
    }
}
