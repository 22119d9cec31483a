//! The functions' deployment packages: `bootstrap` zipped by cargo-lambda for the target
//! architecture, or prebuilt zips from `--artifacts DIR` (laid out as cargo-lambda writes
//! them: `DIR/<package>/bootstrap.zip`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use cfrp_config::{Architecture, Function};

use crate::error::DeployError;
use crate::spec::package;

/// Where the zips come from.
#[derive(Debug, Clone)]
pub enum Source {
    /// Prebuilt zips.
    Artifacts(PathBuf),
    /// Build with cargo-lambda in this workspace.
    Build { workspace: PathBuf },
}

/// The zip of each function, by function.
pub type Packages = BTreeMap<&'static str, Vec<u8>>;

/// The path of one function's zip under a cargo-lambda style directory.
pub fn zip_path(dir: &Path, function: Function) -> PathBuf {
    dir.join(package(function)).join("bootstrap.zip")
}

pub fn load(
    source: &Source,
    functions: &[Function],
    architecture: Architecture,
    progress: &crate::progress::Progress,
) -> Result<Packages, DeployError> {
    let dir = match source {
        Source::Artifacts(dir) => dir.clone(),
        Source::Build { workspace } => {
            build(workspace, functions, architecture, progress)?;
            // cargo-lambda writes under the target directory, wherever CARGO_TARGET_DIR puts it.
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| workspace.join("target"));
            let target = if target.is_relative() {
                workspace.join(target)
            } else {
                target
            };
            target.join("lambda")
        }
    };
    let mut packages = Packages::new();
    for function in functions {
        let path = zip_path(&dir, *function);
        let bytes = std::fs::read(&path).map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => DeployError::MissingArtifact { path: path.clone() },
            _ => DeployError::Io {
                path: path.clone(),
                source,
            },
        })?;
        packages.insert(function.short(), bytes);
    }
    Ok(packages)
}

/// cargo-lambda from the project's virtualenv (`scripts/setup` installs it from PyPI, with
/// zig for cross-linking), else from PATH.
fn cargo_lambda(workspace: &Path) -> PathBuf {
    // Absolute: cargo-lambda runs zig from build scripts in other directories.
    let workspace = std::path::absolute(workspace).unwrap_or_else(|_| workspace.to_path_buf());
    let local = workspace.join(".venv/bin/cargo-lambda");
    if local.exists() {
        local
    } else {
        PathBuf::from("cargo-lambda")
    }
}

fn build(
    workspace: &Path,
    functions: &[Function],
    architecture: Architecture,
    progress: &crate::progress::Progress,
) -> Result<(), DeployError> {
    let tool = cargo_lambda(workspace);
    let mut command = Command::new(&tool);
    command
        .current_dir(workspace)
        .args(["lambda", "build", "--release", "--output-format", "zip"])
        .arg(match architecture {
            Architecture::Arm64 => "--arm64",
            Architecture::X86_64 => "--x86-64",
        });
    for function in functions {
        command.args(["--package", &package(*function)]);
    }
    // zig (from the virtualenv) does the cross-linking.
    if let Some(bin) = tool.parent().filter(|p| !p.as_os_str().is_empty()) {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut paths = vec![bin.to_path_buf()];
        paths.extend(std::env::split_paths(&path));
        if let Ok(joined) = std::env::join_paths(paths) {
            command.env("PATH", joined);
        }
    }
    let wait = progress.wait(&format!(
        "cargo lambda build --release ({}) of {} functions",
        architecture.as_str(),
        functions.len()
    ));
    let output = command.output().map_err(|e| {
        DeployError::Packaging(format!(
            "could not run {}: {e}; run scripts/setup (it installs cargo-lambda) or pass --artifacts DIR",
            tool.display()
        ))
    })?;
    drop(wait);
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(20).collect();
        return Err(DeployError::Packaging(format!(
            "cargo lambda build failed ({}):\n{}",
            output.status,
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        )));
    }
    Ok(())
}
