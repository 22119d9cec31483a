use cfrp_deployer::cli::{Cli, Command};
use cfrp_deployer::commands;
use cfrp_deployer::ops;
use clap::Parser;

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CFRP_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let stdout = &mut std::io::stdout().lock();
    let profile = cli.profile.as_deref();
    let result = runtime.block_on(async {
        match &cli.command {
            Command::Validate => Ok(cfrp_deployer::validate::run(
                &cli.config,
                cli.output,
                stdout,
            )?),
            Command::Up(args) => commands::up(&cli.config, args, profile, cli.output, stdout).await,
            Command::Plan(args) => {
                commands::plan(&cli.config, args, profile, cli.output, stdout).await
            }
            Command::Down(args) => {
                commands::down(&cli.config, args, profile, cli.output, stdout).await
            }
            Command::Status(args) => {
                commands::status(&cli.config, args, profile, cli.output, stdout).await
            }
            Command::Invalidate(args) => {
                ops::invalidate::run(&cli.config, args, profile, cli.output, stdout).await
            }
            Command::Logging(args) => ops::logging::run(args, profile, cli.output, stdout).await,
            Command::Update(args) => ops::update::run(args, profile, cli.output, stdout).await,
            Command::Dashboard(args) => {
                ops::dashboard::run(&cli.config, args, profile, cli.output, stdout).await
            }
            Command::Completions { shell } => Ok(ops::completions::run(*shell, stdout)),
            Command::Init(args) => cfrp_deployer::init::run(&cli.config, args, cli.output, stdout),
            Command::Demo(args) => match cfrp_deployer::demo::run(args, cli.output, stdout).await {
                Ok(code) => Ok(code),
                // The failed step is already on stdout; the error names it and the clean-up.
                Err(err) => {
                    eprintln!("error: {err}");
                    Ok(1)
                }
            },
            Command::Monitor(args) => {
                cfrp_deployer::monitor::run(&cli.config, args, profile, cli.output, stdout).await
            }
            Command::Price(args) => {
                Ok(
                    cfrp_deployer::price::run(&cli.config, args, profile, cli.output, stdout)
                        .await?,
                )
            }
        }
    });
    match result {
        Ok(code) => std::process::exit(code),
        Err(err) => {
            eprintln!("error: {err}");
            std::process::exit(1);
        }
    }
}
