use cfrp_deployer::cli::{Cli, Command};
use clap::Parser;

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Validate => {
            cfrp_deployer::validate::run(&cli.config, cli.output, &mut std::io::stdout().lock())?
        }
    };
    std::process::exit(code);
}
