//! Log lines on stderr, through `tracing`.
//!
//! The filter is `RUST_LOG`'s syntax (`warn`, `info`, `embedkit_server::access=info`, ...),
//! read from `EMBEDKIT_LOG` if set, else from `RUST_LOG`, else `warn`: the project's own
//! variable wins, so `RUST_LOG` set for other programs does not have to change. Colours only
//! on a terminal and without `NO_COLOR` (<https://no-color.org>): a log file or a pipe gets
//! plain text. `serve` stamps each line with the time, as a server's log needs.

use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

/// The variables read for the filter, first found wins.
const FILTER_VARS: [&str; 2] = ["EMBEDKIT_LOG", "RUST_LOG"];

/// Installs the subscriber; `timestamps` for long-running commands.
pub fn init(timestamps: bool) {
    let filter = filter();
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter)
        .with_ansi(colour(
            std::io::stderr().is_terminal(),
            std::env::var_os("NO_COLOR"),
        ));
    if timestamps {
        builder.init();
    } else {
        builder.without_time().init();
    }
}

/// The filter from the first variable that is set and not empty; a malformed one is
/// reported and replaced by the default rather than silently dropping every line.
fn filter() -> EnvFilter {
    for var in FILTER_VARS {
        let Ok(text) = std::env::var(var) else {
            continue;
        };
        if text.trim().is_empty() {
            continue;
        }
        match EnvFilter::builder().parse(&text) {
            Ok(filter) => return filter,
            Err(e) => {
                eprintln!("warning: ignoring {var}={text:?} ({e}); logging warnings only");
                break;
            }
        }
    }
    EnvFilter::new("warn")
}

/// Whether to colour: on a terminal, unless `NO_COLOR` is set to something non-empty.
fn colour(terminal: bool, no_color: Option<std::ffi::OsString>) -> bool {
    terminal && no_color.is_none_or(|v| v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::colour;

    #[test]
    fn colour_needs_a_terminal_and_no_no_color() {
        assert!(colour(true, None));
        assert!(colour(true, Some("".into())), "an empty NO_COLOR is unset");
        assert!(!colour(true, Some("1".into())));
        assert!(!colour(false, None));
    }
}
