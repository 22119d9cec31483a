//! `deployer init`: write a commented `proxy.toml` from a preset (see `cfrp_config::presets`).

use std::io::Write;
use std::path::Path;

use cfrp_config::StackConfig;
use cfrp_config::presets::{self, OriginDomain, Overrides, PresetError};
use clap::Args;
use serde_json::json;

use crate::cli::Output;
use crate::commands::CommandError;

#[derive(Debug, Clone, Args)]
pub struct InitArgs {
    /// The preset: api, static, microservices or signing-api (alias rainbow-crypto).
    #[arg(long, value_name = "NAME", required_unless_present = "list")]
    pub preset: Option<String>,
    /// List the presets, one line each, and write nothing.
    #[arg(long, conflicts_with_all = ["preset", "name", "origin_domain", "region", "force", "stdout"])]
    pub list: bool,
    /// The stack name, in place of the preset's example name (a preset's manuscripts bucket
    /// becomes NAME-manuscripts).
    #[arg(long)]
    pub name: Option<String>,
    /// The origin's domain name, in place of the example one: HOST for every origin, or
    /// ORIGIN_ID=HOST for one origin of a multi-origin preset (repeatable).
    #[arg(long, value_name = "[ORIGIN_ID=]HOST")]
    pub origin_domain: Vec<OriginDomain>,
    /// Region of the stack's regional resources, in place of the preset's.
    #[arg(long)]
    pub region: Option<String>,
    /// Overwrite the config file if it exists.
    #[arg(long)]
    pub force: bool,
    /// Print the file instead of writing it (with --output json: {preset, stack, toml}).
    #[arg(long)]
    pub stdout: bool,
}

/// Exit codes: 0 written (or listed, or printed); errors (unknown preset, a bad value, an
/// existing file without --force) exit 1 through `main`.
pub fn run(
    path: &Path,
    args: &InitArgs,
    output: Output,
    out: &mut dyn Write,
) -> Result<i32, CommandError> {
    if args.list {
        list(output, out)?;
        return Ok(0);
    }
    let requested = args.preset.as_deref().ok_or_else(|| CommandError::Flag {
        flag: "--preset",
        message: format!("name a preset: {}", presets::valid_names()),
    })?;
    let preset = presets::get(requested).map_err(|err| CommandError::Flag {
        flag: "--preset",
        message: err.to_string(),
    })?;
    let overrides = Overrides {
        name: args.name.clone(),
        region: args.region.clone(),
        origin_domains: args.origin_domain.clone(),
    };
    let text = preset.render(&overrides).map_err(|err| match err {
        PresetError::Invalid(config) => CommandError::Config(config),
        PresetError::Unknown(unknown) => CommandError::Flag {
            flag: "--preset",
            message: unknown.to_string(),
        },
        other => CommandError::Flag {
            flag: "--origin-domain",
            message: other.to_string(),
        },
    })?;
    let config = StackConfig::parse(&text, &path.display().to_string())?;

    if args.stdout {
        match output {
            Output::Text => write!(out, "{text}")?,
            Output::Json => writeln!(
                out,
                "{:#}",
                json!({"preset": preset.name, "stack": config.name, "toml": text})
            )?,
        }
        return Ok(0);
    }

    write_file(
        path,
        &text,
        args.force,
        "--config FILE to write another file, or --stdout to print the preset",
    )?;
    match output {
        Output::Json => writeln!(
            out,
            "{:#}",
            json!({
                "path": path.display().to_string(),
                "preset": preset.name,
                "stack": config.name,
                "examples_left": examples_left(&config),
            })
        )?,
        Output::Text => {
            let file = path.display();
            writeln!(
                out,
                "Wrote {file} from preset \"{}\": stack \"{}\", {} origin{}, {} behaviour{}.",
                preset.name,
                config.name,
                config.origins.len(),
                plural(config.origins.len()),
                config.behaviors.len() + 1,
                plural(config.behaviors.len() + 1),
            )?;
            let left = examples_left(&config);
            if !left.is_empty() {
                writeln!(
                    out,
                    "Still example values (lines marked EXAMPLE): {}.",
                    left.join(", ")
                )?;
            }
            let flag = if file.to_string() == "proxy.toml" {
                String::new()
            } else {
                format!(" --config {file}")
            };
            writeln!(
                out,
                "Next: read the comments, then\n  deployer validate{flag}\n  deployer plan{flag}\n  deployer up{flag}"
            )?;
        }
    }
    Ok(0)
}

fn list(output: Output, out: &mut dyn Write) -> std::io::Result<()> {
    match output {
        Output::Json => {
            let items: Vec<_> = presets::PRESETS
                .iter()
                .map(
                    |p| json!({"name": p.name, "aliases": p.aliases, "description": p.description}),
                )
                .collect();
            writeln!(out, "{:#}", serde_json::Value::from(items))
        }
        Output::Text => {
            let width = presets::PRESETS
                .iter()
                .map(|p| p.name.len())
                .max()
                .unwrap_or(0);
            for p in presets::PRESETS {
                let aliases = if p.aliases.is_empty() {
                    String::new()
                } else {
                    format!(" (alias: {})", p.aliases.join(", "))
                };
                writeln!(out, "{:width$}  {}{aliases}", p.name, p.description)?;
            }
            writeln!(
                out,
                "\nWrite one with `deployer init --preset NAME`, or see it with --stdout."
            )
        }
    }
}

/// Writes the file; an existing file is only replaced with `force`. `alternatives` ends the
/// refusal's advice (what else the user can do instead of `--force`).
pub(crate) fn write_file(
    path: &Path,
    text: &str,
    force: bool,
    alternatives: &str,
) -> Result<(), CommandError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if force {
        options.create(true).truncate(true);
    } else {
        // create_new: no window between a check and the write.
        options.create_new(true);
    }
    let mut file = options.open(path).map_err(|err| {
        if err.kind() == std::io::ErrorKind::AlreadyExists {
            CommandError::Flag {
                flag: "--force",
                message: format!(
                    "{} already exists; pass --force to overwrite it, {alternatives}",
                    path.display()
                ),
            }
        } else {
            CommandError::Io(std::io::Error::new(
                err.kind(),
                format!("writing {}: {err}", path.display()),
            ))
        }
    })?;
    file.write_all(text.as_bytes())?;
    Ok(())
}

/// The fields that still hold a preset's example values.
fn examples_left(config: &StackConfig) -> Vec<String> {
    let mut left = Vec::new();
    if config.name.starts_with("example-") {
        left.push("name".to_string());
    }
    for (i, o) in config.origins.iter().enumerate() {
        if o.domain == "example.com" || o.domain.ends_with(".example.com") {
            left.push(format!("origins[{i}].domain ({})", o.id));
        }
    }
    if let Some(m) = &config.manuscripts
        && m.bucket.starts_with("example-")
    {
        left.push("manuscripts.bucket".to_string());
    }
    left
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::distribution::{self, Inputs, managed};

    fn args(preset: &str) -> InitArgs {
        InitArgs {
            preset: Some(preset.to_string()),
            list: false,
            name: None,
            origin_domain: Vec::new(),
            region: None,
            force: false,
            stdout: false,
        }
    }

    fn scratch(test: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("cfrp-init-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir.join("proxy.toml")
    }

    #[test]
    fn writes_the_preset_refuses_to_overwrite_and_overwrites_with_force() {
        let path = scratch("write");
        let mut a = args("rainbow-crypto");
        a.name = Some("sig-one".into());
        a.origin_domain = vec!["crypto-api.mycorp.net".parse().unwrap()];
        let mut out = Vec::new();
        assert_eq!(run(&path, &a, Output::Json, &mut out).unwrap(), 0);
        let report: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(report["preset"], "signing-api");
        assert_eq!(report["path"], path.display().to_string());
        assert_eq!(report["examples_left"], json!([]));
        let written = std::fs::read_to_string(&path).unwrap();
        assert!(written.starts_with("# Preset \"signing-api\""));
        let config = StackConfig::load(&path).unwrap();
        assert_eq!(config.name, "sig-one");

        // Again without --force: refused, the file untouched.
        a.name = Some("sig-two".into());
        let err = run(&path, &a, Output::Text, &mut Vec::new()).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("already exists"), "{message}");
        assert!(message.contains("--force"), "{message}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), written);

        a.force = true;
        let mut out = Vec::new();
        run(&path, &a, Output::Text, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("stack \"sig-two\""), "{text}");
        assert_eq!(StackConfig::load(&path).unwrap().name, "sig-two");
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn stdout_prints_instead_of_writing_and_list_names_every_preset() {
        let path = scratch("stdout");
        let mut a = args("api");
        a.stdout = true;
        let mut out = Vec::new();
        run(&path, &a, Output::Text, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            presets::get("api").unwrap().text
        );
        assert!(!path.exists());

        let mut out = Vec::new();
        let listing = InitArgs {
            preset: None,
            list: true,
            ..args("api")
        };
        run(&path, &listing, Output::Text, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        for p in presets::PRESETS {
            assert!(text.contains(p.name) && text.contains(p.description));
        }
        assert!(text.contains("rainbow-crypto"));
        let mut out = Vec::new();
        run(&path, &listing, Output::Json, &mut out).unwrap();
        let items: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(items.as_array().unwrap().len(), presets::PRESETS.len());
    }

    #[test]
    fn unknown_presets_and_bad_values_are_refused_naming_what_is_wrong() {
        let path = scratch("errors");
        let err = run(&path, &args("lambda"), Output::Text, &mut Vec::new()).unwrap_err();
        let message = err.to_string();
        assert!(message.starts_with("--preset: unknown preset \"lambda\""));
        assert!(message.contains("api, static, microservices, signing-api"));
        let mut a = args("static");
        a.region = Some("mars".into());
        let message = run(&path, &a, Output::Text, &mut Vec::new())
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("region: \"mars\" is not valid"),
            "{message}"
        );
        let mut a = args("microservices");
        a.origin_domain = vec!["billing=billing.mycorp.net".parse().unwrap()];
        let message = run(&path, &a, Output::Text, &mut Vec::new())
            .unwrap_err()
            .to_string();
        assert!(message.starts_with("--origin-domain:"), "{message}");
        assert!(!path.exists());
    }

    /// What each preset deploys: the distribution config the deployer builds from it.
    #[test]
    fn presets_build_the_distribution_they_describe() {
        let inputs = |policies: &'static [(String, String)]| Inputs {
            caller_reference: "ref",
            origin_secret: "secret",
            realtime_log_config_arn: None,
            viewer_request_function_arn: "arn:aws:cloudfront::123456789012:function/f",
            custom_cache_policies: policies,
            web_acl_arn: None,
            response_headers_policy: None,
        };
        let build = |name: &str| {
            let config = presets::get(name).unwrap().config().unwrap();
            let built = distribution::build(&config, &inputs(&[])).unwrap();
            (config, distribution::flatten(&built))
        };

        let (_, api) = build("api");
        assert_eq!(
            api["behaviors[default].cache_policy"],
            managed::CACHING_DISABLED
        );
        assert_eq!(
            api["behaviors[default].allowed_methods"],
            "DELETE,GET,HEAD,OPTIONS,PATCH,POST,PUT"
        );
        assert_eq!(
            api["behaviors[default].origin_request_policy"],
            managed::ALL_VIEWER_EXCEPT_HOST_HEADER
        );
        assert_eq!(api["origins[api].path"], "/prod");

        let (static_config, statics) = build("static");
        assert_eq!(
            statics["behaviors[default].cache_policy"],
            managed::CACHING_OPTIMIZED
        );
        assert_eq!(statics["behaviors[default].origin_request_policy"], "");
        assert_eq!(statics["origins[static].path"], "/assets");
        let policy = distribution::cache_policy("s", &static_config.behaviors[0])
            .unwrap()
            .unwrap();
        assert_eq!(policy.default_ttl(), Some(31_536_000));

        let (_, services) = build("microservices");
        for (pattern, origin) in [
            ("/users/*", "users"),
            ("/orders/*", "orders"),
            ("/catalog/*", "catalog"),
        ] {
            assert_eq!(services[&format!("behaviors[{pattern}].origin")], origin);
        }

        let (signing, f) = build("signing-api");
        assert_eq!(f["behavior_order"], "/keys/* /verify/* /manuscripts/*");
        assert_eq!(
            f["behaviors[/keys/*].cache_policy"],
            managed::CACHING_DISABLED
        );
        assert_eq!(
            f["behaviors[/manuscripts/*].response_headers_policy"],
            managed::SECURITY_HEADERS
        );
        let ttl_and_headers = |pattern: &str| {
            let b = signing
                .behaviors
                .iter()
                .find(|b| b.path_pattern.as_deref() == Some(pattern))
                .unwrap();
            let p = distribution::cache_policy("sig", b).unwrap().unwrap();
            let flat = distribution::flatten_cache_policy(&p);
            (
                flat["default_ttl"].clone(),
                flat["max_ttl"].clone(),
                flat["cache_key_headers"].clone(),
            )
        };
        assert_eq!(
            ttl_and_headers("/verify/*"),
            ("3600".into(), "3600".into(), "X-Signature-Id".into())
        );
        assert_eq!(
            ttl_and_headers("/manuscripts/*"),
            ("86400".into(), "86400".into(), String::new())
        );
    }
}
