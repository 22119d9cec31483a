//! Reads typed values out of a parsed TOML document, keeping every value's position.
//!
//! Why not `serde`: a serde deserializer stops at the first type error, and
//! `deny_unknown_fields` at the first unknown key; users asked for every problem of a file in
//! one report, each with its line and column. This reader records a problem and carries on, and
//! reports the keys a table holds that nobody asked for (with the closest known key).

use std::collections::BTreeSet;
use std::ops::Range;

use toml_edit::{Item, TableLike, Value};

use crate::error::Report;

/// A TOML table being read, with the path that names it in problems (`origins[0]`).
pub(crate) struct TableReader<'d> {
    table: &'d dyn TableLike,
    path: String,
    span: Option<Range<usize>>,
    known: BTreeSet<&'static str>,
}

/// A value read from the file, with where it stands.
#[derive(Debug, Clone)]
pub(crate) struct At<T> {
    pub value: T,
    pub span: Option<Range<usize>>,
    pub path: String,
}

impl<'d> TableReader<'d> {
    pub(crate) fn root(document: &'d toml_edit::Document<String>) -> Self {
        TableReader {
            table: document.as_table(),
            path: String::new(),
            span: Some(0..0),
            known: BTreeSet::new(),
        }
    }

    pub(crate) fn path_of(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    pub(crate) fn span(&self) -> Option<Range<usize>> {
        self.span.clone()
    }

    pub(crate) fn path(&self) -> &str {
        &self.path
    }

    /// Whether the table holds `key`, whatever its type.
    pub(crate) fn contains(&mut self, key: &'static str) -> bool {
        self.known.insert(key);
        self.table.contains_key(key)
    }

    fn item(&mut self, key: &'static str) -> Option<(&'d Item, Option<Range<usize>>)> {
        self.known.insert(key);
        let (k, item) = self.table.get_key_value(key)?;
        let span = item.span().or_else(|| k.span());
        Some((item, span))
    }

    fn value(
        &mut self,
        key: &'static str,
        report: &mut Report,
        expected: &str,
    ) -> Option<(&'d Value, Option<Range<usize>>)> {
        let (item, span) = self.item(key)?;
        match item.as_value() {
            Some(value) => Some((value, value.span().or(span))),
            None => {
                report.add(
                    &self.path_of(key),
                    span,
                    format!("expected {expected}, found a table"),
                );
                None
            }
        }
    }

    /// A scalar of one type: `get` extracts it, `expected` names it in the problem.
    fn scalar<T>(
        &mut self,
        key: &'static str,
        report: &mut Report,
        expected: &str,
        get: impl Fn(&Value) -> Option<T>,
    ) -> Option<At<T>> {
        let (value, span) = self.value(key, report, expected)?;
        match get(value) {
            Some(found) => Some(At {
                value: found,
                span,
                path: self.path_of(key),
            }),
            None => {
                report.add(
                    &self.path_of(key),
                    span,
                    format!("expected {expected}, found {}", kind(value)),
                );
                None
            }
        }
    }

    pub(crate) fn string(&mut self, key: &'static str, report: &mut Report) -> Option<At<String>> {
        self.scalar(key, report, "a string", |v| v.as_str().map(str::to_string))
    }

    pub(crate) fn integer(&mut self, key: &'static str, report: &mut Report) -> Option<At<i64>> {
        self.scalar(key, report, "a whole number", Value::as_integer)
    }

    pub(crate) fn float(&mut self, key: &'static str, report: &mut Report) -> Option<At<f64>> {
        self.scalar(key, report, "a number", Value::as_float)
    }

    pub(crate) fn boolean(&mut self, key: &'static str, report: &mut Report) -> Option<At<bool>> {
        self.scalar(key, report, "true or false", Value::as_bool)
    }

    pub(crate) fn strings(
        &mut self,
        key: &'static str,
        report: &mut Report,
    ) -> Option<Vec<At<String>>> {
        let (value, span) = self.value(key, report, "a list of strings")?;
        let Some(array) = value.as_array() else {
            report.add(
                &self.path_of(key),
                span,
                format!("expected a list of strings, found {}", kind(value)),
            );
            return None;
        };
        let mut out = Vec::new();
        for (index, element) in array.iter().enumerate() {
            let path = format!("{}[{index}]", self.path_of(key));
            match element.as_str() {
                Some(text) => out.push(At {
                    value: text.to_string(),
                    span: element.span(),
                    path,
                }),
                None => report.add(
                    &path,
                    element.span(),
                    format!("expected a string, found {}", kind(element)),
                ),
            }
        }
        Some(out)
    }

    /// A sub-table (`[a.b]` or `b = { ... }`).
    pub(crate) fn table(
        &mut self,
        key: &'static str,
        report: &mut Report,
    ) -> Option<TableReader<'d>> {
        let (item, span) = self.item(key)?;
        match item.as_table_like() {
            Some(table) => Some(TableReader {
                table,
                path: self.path_of(key),
                span,
                known: BTreeSet::new(),
            }),
            None => {
                report.add(&self.path_of(key), span, "expected a table".to_string());
                None
            }
        }
    }

    /// An array of tables (`[[key]]` or `key = [{...}, {...}]`).
    pub(crate) fn tables(
        &mut self,
        key: &'static str,
        report: &mut Report,
    ) -> Vec<TableReader<'d>> {
        let Some((item, span)) = self.item(key) else {
            return Vec::new();
        };
        let base = self.path_of(key);
        if let Some(array) = item.as_array_of_tables() {
            return array
                .iter()
                .enumerate()
                .map(|(index, table)| TableReader {
                    table,
                    path: format!("{base}[{index}]"),
                    span: table.span(),
                    known: BTreeSet::new(),
                })
                .collect();
        }
        if let Some(array) = item.as_array() {
            let mut out = Vec::new();
            for (index, element) in array.iter().enumerate() {
                match element.as_inline_table() {
                    Some(table) => out.push(TableReader {
                        table,
                        path: format!("{base}[{index}]"),
                        span: element.span(),
                        known: BTreeSet::new(),
                    }),
                    None => report.add(
                        &format!("{base}[{index}]"),
                        element.span(),
                        "expected a table",
                    ),
                }
            }
            return out;
        }
        report.add(
            &base,
            span,
            format!("expected a list of tables (write [[{key}]] sections)"),
        );
        Vec::new()
    }

    /// Reports every key of this table that no reader asked for.
    pub(crate) fn finish(self, report: &mut Report) {
        for (key, item) in self.table.iter() {
            if self.known.contains(key) {
                continue;
            }
            let span = self
                .table
                .get_key_value(key)
                .and_then(|(k, _)| k.span())
                .or_else(|| item.span());
            let suggestion = self
                .known
                .iter()
                .map(|candidate| (strsim::jaro_winkler(key, candidate), *candidate))
                .filter(|(score, _)| *score > 0.8)
                .max_by(|a, b| a.0.total_cmp(&b.0))
                .map(|(_, candidate)| format!("; did you mean `{candidate}`?"))
                .unwrap_or_default();
            let allowed: Vec<&str> = self.known.iter().copied().collect();
            report.add(
                &self.path_of(key),
                span,
                format!(
                    "unknown key `{key}`{suggestion} (allowed here: {})",
                    allowed.join(", ")
                ),
            );
        }
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::String(_) => "a string",
        Value::Integer(_) => "a whole number",
        Value::Float(_) => "a decimal number",
        Value::Boolean(_) => "true/false",
        Value::Datetime(_) => "a date",
        Value::Array(_) => "a list",
        Value::InlineTable(_) => "a table",
    }
}

impl TableReader<'_> {
    /// A list of whole numbers (`[500, 502]`); elements of another type are reported.
    pub(crate) fn integers(
        &mut self,
        key: &'static str,
        report: &mut Report,
    ) -> Option<Vec<At<i64>>> {
        let (value, span) = self.value(key, report, "a list of whole numbers")?;
        let Some(array) = value.as_array() else {
            report.add(
                &self.path_of(key),
                span,
                format!("expected a list of whole numbers, found {}", kind(value)),
            );
            return None;
        };
        let mut out = Vec::new();
        for (index, element) in array.iter().enumerate() {
            let path = format!("{}[{index}]", self.path_of(key));
            match element.as_integer() {
                Some(number) => out.push(At {
                    value: number,
                    span: element.span(),
                    path,
                }),
                None => report.add(
                    &path,
                    element.span(),
                    format!("expected a whole number, found {}", kind(element)),
                ),
            }
        }
        Some(out)
    }
}
