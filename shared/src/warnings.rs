//! Choices a valid config may make that weaken the stack. `validate` and `plan` show them as
//! warnings (the exit code does not change); each names the field, says what the choice costs
//! and how to fix it. The checks read the [`StackConfig`] only, so a config built from flags
//! gets them too; positions come from the file's text when there is one.

use std::fmt;
use std::ops::Range;
use std::path::Path;

use toml_edit::{Item, TableLike, Value};

use crate::error::{ConfigError, Location};
use crate::schema::{OriginProtocol, OriginTls, StackConfig, ViewerProtocol};

/// One weak choice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// The field, as a path: `origins[1].protocol`.
    pub field: String,
    /// What the choice costs and how to fix it.
    pub message: String,
    /// Where the key stands in the file, when the config came from a file that has the key.
    pub location: Option<Location>,
}

/// Every warning of one config, in the order of the fields in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warnings {
    pub file: String,
    pub warnings: Vec<Warning>,
}

impl Warnings {
    /// The warnings of `config`, located in `source` (the text it was read from), if any.
    pub fn of(config: &StackConfig, file: &str, source: Option<&str>) -> Warnings {
        let mut warnings = weak_choices(config);
        if let Some(text) = source
            && let Ok(document) = toml_edit::Document::parse(text.to_string())
        {
            for warning in &mut warnings {
                warning.location =
                    span_of(&document, &warning.field).map(|span| Location::of(text, span.start));
            }
            // File order; warnings for keys the file does not hold keep their order, last.
            warnings.sort_by_key(|w| w.location.map_or((usize::MAX, 0), |l| (l.line, l.column)));
        }
        Warnings {
            file: file.to_string(),
            warnings,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.warnings.is_empty()
    }
}

impl fmt::Display for Warnings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.warnings.len();
        writeln!(
            f,
            "{} has {count} warning{} (valid, but weaker than it could be):",
            self.file,
            if count == 1 { "" } else { "s" }
        )?;
        for warning in &self.warnings {
            match warning.location {
                Some(at) => writeln!(
                    f,
                    "  {}:{}:{}: {}: {}",
                    self.file, at.line, at.column, warning.field, warning.message
                )?,
                None => writeln!(f, "  {}: {}: {}", self.file, warning.field, warning.message)?,
            }
        }
        Ok(())
    }
}

impl StackConfig {
    /// Reads and validates a config file like [`StackConfig::load`], with its warnings.
    pub fn load_with_warnings(path: &Path) -> Result<(StackConfig, Warnings), ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let file = path.display().to_string();
        let config = StackConfig::parse(&text, &file)?;
        let warnings = Warnings::of(&config, &file, Some(&text));
        Ok((config, warnings))
    }
}

fn warn(field: String, message: String) -> Warning {
    Warning {
        field,
        message,
        location: None,
    }
}

/// Whether behaviour `b` sends requests to origin `id`: directly, or through an origin group
/// it is a member of (a group's secondary receives the same requests when the primary fails).
fn reaches(config: &StackConfig, b: &crate::schema::Behavior, id: &str) -> bool {
    b.origin == id
        || config
            .origin_groups
            .iter()
            .any(|g| g.id == b.origin && (g.primary == id || g.secondary == id))
}

/// The weak choices of `config`, without positions.
pub fn weak_choices(config: &StackConfig) -> Vec<Warning> {
    let mut out = Vec::new();
    let behaviors: Vec<(String, &crate::schema::Behavior)> =
        std::iter::once(("default_behavior".to_string(), &config.default_behavior))
            .chain(
                config
                    .behaviors
                    .iter()
                    .enumerate()
                    .map(|(i, b)| (format!("behaviors[{i}]"), b)),
            )
            .collect();

    for (i, origin) in config.origins.iter().enumerate() {
        let at = format!("origins[{i}]");
        match origin.protocol {
            OriginProtocol::HttpOnly => out.push(warn(
                format!("{at}.protocol"),
                "\"http-only\": CloudFront sends every request to this origin over plain HTTP, so the X-Origin-Verify secret travels in clear between CloudFront and the origin (whoever reads it there can bypass CloudFront), and so do requests and responses; set protocol = \"https-only\" (the origin needs a certificate for its domain)".to_string(),
            )),
            OriginProtocol::MatchViewer => {
                // CloudFront only reaches the origin over HTTP for a viewer that came over
                // HTTP, which only an allow-all behaviour lets through.
                let plain: Vec<&str> = behaviors
                    .iter()
                    .filter(|(_, b)| reaches(config, b, &origin.id) && b.viewer_protocol == ViewerProtocol::AllowAll)
                    .map(|(path, _)| path.as_str())
                    .collect();
                if !plain.is_empty() {
                    out.push(warn(
                        format!("{at}.protocol"),
                        format!("\"match-viewer\": viewers on plain HTTP ({} allows them) reach this origin over plain HTTP, so the X-Origin-Verify secret travels in clear between CloudFront and the origin (whoever reads it there can bypass CloudFront); set protocol = \"https-only\"", plain.join(", ")),
                    ));
                }
            }
            OriginProtocol::HttpsOnly => {}
        }
        if origin.protocol != OriginProtocol::HttpOnly {
            for (j, version) in origin.tls_versions.iter().enumerate() {
                if *version != OriginTls::TlsV1_2 {
                    out.push(warn(
                        format!("{at}.tls_versions[{j}]"),
                        format!("\"{}\" lets CloudFront connect to this origin with a protocol older than TLS 1.2 (deprecated, RFC 8996), weakening the encryption of the secret and the traffic to the origin; if the origin speaks TLS 1.2, set tls_versions = [\"TLSv1.2\"]", version.as_str()),
                    ));
                }
            }
        }
    }

    for (path, behavior) in &behaviors {
        if behavior.viewer_protocol == ViewerProtocol::AllowAll {
            out.push(warn(
                format!("{path}.viewer_protocol"),
                "\"allow-all\": viewers may use plain HTTP, so their requests, cookies and the responses travel unencrypted between viewer and CloudFront; set viewer_protocol = \"redirect-to-https\" (or \"https-only\")".to_string(),
            ));
        }
    }

    // Managed cache policies that key on no cookies behind an origin request policy that
    // forwards them all (see `load/policies.rs` for why these warn and custom ones fail).
    for (path, behavior) in &behaviors {
        use crate::schema::{CachingMode, OriginRequest};

        // UseOriginCacheControlHeaders (origin-headers) has a default TTL of 0: it caches
        // only what the origin marks cacheable itself, so it is not warned about.
        if behavior.caching == CachingMode::Optimized
            && matches!(
                behavior.origin_request,
                OriginRequest::AllViewer | OriginRequest::AllViewerExceptHost
            )
        {
            out.push(warn(
                format!("{path}.origin_request"),
                format!("\"{}\" sends every viewer cookie to the origin, but CachingOptimized caches for a day by default with no cookie in the cache key: if the origin answers differently per cookie (a session), one viewer's response can be served to another; set origin_request = \"none\", or caching = \"custom\" with cache_key_cookies = \"all\" (or make the origin send Cache-Control: private for such responses)", behavior.origin_request),
            ));
        }
    }

    if config.distribution.aliases.is_empty() {
        out.push(warn(
            "distribution.aliases".to_string(),
            format!("none: viewers use the *.cloudfront.net name with CloudFront's default certificate, for which CloudFront applies security policy TLSv1 whatever the config says, so viewers may connect with TLS 1.0 and 1.1 and minimum_viewer_tls (\"{}\") has no effect; to enforce it, add aliases with a certificate_arn covering them", config.distribution.minimum_viewer_tls),
        ));
    }
    out
}

/// A TOML node on the way down a field path.
enum Node<'d> {
    Table(&'d dyn TableLike, Option<Range<usize>>),
    Tables(&'d toml_edit::ArrayOfTables),
    Value(&'d Value),
}

impl<'d> Node<'d> {
    fn of_item(item: &'d Item) -> Option<Node<'d>> {
        match item {
            Item::Value(value) => Some(Node::of_value(value)),
            Item::Table(table) => Some(Node::Table(table, table.span())),
            Item::ArrayOfTables(tables) => Some(Node::Tables(tables)),
            Item::None => None,
        }
    }

    fn of_value(value: &'d Value) -> Node<'d> {
        match value.as_inline_table() {
            Some(table) => Node::Table(table, value.span()),
            None => Node::Value(value),
        }
    }

    fn key(self, key: &str) -> Option<Node<'d>> {
        match self {
            Node::Table(table, _) => Node::of_item(table.get(key)?),
            _ => None,
        }
    }

    fn index(self, index: usize) -> Option<Node<'d>> {
        match self {
            Node::Tables(tables) => tables.get(index).map(|t| Node::Table(t, t.span())),
            Node::Value(value) => value.as_array()?.get(index).map(Node::of_value),
            Node::Table(..) => None,
        }
    }

    fn span(&self) -> Option<Range<usize>> {
        match self {
            Node::Table(_, span) => span.clone(),
            Node::Tables(_) => None,
            Node::Value(value) => value.span(),
        }
    }
}

/// Where the value of `field` (`origins[0].tls_versions[1]`) stands in `document`.
fn span_of(document: &toml_edit::Document<String>, field: &str) -> Option<Range<usize>> {
    let mut node = Node::Table(document.as_table(), None);
    for segment in field.split('.') {
        let (key, index) = match segment.split_once('[') {
            Some((key, rest)) => (key, Some(rest.strip_suffix(']')?.parse::<usize>().ok()?)),
            None => (segment, None),
        };
        node = node.key(key)?;
        if let Some(index) = index {
            node = node.index(index)?;
        }
    }
    node.span()
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRONG: &str = r#"
name = "shop"

[distribution]
aliases = ["cdn.shop.example.com"]
certificate_arn = "arn:aws:acm:us-east-1:123456789012:certificate/abc"

[[origins]]
id = "app"
domain = "app.shop.example.com"
"#;

    fn warnings(text: &str) -> Warnings {
        let config = StackConfig::parse(text, "proxy.toml").unwrap_or_else(|e| panic!("{e}"));
        Warnings::of(&config, "proxy.toml", Some(text))
    }

    fn fields(w: &Warnings) -> Vec<&str> {
        w.warnings.iter().map(|w| w.field.as_str()).collect()
    }

    #[test]
    fn the_defaults_with_a_certificate_warn_about_nothing() {
        assert_eq!(warnings(STRONG).warnings, Vec::new());
    }

    #[test]
    fn an_http_only_origin_costs_the_secret_in_clear() {
        let text = STRONG.replace(
            "domain = \"app.shop.example.com\"",
            "domain = \"app.shop.example.com\"\nprotocol = \"http-only\"\ntls_versions = [\"TLSv1\"]",
        );
        let w = warnings(&text);
        // TLS versions do not matter to an origin reached over HTTP only.
        assert_eq!(fields(&w), ["origins[0].protocol"]);
        let warning = &w.warnings[0];
        assert_eq!(
            warning.location,
            Some(Location {
                line: 11,
                column: 12
            })
        );
        assert!(
            warning
                .message
                .contains("X-Origin-Verify secret travels in clear")
        );
        assert!(warning.message.contains("protocol = \"https-only\""));
    }

    #[test]
    fn a_match_viewer_origin_warns_only_when_a_behaviour_lets_http_viewers_through() {
        let text = STRONG.replace(
            "domain = \"app.shop.example.com\"",
            "domain = \"app.shop.example.com\"\nprotocol = \"match-viewer\"",
        );
        // Every behaviour redirects HTTP viewers: CloudFront always reaches it over HTTPS.
        assert_eq!(warnings(&text).warnings, Vec::new());

        let text = format!(
            "{text}\n[[behaviors]]\npath_pattern = \"/plain/*\"\nviewer_protocol = \"allow-all\"\n"
        );
        let w = warnings(&text);
        assert_eq!(
            fields(&w),
            ["origins[0].protocol", "behaviors[0].viewer_protocol"]
        );
        assert!(w.warnings[0].message.contains("behaviors[0] allows them"));
        assert_eq!(
            w.warnings[1].location,
            Some(Location {
                line: 15,
                column: 19
            })
        );
        assert!(w.warnings[1].message.contains("viewers may use plain HTTP"));
    }

    #[test]
    fn a_match_viewer_origin_behind_an_origin_group_warns_like_one_reached_directly() {
        let text = format!(
            "{STRONG}\n[[origins]]\nid = \"spare\"\ndomain = \"spare.shop.example.com\"\nprotocol = \"match-viewer\"\n\n[[origin_groups]]\nid = \"site\"\nprimary = \"app\"\nsecondary = \"spare\"\n\n[[behaviors]]\npath_pattern = \"/plain/*\"\norigin = \"site\"\nallowed_methods = \"get-head\"\nviewer_protocol = \"allow-all\"\n"
        );
        let w = warnings(&text);
        assert_eq!(
            fields(&w),
            ["origins[1].protocol", "behaviors[0].viewer_protocol"]
        );
        assert!(w.warnings[0].message.contains("behaviors[0] allows them"));
    }

    #[test]
    fn each_origin_tls_version_below_1_2_is_named_where_it_stands() {
        let text = STRONG.replace(
            "domain = \"app.shop.example.com\"",
            "domain = \"app.shop.example.com\"\ntls_versions = [\"TLSv1.2\", \"TLSv1.1\", \"SSLv3\"]",
        );
        let w = warnings(&text);
        assert_eq!(
            fields(&w),
            ["origins[0].tls_versions[1]", "origins[0].tls_versions[2]"]
        );
        assert_eq!(
            w.warnings[0].location,
            Some(Location {
                line: 11,
                column: 28
            })
        );
        assert_eq!(
            w.warnings[1].location,
            Some(Location {
                line: 11,
                column: 39
            })
        );
        assert!(
            w.warnings[1]
                .message
                .starts_with("\"SSLv3\" lets CloudFront connect")
        );
    }

    #[test]
    fn no_aliases_means_the_default_certificate_and_tlsv1() {
        let text =
            "name = \"shop\"\n[[origins]]\nid = \"app\"\ndomain = \"app.shop.example.com\"\n";
        let w = warnings(text);
        assert_eq!(fields(&w), ["distribution.aliases"]);
        // The key is absent: no position to give.
        assert_eq!(w.warnings[0].location, None);
        assert!(w.warnings[0].message.contains("security policy TLSv1"));
        assert!(
            w.warnings[0]
                .message
                .contains("(\"TLSv1.2_2021\") has no effect")
        );
        assert!(
            w.to_string()
                .contains("  proxy.toml: distribution.aliases: none: viewers use")
        );
    }

    #[test]
    fn a_config_built_from_flags_gets_the_same_warnings_without_positions() {
        let mut config = StackConfig::for_origin("shop", "us-east-1", "app.shop.example.com");
        config.origins[0].protocol = OriginProtocol::HttpOnly;
        let w = Warnings::of(&config, "<flags>", None);
        assert_eq!(fields(&w), ["origins[0].protocol", "distribution.aliases"]);
        assert!(w.warnings.iter().all(|w| w.location.is_none()));
    }

    #[test]
    fn field_paths_find_tables_arrays_and_inline_values() {
        let text =
            "a = 1\n[t]\nlist = [\"x\", \"y\"]\n[[many]]\nk = \"v\"\n[[many]]\nk = { n = 2 }\n";
        let document =
            toml_edit::Document::parse(text.to_string()).unwrap_or_else(|e| panic!("{e}"));
        let at = |field: &str| span_of(&document, field).map(|s| Location::of(text, s.start));
        assert_eq!(
            at("t.list[1]"),
            Some(Location {
                line: 3,
                column: 14
            })
        );
        assert_eq!(
            at("many[1].k.n"),
            Some(Location {
                line: 7,
                column: 11
            })
        );
        assert_eq!(at("many[2].k"), None);
        assert_eq!(at("t.missing"), None);
        assert_eq!(at("a[0]"), None);
    }
}
