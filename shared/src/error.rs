//! Config errors a person can act on: where (file, line, column), which field, what was
//! wrong, and what is allowed.

use std::fmt;
use std::ops::Range;
use std::path::PathBuf;

/// A 1-based line and column (in characters) in the config file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

impl Location {
    /// The line and column of byte offset `offset` in `source`.
    pub fn of(source: &str, offset: usize) -> Location {
        let offset = offset.min(source.len());
        let before = source.get(..offset).unwrap_or(source);
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
        Location { line, column }
    }
}

/// One thing wrong with a config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The field, as a path: `origins[1].https_port`.
    pub field: String,
    /// What is wrong and what is allowed.
    pub message: String,
    /// Where in the file, when the config came from a file.
    pub location: Option<Location>,
}

/// Every problem found in one config, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problems {
    pub file: String,
    pub problems: Vec<Problem>,
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.problems.len();
        writeln!(
            f,
            "{} has {count} problem{}:",
            self.file,
            if count == 1 { "" } else { "s" }
        )?;
        for problem in &self.problems {
            match problem.location {
                Some(at) => writeln!(
                    f,
                    "  {}:{}:{}: {}: {}",
                    self.file, at.line, at.column, problem.field, problem.message
                )?,
                None => writeln!(f, "  {}: {}: {}", self.file, problem.field, problem.message)?,
            }
        }
        Ok(())
    }
}

/// Why a config could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "cannot read config file {path}: {source} (pass another file with --config FILE, or create one with `deployer init`)"
    )]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}:{}:{}: not valid TOML: {message}", .location.line, .location.column)]
    Syntax {
        file: String,
        location: Location,
        message: String,
    },
    #[error("{0}")]
    Invalid(Problems),
    #[error(
        "function settings in {variable} are not valid: {message} (redeploy with `deployer up` so the function gets settings from this version)"
    )]
    Settings { variable: String, message: String },
}

/// Collects problems while a config is read and validated, so all are reported at once.
#[derive(Debug)]
pub(crate) struct Report<'s> {
    source: &'s str,
    problems: Vec<(usize, Problem)>,
}

impl<'s> Report<'s> {
    pub(crate) fn new(source: &'s str) -> Self {
        Report {
            source,
            problems: Vec::new(),
        }
    }

    pub(crate) fn add(
        &mut self,
        field: &str,
        span: Option<Range<usize>>,
        message: impl Into<String>,
    ) {
        let offset = span.as_ref().map_or(usize::MAX, |s| s.start);
        let location = span.map(|s| Location::of(self.source, s.start));
        self.problems.push((
            offset,
            Problem {
                field: field.to_string(),
                message: message.into(),
                location,
            },
        ));
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.problems.is_empty()
    }

    pub(crate) fn into_problems(mut self, file: &str) -> Problems {
        self.problems.sort_by_key(|(offset, _)| *offset);
        Problems {
            file: file.to_string(),
            problems: self.problems.into_iter().map(|(_, p)| p).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_counts_lines_and_characters() {
        let text = "a = 1\nbé = 2\n";
        assert_eq!(Location::of(text, 0), Location { line: 1, column: 1 });
        let offset = text.find("= 2").unwrap_or_default();
        assert_eq!(Location::of(text, offset), Location { line: 2, column: 4 });
    }
}
