use cfrp_deployer::cli::{AFTER_HELP, Command, Globals};
use cfrp_deployer::session::Session;
use cfrp_deployer::{commands, init, monitor, ops, price, validate};
use clap::{CommandFactory, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "deployer",
    version,
    about = "Put a CloudFront distribution in front of a web app or API, with real-time log metrics, alarms and cache invalidation",
    after_help = AFTER_HELP
)]
struct Cli {
    #[command(flatten)]
    globals: Globals,
    #[command(subcommand)]
    command: Subcommands,
}

// Parsed once and matched once: the size difference costs nothing worth a Box.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
enum Subcommands {
    #[command(flatten)]
    Deployer(Command),
    /// The whole job end to end against a local AWS emulator: up, generated traffic through
    /// the real function binaries, an invalidation, status, a monitor snapshot, alarm states,
    /// then down; nothing is left behind (`scripts/demo` builds and runs it).
    Demo(cfrp_demo::DemoArgs),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .or_else(|_| tracing_subscriber::EnvFilter::try_from_env("CFRP_LOG"))
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(cli.globals.log_filter())),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let stdout = &mut std::io::stdout().lock();
    let session = &Session::from_env(cli.globals.output, cli.globals.profile.clone());
    let result = runtime.block_on(async {
        match &cli.command {
            Subcommands::Deployer(command) => {
                deployer(command, &cli.globals, session, stdout).await
            }
            Subcommands::Demo(args) => match cfrp_demo::run(args, session, stdout).await {
                Ok(code) => Ok(code),
                // The failed step is already on stdout; the error names it and the clean-up.
                Err(err) => {
                    eprintln!("error: {err}");
                    Ok(1)
                }
            },
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

/// Runs one of the deployer's own subcommands; its exit code.
async fn deployer(
    command: &Command,
    globals: &Globals,
    session: &Session,
    stdout: &mut dyn std::io::Write,
) -> anyhow::Result<i32> {
    let config = globals.config.as_path();
    Ok(match command {
        Command::Validate => validate::run(config, globals.output, stdout)?,
        Command::Up(args) => commands::up(config, args, session, stdout).await?,
        Command::Plan(args) => commands::plan(config, args, session, stdout).await?,
        Command::Down(args) => commands::down(config, args, session, stdout).await?,
        Command::Status(args) => commands::status(config, args, session, stdout).await?,
        Command::Permissions(args) => commands::permissions(config, args, session, stdout)?,
        Command::Invalidate(args) => ops::invalidate::run(config, args, session, stdout).await?,
        Command::Logging(args) => ops::logging::run(args, session, stdout).await?,
        Command::Update(args) => ops::update::run(args, session, stdout).await?,
        Command::Unlock(args) => ops::unlock::run(config, args, session, stdout).await?,
        Command::Stage(args) => ops::staging::stage(config, args, session, stdout).await?,
        Command::Promote(args) => ops::staging::promote(config, args, session, stdout).await?,
        Command::Rollback(args) => ops::staging::rollback(config, args, session, stdout).await?,
        Command::Block(args) => ops::block::run(config, args, session, stdout).await?,
        Command::Secret(args) => ops::secret::run(config, args, session, stdout).await?,
        Command::Dashboard(args) => ops::dashboard::run(config, args, session, stdout).await?,
        Command::Completions { shell } => {
            ops::completions::run(*shell, &mut Cli::command(), stdout)
        }
        Command::Import(args) => ops::import::run(config, args, session, stdout).await?,
        Command::Init(args) => init::run(config, args, globals.output, stdout)?,
        Command::Monitor(args) => monitor::run(config, args, session, stdout).await?,
        Command::Price(args) => price::run(config, args, session, stdout).await?,
    })
}
