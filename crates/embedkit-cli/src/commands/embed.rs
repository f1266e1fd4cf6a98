//! `embedkit embed`.

use crate::args::EmbedArgs;
use crate::{input, output};
use anyhow::Result;

pub fn run(a: EmbedArgs, quiet: bool) -> Result<()> {
    let texts = input::read_texts(&a.texts, a.input.as_deref())?;
    let model = super::load_model(&a.model)?;
    let vectors = super::embed_texts(
        &model,
        &texts,
        &super::embed_options(&a.model, &model),
        quiet,
    )?;
    match &a.output {
        Some(path) => output::write_file(path, &vectors),
        None => output::write_json_lines(std::io::stdout().lock(), &vectors),
    }
}
