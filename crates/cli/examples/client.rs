//! The client commands as a standalone program (`cargo run -p zonecast-cli --example client -- zone list`).

use clap::Parser;
use zonecast_cli::{run, Cli};

fn main() {
    let cli = Cli::parse();
    let code = run(
        cli.command,
        &cli.args.api,
        cli.args.token.as_deref(),
        cli.args.json,
    );
    std::process::exit(code);
}
