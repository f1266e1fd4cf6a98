//! The `embedkit` binary: parses arguments and wires the library crates together.
//!
//! Argument structs live under `args/` (one file per command family), the running of each
//! command under `commands/`; `commands` import from `args`, never the reverse. Logic that
//! is not argument parsing, loading, calling a library or printing belongs in a library
//! crate, and so do the defaults of library settings (clap reads them from there).
//!
//! Exit codes: 0 success, 1 any error (one `error: ...` line on stderr), 2 bad arguments.

mod args;
mod commands;
mod input;
mod interrupt;
mod logging;
mod output;

use clap::Parser;
use std::io::ErrorKind;

fn main() {
    let cli = args::Cli::parse();
    logging::init(matches!(cli.command, args::Command::Serve(_)));
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
        eprintln!("error: {}", error_text(&err));
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

/// An error and its causes on one line, `a: b: c` (anyhow's `{:#}`), leaving out a cause
/// whose message is already part of the one shown before it: many library errors print
/// their cause in their own message and also chain it, which would show it twice.
pub(crate) fn error_text(err: &anyhow::Error) -> String {
    let mut out = String::new();
    let mut shown = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if !shown.is_empty() && shown.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
        shown = text;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::error_text;

    /// An error that prints its cause and also chains it.
    #[derive(Debug)]
    struct Repeats {
        path: String,
        source: std::io::Error,
    }

    impl std::fmt::Display for Repeats {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "{}: {}", self.path, self.source)
        }
    }

    impl std::error::Error for Repeats {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.source)
        }
    }

    #[test]
    fn a_cause_already_in_its_parents_message_is_shown_once() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let err = anyhow::Error::from(Repeats {
            path: "x.json".into(),
            source: io,
        })
        .context("cannot load x");
        assert_eq!(error_text(&err), "cannot load x: x.json: no such file");
        // Causes not in the message are all shown, in order.
        let err = anyhow::anyhow!("inner").context("middle").context("outer");
        assert_eq!(error_text(&err), "outer: middle: inner");
    }
}
