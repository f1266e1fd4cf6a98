//! `embedkit completions SHELL` and `embedkit man`.

use crate::args::shell::{CompletionsArgs, ManArgs};
use crate::args::Cli;
use anyhow::{Context, Result};
use clap::CommandFactory;
use std::io::Write;

pub fn completions(a: CompletionsArgs) -> Result<()> {
    // Into memory first: the generator panics on a failed write (`| head` closing the pipe),
    // where our own write reports it as an error like every other output.
    let mut script = Vec::new();
    clap_complete::generate(a.shell, &mut Cli::command(), "embedkit", &mut script);
    let mut out = std::io::stdout().lock();
    out.write_all(&script)?;
    out.flush()?;
    Ok(())
}

pub fn man(a: ManArgs) -> Result<()> {
    match a.dir {
        Some(dir) => {
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            clap_mangen::generate_to(Cli::command(), &dir)
                .with_context(|| format!("cannot write the pages into {}", dir.display()))?;
        }
        None => {
            let mut out = std::io::stdout().lock();
            clap_mangen::Man::new(Cli::command()).render(&mut out)?;
            out.flush()?;
        }
    }
    Ok(())
}
