//! `embedkit completions` and `embedkit man`: shell completions and manual pages, generated
//! from these very argument definitions.

use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish, powershell or elvish.
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write one page per command (embedkit.1, embedkit-serve.1, embedkit-words-train.1, ...)
    /// into this folder instead of printing embedkit.1.
    #[arg(long)]
    pub dir: Option<PathBuf>,
}
