//! `embedkit distill`: runs every vocabulary token through the model and writes the static
//! model (see `embedkit_models::distill`), with a progress bar over the vocabulary.

use crate::args::distill::DistillArgs;
use anyhow::{Context, Result};
use embedkit_models::distill::{distill, DistillOptions};

pub fn run(a: DistillArgs, quiet: bool) -> Result<()> {
    let model = super::load_local_model(&a.model, None, a.precision)?;
    let extra_words = match &a.vocabulary {
        Some(path) => crate::input::read_texts(&[], Some(path))?,
        None => Vec::new(),
    };
    let options = DistillOptions {
        dims: (!a.no_pca).then_some(a.dims),
        sif_coefficient: Some(a.sif),
        float16: !a.float32,
        batch_size: a.batch_size,
        extra_words,
    };
    let bar = if quiet {
        indicatif::ProgressBar::hidden()
    } else {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:30} {pos}/{len} tokens  {per_sec}  eta {eta}",
            )
            .expect("static template"),
        );
        bar
    };
    let started = std::time::Instant::now();
    let made = distill(&model, &a.output, &options, &mut |done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    })
    .with_context(|| format!("cannot distill {}", a.model))?;
    bar.finish_and_clear();
    println!(
        "wrote {}: {} tokens × {} dimensions ({}) in {:.1} s",
        a.output.display(),
        made.tokens,
        made.dims,
        if a.float32 { "float32" } else { "float16" },
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
