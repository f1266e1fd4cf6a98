//! The `embedkit` binary: parses arguments and wires the library crates together.
//!
//! Exit codes: 0 success, 1 any error (one `error: ...` line on stderr), 2 bad arguments.

mod args;
mod commands;
mod input;
mod output;

use clap::Parser;
use std::io::ErrorKind;

fn main() {
    let cli = args::Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("EMBEDKIT_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .without_time()
        .init();
    if let Some(n) = cli.threads {
        if let Err(e) = rayon_threads(n) {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    }
    if let Err(err) = commands::run(cli) {
        // A closed pipe (`embedkit embed ... | head`) is not a failure.
        if err
            .chain()
            .filter_map(|e| e.downcast_ref::<std::io::Error>())
            .any(|e| e.kind() == ErrorKind::BrokenPipe)
        {
            std::process::exit(0);
        }
        eprintln!("error: {err:#}");
        std::process::exit(1);
    }
}

fn rayon_threads(n: usize) -> anyhow::Result<()> {
    if n == 0 {
        anyhow::bail!("--threads must be at least 1");
    }
    embedkit_models::set_threads(n)?;
    Ok(())
}
