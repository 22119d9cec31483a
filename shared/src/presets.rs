//! Presets: commented stack configs for the common deployments, embedded in the crate.
//!
//! A preset is nothing but a `proxy.toml` (in `shared/presets/`) whose comments explain each
//! choice; `deployer init --preset NAME` writes it out. [`Preset::render`] fills in the values
//! the files mark as examples (stack name, region, origin domains) by editing the parsed
//! document, so every comment survives, and validates the result like any config file.

use std::fmt;
use std::str::FromStr;

use toml_edit::{DocumentMut, Item, TableLike, Value};

use crate::error::{ConfigError, Location};
use crate::schema::StackConfig;

/// One preset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preset {
    /// The name `--preset` takes.
    pub name: &'static str,
    /// Other names that select it.
    pub aliases: &'static [&'static str],
    /// One line for `deployer init --list`.
    pub description: &'static str,
    /// The commented `proxy.toml`.
    pub text: &'static str,
}

/// Every preset, in the order `deployer init --list` shows them.
pub const PRESETS: &[Preset] = &[
    Preset {
        name: "api",
        aliases: &[],
        description: "an HTTP API: nothing cached, every method, all viewer headers to the origin",
        text: include_str!("../presets/api.toml"),
    },
    Preset {
        name: "static",
        aliases: &[],
        description: "static files: CachingOptimized, year-long TTLs for hashed build output, an origin path",
        text: include_str!("../presets/static.toml"),
    },
    Preset {
        name: "microservices",
        aliases: &[],
        description: "several services behind one domain, each origin reached by its own path pattern",
        text: include_str!("../presets/microservices.toml"),
    },
    Preset {
        name: "signing-api",
        aliases: &["rainbow-crypto"],
        description: "a signature service: key generation never cached, verification cached 1 h by signature id, manuscripts 24 h with security headers",
        text: include_str!("../presets/signing-api.toml"),
    },
];

/// A name that is no preset's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown preset \"{name}\"; use one of: {}", valid_names())]
pub struct UnknownPreset {
    pub name: String,
}

/// The valid names as one line: `api, static, ..., signing-api (alias rainbow-crypto)`.
pub fn valid_names() -> String {
    PRESETS
        .iter()
        .map(|p| {
            if p.aliases.is_empty() {
                p.name.to_string()
            } else {
                format!("{} (alias {})", p.name, p.aliases.join(", "))
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The preset called `name` (or one of its aliases); names are matched case-insensitively.
pub fn get(name: &str) -> Result<&'static Preset, UnknownPreset> {
    let wanted = name.trim().to_ascii_lowercase();
    PRESETS
        .iter()
        .find(|p| p.name == wanted || p.aliases.contains(&wanted.as_str()))
        .ok_or_else(|| UnknownPreset {
            name: name.to_string(),
        })
}

/// An origin domain to put into a preset: `HOST` for every origin (not named otherwise), or
/// `ID=HOST` for the origin with that id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginDomain {
    pub origin: Option<String>,
    pub domain: String,
}

impl FromStr for OriginDomain {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (origin, domain) = match text.split_once('=') {
            Some((id, host)) => (Some(id.trim().to_string()), host.trim()),
            None => (None, text.trim()),
        };
        if domain.is_empty() || origin.as_deref() == Some("") {
            return Err(format!(
                "\"{text}\" is not HOST or ORIGIN_ID=HOST (e.g. api.mycompany.com or users=users.mycompany.com)"
            ));
        }
        Ok(OriginDomain {
            origin,
            domain: domain.to_string(),
        })
    }
}

impl fmt::Display for OriginDomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.origin {
            Some(id) => write!(f, "{id}={}", self.domain),
            None => f.write_str(&self.domain),
        }
    }
}

/// The example values of a preset to replace.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    /// The stack name; also names the manuscripts bucket `<name>-manuscripts` when the preset
    /// has one.
    pub name: Option<String>,
    pub region: Option<String>,
    pub origin_domains: Vec<OriginDomain>,
}

/// Why a preset could not be filled in.
#[derive(Debug, thiserror::Error)]
pub enum PresetError {
    #[error(transparent)]
    Unknown(#[from] UnknownPreset),
    #[error(
        "origin domain \"{given}\": preset \"{preset}\" has no origin \"{origin}\"; its origins are: {known}"
    )]
    NoSuchOrigin {
        preset: &'static str,
        given: String,
        origin: String,
        known: String,
    },
    #[error(
        "origin domains \"{first}\" and \"{second}\" both name no origin id; give one HOST for every origin, or ORIGIN_ID=HOST for each"
    )]
    TwoDefaultDomains { first: String, second: String },
    /// The filled-in config does not validate (e.g. a stack name with capitals).
    #[error("{0}")]
    Invalid(#[from] ConfigError),
}

impl Preset {
    /// The name a config read from this preset is reported under.
    fn file(&self) -> String {
        format!("preset {}", self.name)
    }

    /// The preset's config as written, parsed and validated.
    pub fn config(&self) -> Result<StackConfig, ConfigError> {
        StackConfig::parse(self.text, &self.file())
    }

    /// The preset's text with `overrides` filled in, comments and layout kept; validated.
    pub fn render(&self, overrides: &Overrides) -> Result<String, PresetError> {
        let mut document: DocumentMut =
            self.text
                .parse()
                .map_err(|err: toml_edit::TomlError| ConfigError::Syntax {
                    file: self.file(),
                    location: Location::of(self.text, err.span().map_or(0, |s| s.start)),
                    message: err.message().trim().to_string(),
                })?;
        if let Some(name) = &overrides.name {
            set_string(document.as_table_mut(), "name", name);
            if let Some(manuscripts) = document
                .get_mut("manuscripts")
                .and_then(Item::as_table_like_mut)
            {
                set_string(manuscripts, "bucket", &format!("{name}-manuscripts"));
            }
        }
        if let Some(region) = &overrides.region {
            set_string(document.as_table_mut(), "region", region);
        }
        self.set_domains(&mut document, &overrides.origin_domains)?;
        let text = document.to_string();
        StackConfig::parse(&text, &self.file())?;
        Ok(text)
    }

    fn set_domains(
        &self,
        document: &mut DocumentMut,
        domains: &[OriginDomain],
    ) -> Result<(), PresetError> {
        if domains.is_empty() {
            return Ok(());
        }
        let mut default: Option<&OriginDomain> = None;
        for d in domains.iter().filter(|d| d.origin.is_none()) {
            if let Some(first) = default {
                return Err(PresetError::TwoDefaultDomains {
                    first: first.to_string(),
                    second: d.to_string(),
                });
            }
            default = Some(d);
        }
        let Some(origins) = document
            .get_mut("origins")
            .and_then(Item::as_array_of_tables_mut)
        else {
            // Every preset has [[origins]]; a preset without would fail validation anyway.
            return Ok(());
        };
        let id_of = |t: &toml_edit::Table| {
            t.get("id")
                .and_then(Item::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let known: Vec<String> = origins.iter().map(id_of).collect();
        for d in domains {
            if let Some(id) = &d.origin
                && !known.contains(id)
            {
                return Err(PresetError::NoSuchOrigin {
                    preset: self.name,
                    given: d.to_string(),
                    origin: id.clone(),
                    known: known.join(", "),
                });
            }
        }
        for table in origins.iter_mut() {
            let id = id_of(table);
            let chosen = domains
                .iter()
                .rev()
                .find(|d| d.origin.as_deref() == Some(id.as_str()))
                .or(default);
            if let Some(d) = chosen {
                set_string(table, "domain", &d.domain);
            }
        }
        Ok(())
    }
}

/// Sets `key` to a string, keeping the comments around the old value.
fn set_string(table: &mut dyn TableLike, key: &str, text: &str) {
    match table.get_mut(key).and_then(Item::as_value_mut) {
        Some(value) => {
            let decor = value.decor().clone();
            *value = Value::from(text);
            *value.decor_mut() = decor;
        }
        None => {
            table.insert(key, toml_edit::value(text));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{AllowedMethods, CachingMode, OriginRequest, ResponseHeaders};

    fn config(name: &str) -> StackConfig {
        let preset = get(name).unwrap_or_else(|e| panic!("{e}"));
        preset.config().unwrap_or_else(|e| panic!("{e}"))
    }

    fn behavior<'a>(config: &'a StackConfig, pattern: &str) -> &'a crate::schema::Behavior {
        config
            .behaviors
            .iter()
            .find(|b| b.path_pattern.as_deref() == Some(pattern))
            .unwrap_or_else(|| panic!("no behaviour {pattern}"))
    }

    #[test]
    fn every_preset_parses_validates_and_explains_itself() {
        for preset in PRESETS {
            let config = preset.config().unwrap_or_else(|e| panic!("{e}"));
            assert!(config.validate().is_ok(), "{} round-trips", preset.name);
            // A commented file: more comment lines than not, and every example value marked.
            let comments = preset
                .text
                .lines()
                .filter(|l| l.trim_start().starts_with('#'))
                .count();
            assert!(
                comments >= 20,
                "{} has {comments} comment lines",
                preset.name
            );
            assert!(preset.text.contains("# EXAMPLE: the stack name"));
            for origin in &config.origins {
                assert!(
                    origin.domain.ends_with("example.com"),
                    "{}: {} is an obvious example value",
                    preset.name,
                    origin.domain
                );
            }
            assert!(config.name.starts_with("example-"));
            assert!(!preset.description.is_empty() && !preset.description.contains('\n'));
        }
    }

    #[test]
    fn api_caches_nothing_allows_every_method_and_forwards_all_viewer_headers() {
        let c = config("api");
        let d = &c.default_behavior;
        assert_eq!(d.caching, CachingMode::Disabled);
        assert_eq!(d.allowed_methods, AllowedMethods::All);
        assert_eq!(d.origin_request, OriginRequest::AllViewerExceptHost);
        assert!(c.behaviors.is_empty());
        assert_eq!(c.origins[0].path, "/prod");
    }

    #[test]
    fn presets_choose_how_long_errors_are_cached() {
        // Caching nothing of an API also means not repeating its server errors: 0 s for
        // 500, 502, 503 and 504, every other code at CloudFront's 10 s.
        for name in ["api", "microservices", "signing-api"] {
            let c = config(name);
            let zero: Vec<(u16, u64)> = c
                .error_responses
                .iter()
                .map(|e| (e.code, e.caching_min_ttl))
                .collect();
            assert_eq!(zero, [(500, 0), (502, 0), (503, 0), (504, 0)], "{name}");
            assert!(c.error_responses.iter().all(|e| e.page.is_none()), "{name}");
        }
        // Static files: CloudFront's default, stated in the file.
        let c = config("static");
        assert!(c.error_responses.is_empty());
        assert!(
            get("static")
                .map(|p| p.text.contains("10 s"))
                .unwrap_or(false)
        );
    }

    #[test]
    fn static_caches_optimised_with_long_ttls_and_an_origin_path() {
        let c = config("static");
        assert_eq!(c.default_behavior.caching, CachingMode::Optimized);
        assert_eq!(c.default_behavior.allowed_methods, AllowedMethods::GetHead);
        assert_eq!(c.default_behavior.origin_request, OriginRequest::None);
        let build = behavior(&c, "/build/*");
        assert_eq!(build.caching, CachingMode::Custom);
        let ttl = build.ttl.clone().unwrap_or_else(|| panic!("a ttl"));
        assert_eq!((ttl.default, ttl.max), (31_536_000, 31_536_000));
        assert_eq!(c.origins[0].path, "/assets");
        assert_eq!(
            c.distribution.default_root_object.as_deref(),
            Some("index.html")
        );
    }

    #[test]
    fn microservices_route_at_least_three_origins_by_path_pattern() {
        let c = config("microservices");
        assert!(c.origins.len() >= 3);
        let routed: std::collections::BTreeSet<&str> = c
            .behaviors
            .iter()
            .filter(|b| b.path_pattern.is_some())
            .map(|b| b.origin.as_str())
            .collect();
        assert!(routed.len() >= 3, "{routed:?}");
        for id in &routed {
            assert!(c.origins.iter().any(|o| o.id == *id));
        }
        // Every origin is reached: the default behaviour takes the rest.
        for o in &c.origins {
            assert!(routed.contains(o.id.as_str()) || c.default_behavior.origin == o.id);
        }
    }

    #[test]
    fn signing_api_never_caches_keys_caches_verification_and_manuscripts() {
        let c = config("signing-api");
        let keys = behavior(&c, "/keys/*");
        assert_eq!(keys.caching, CachingMode::Disabled);
        let verify = behavior(&c, "/verify/*");
        assert_eq!(verify.caching, CachingMode::Custom);
        let ttl = verify.ttl.clone().unwrap_or_else(|| panic!("a ttl"));
        assert_eq!((ttl.default, ttl.max), (3600, 3600));
        assert_eq!(verify.cache_key_headers, ["X-Signature-Id"]);
        assert!(
            verify
                .cache_key_headers
                .iter()
                .any(|h| h.to_ascii_lowercase().contains("signature-id"))
        );
        let manuscripts = behavior(&c, "/manuscripts/*");
        assert_eq!(manuscripts.caching, CachingMode::Custom);
        let ttl = manuscripts.ttl.clone().unwrap_or_else(|| panic!("a ttl"));
        assert_eq!((ttl.default, ttl.max), (86_400, 86_400));
        assert_eq!(
            manuscripts.response_headers,
            ResponseHeaders::SecurityHeaders
        );
        assert_eq!(c.default_behavior.caching, CachingMode::Disabled);
        let invalidation = c
            .manuscripts
            .clone()
            .unwrap_or_else(|| panic!("manuscripts"));
        assert_eq!(invalidation.path_prefix, "/manuscripts/");
    }

    #[test]
    fn rainbow_crypto_is_the_signing_api_and_unknown_names_list_the_valid_ones() {
        assert_eq!(get("rainbow-crypto"), get("signing-api"));
        assert_eq!(get("Signing-API").map(|p| p.name), Ok("signing-api"));
        let err = get("lambda").err().unwrap_or_else(|| panic!("unknown"));
        let message = err.to_string();
        assert!(message.contains("\"lambda\""), "{message}");
        for p in PRESETS {
            assert!(message.contains(p.name), "{message}");
        }
        assert!(message.contains("rainbow-crypto"), "{message}");
    }

    #[test]
    fn render_fills_in_name_region_and_domain_and_keeps_the_comments() {
        let preset = get("signing-api").unwrap_or_else(|e| panic!("{e}"));
        let text = preset
            .render(&Overrides {
                name: Some("crypto-prod".into()),
                region: Some("eu-west-1".into()),
                origin_domains: vec![
                    "crypto-api.mycorp.net"
                        .parse()
                        .unwrap_or_else(|e| panic!("{e}")),
                ],
            })
            .unwrap_or_else(|e| panic!("{e}"));
        let c = StackConfig::parse(&text, "rendered").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.name, "crypto-prod");
        assert_eq!(c.region, "eu-west-1");
        assert_eq!(c.origins[0].domain, "crypto-api.mycorp.net");
        assert_eq!(
            c.manuscripts.map(|m| m.bucket).as_deref(),
            Some("crypto-prod-manuscripts")
        );
        // Same lines but the four filled in: every comment kept, in place.
        let before: Vec<&str> = preset.text.lines().collect();
        let after: Vec<&str> = text.lines().collect();
        assert_eq!(before.len(), after.len());
        let changed: Vec<&str> = before
            .iter()
            .zip(&after)
            .filter(|(b, a)| b != a)
            .map(|(_, a)| *a)
            .collect();
        assert_eq!(
            changed,
            [
                "name = \"crypto-prod\"",
                "region = \"eu-west-1\"",
                "domain = \"crypto-api.mycorp.net\"",
                "bucket = \"crypto-prod-manuscripts\""
            ]
        );
        // No overrides: the preset as it is.
        assert_eq!(
            preset.render(&Overrides::default()).unwrap_or_default(),
            preset.text
        );
    }

    #[test]
    fn render_sets_one_origin_by_id_or_all_by_default() {
        let preset = get("microservices").unwrap_or_else(|e| panic!("{e}"));
        let parse = |s: &str| s.parse::<OriginDomain>().unwrap_or_else(|e| panic!("{e}"));
        let text = preset
            .render(&Overrides {
                origin_domains: vec![parse("gateway.mycorp.net"), parse("users=users.mycorp.net")],
                ..Overrides::default()
            })
            .unwrap_or_else(|e| panic!("{e}"));
        let c = StackConfig::parse(&text, "rendered").unwrap_or_else(|e| panic!("{e}"));
        for o in &c.origins {
            let expected = if o.id == "users" {
                "users.mycorp.net"
            } else {
                "gateway.mycorp.net"
            };
            assert_eq!(o.domain, expected, "{}", o.id);
        }
        let err = preset
            .render(&Overrides {
                origin_domains: vec![parse("billing=billing.mycorp.net")],
                ..Overrides::default()
            })
            .err()
            .unwrap_or_else(|| panic!("no such origin"));
        let message = err.to_string();
        assert!(message.contains("no origin \"billing\""), "{message}");
        assert!(message.contains("web, users, orders, catalog"), "{message}");
        assert!(matches!(
            preset.render(&Overrides {
                origin_domains: vec![parse("a.mycorp.net"), parse("b.mycorp.net")],
                ..Overrides::default()
            }),
            Err(PresetError::TwoDefaultDomains { .. })
        ));
        assert!("users=".parse::<OriginDomain>().is_err());
        assert!("=x.example.com".parse::<OriginDomain>().is_err());
    }

    #[test]
    fn render_reports_a_bad_value_with_its_field() {
        let preset = get("api").unwrap_or_else(|e| panic!("{e}"));
        let err = preset
            .render(&Overrides {
                name: Some("Bad_Name".into()),
                origin_domains: vec![OriginDomain {
                    origin: None,
                    domain: "not a host".into(),
                }],
                ..Overrides::default()
            })
            .err()
            .unwrap_or_else(|| panic!("invalid"));
        let message = err.to_string();
        assert!(
            message.contains("name: \"Bad_Name\" is not valid"),
            "{message}"
        );
        assert!(
            message.contains("origins[0].domain: \"not a host\" is not valid"),
            "{message}"
        );
    }
}
