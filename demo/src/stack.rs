//! The demo's stack: the example config under a unique name, stand-in deployment packages,
//! and `up` / `status` / `down` run in-process through the deployer's workflows.

use std::io::Write;
use std::path::{Path, PathBuf};

use cfrp_config::{Function, StackConfig};

use super::StepError;
use cfrp_deployer::context::Clients;
use cfrp_deployer::package::Source;
use cfrp_deployer::progress::Progress;
use cfrp_deployer::session::Session;
use cfrp_deployer::spec::{self, package};
use cfrp_deployer::workflow::{self, Report, Status};

/// The example every section of the config is shown in (`shared/examples/proxy.toml`),
/// embedded so the demo runs from any directory.
pub const EXAMPLE: &str = include_str!("../../shared/examples/proxy.toml");
pub const EXAMPLE_PATH: &str = "shared/examples/proxy.toml";

/// A scratch directory removed when dropped: the demo's config and packages.
#[derive(Debug)]
pub struct Scratch {
    pub dir: PathBuf,
}

impl Scratch {
    pub fn create(name: &str) -> Result<Scratch, StepError> {
        let dir = std::env::temp_dir().join(format!("cfrp-{name}"));
        std::fs::create_dir_all(&dir)
            .map_err(|e| StepError::Failed(format!("creating {}: {e}", dir.display())))?;
        Ok(Scratch { dir })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A stack name no earlier demo used: `demo-` and 8 random hex digits.
pub fn unique_name() -> Result<String, StepError> {
    let mut bytes = [0u8; 4];
    getrandom::fill(&mut bytes)
        .map_err(|e| StepError::Failed(format!("no randomness from the OS: {e}")))?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("demo-{hex}"))
}

/// The example config renamed to `name` (its namespace and manuscripts bucket follow the
/// name), written to `dir/proxy.toml`.
pub fn write_config(dir: &Path, name: &str) -> Result<(StackConfig, PathBuf), StepError> {
    let mut config = StackConfig::parse(EXAMPLE, EXAMPLE_PATH)?;
    let old_namespace = format!("CloudFrontProxy/{}", config.name);
    config.name = name.to_string();
    if config.metrics.namespace == old_namespace {
        config.metrics.namespace = format!("CloudFrontProxy/{name}");
    }
    if let Some(manuscripts) = &mut config.manuscripts {
        manuscripts.bucket = format!("{name}-manuscripts");
    }
    let text = config
        .to_toml()
        .map_err(|e| StepError::Failed(format!("writing the demo config: {e}")))?;
    let path = dir.join("proxy.toml");
    std::fs::write(&path, &text)
        .map_err(|e| StepError::Failed(format!("writing {}: {e}", path.display())))?;
    // Read back as `up` will read it: the file is what gets deployed.
    let config = StackConfig::load(&path)?;
    Ok((config, path))
}

/// Small stand-in packages in cargo-lambda's layout (`DIR/<package>/bootstrap.zip`). The
/// emulator stores function code but never runs it; the demo runs the real binaries itself.
pub fn write_stand_ins(dir: &Path) -> Result<PathBuf, StepError> {
    let root = dir.join("packages");
    for function in Function::ALL {
        let name = package(function);
        let script = format!(
            "#!/bin/sh\n# Stand-in deployed by `deployer demo`: the demo runs the real {name} binary locally.\necho {name}\n"
        );
        let dir = root.join(&name);
        std::fs::create_dir_all(&dir)
            .map_err(|e| StepError::Failed(format!("creating {}: {e}", dir.display())))?;
        let path = dir.join("bootstrap.zip");
        write_zip(&path, script.as_bytes())
            .map_err(|e| StepError::Failed(format!("writing {}: {e}", path.display())))?;
    }
    Ok(root)
}

fn write_zip(path: &Path, bootstrap: &[u8]) -> Result<(), zip::result::ZipError> {
    let file = std::fs::File::create(path)?;
    let mut zip = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .unix_permissions(0o755);
    zip.start_file("bootstrap", options)?;
    zip.write_all(bootstrap)?;
    zip.finish()?;
    Ok(())
}

/// `up` of the demo's own scratch stack from the packages in `packages`: planned, then
/// applied without asking (the stack is the demo's, made a moment ago).
pub async fn up(
    session: &Session,
    config: &StackConfig,
    packages: &Path,
) -> Result<Report, StepError> {
    let packages = cfrp_deployer::package::load(
        &Source::Artifacts(packages.to_path_buf()),
        &spec::functions(config),
        config.functions.architecture,
        &Progress::silent(),
    )?;
    let planned = workflow::plan_up(session, config, &packages).await?;
    let applied =
        workflow::apply_up(session, config, &packages, &planned.plan, &planned, false).await;
    applied.map_err(|stopped| StepError::Deploy(stopped.error))
}

/// `status`: the value and the text a user sees.
pub async fn status(
    session: &Session,
    config: &StackConfig,
) -> Result<(Status, String), StepError> {
    let status = workflow::status(session, config).await?;
    let mut text = Vec::new();
    status.write_text(&mut text)?;
    Ok((status, String::from_utf8_lossy(&text).into_owned()))
}

/// `down`: everything the stack has, removed without asking.
pub async fn down(session: &Session, config: &StackConfig) -> Result<Report, StepError> {
    let planned = workflow::plan_down(session, config).await?;
    Ok(workflow::apply_down(session, config, &planned).await?)
}

/// The environment Lambda would give the deployed function: the variables `up` set on it,
/// and the function's name, region, endpoint and (dummy) credentials.
pub async fn function_env(
    aws: &Clients,
    config: &StackConfig,
    function: Function,
    endpoint: &str,
) -> Result<Vec<(String, String)>, StepError> {
    let name = config.names().lambda(function);
    let configuration = aws
        .lambda
        .get_function_configuration()
        .function_name(&name)
        .send()
        .await
        .map_err(|e| {
            cfrp_deployer::error::DeployError::aws("lambda:GetFunctionConfiguration", &name, e)
        })?;
    let mut env: Vec<(String, String)> = configuration
        .environment()
        .and_then(|e| e.variables())
        .map(|v| v.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    env.sort();
    env.extend([
        ("AWS_LAMBDA_FUNCTION_NAME".to_string(), name),
        (
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE".to_string(),
            configuration.memory_size().unwrap_or(256).to_string(),
        ),
        ("AWS_REGION".to_string(), config.region.clone()),
        ("AWS_DEFAULT_REGION".to_string(), config.region.clone()),
        ("AWS_ENDPOINT_URL".to_string(), endpoint.to_string()),
        ("AWS_ACCESS_KEY_ID".to_string(), "test".to_string()),
        ("AWS_SECRET_ACCESS_KEY".to_string(), "test".to_string()),
    ]);
    Ok(env)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_config_is_the_example_renamed() {
        let scratch = Scratch::create("demo-unit-test-config").unwrap_or_else(|e| panic!("{e}"));
        let (config, path) =
            write_config(&scratch.dir, "demo-0a1b2c3d").unwrap_or_else(|e| panic!("{e}"));
        let example = StackConfig::parse(EXAMPLE, EXAMPLE_PATH).unwrap_or_else(|e| panic!("{e}"));
        assert!(path.exists());
        assert_eq!(config.name, "demo-0a1b2c3d");
        assert_eq!(config.metrics.namespace, "CloudFrontProxy/demo-0a1b2c3d");
        assert_eq!(
            config.manuscripts.as_ref().map(|m| m.bucket.as_str()),
            Some("demo-0a1b2c3d-manuscripts")
        );
        assert_eq!(config.origins, example.origins);
        assert_eq!(config.logging, example.logging);
        assert_eq!(config.alarms.rules, example.alarms.rules);
        let dir = scratch.dir.clone();
        drop(scratch);
        assert!(!dir.exists(), "the scratch directory is removed");
    }

    #[test]
    fn names_are_unique_and_valid() {
        let a = unique_name().unwrap_or_else(|e| panic!("{e}"));
        let b = unique_name().unwrap_or_else(|e| panic!("{e}"));
        assert_ne!(a, b);
        assert!(cfrp_config::checks::stack_name(&a).is_ok(), "{a}");
    }

    #[test]
    fn stand_ins_for_every_function() {
        let scratch = Scratch::create("demo-unit-test-packages").unwrap_or_else(|e| panic!("{e}"));
        let root = write_stand_ins(&scratch.dir).unwrap_or_else(|e| panic!("{e}"));
        for function in Function::ALL {
            let zip = std::fs::read(cfrp_deployer::package::zip_path(&root, function))
                .unwrap_or_else(|e| panic!("{e}"));
            assert!(zip.starts_with(b"PK"), "{function:?}");
        }
    }
}
