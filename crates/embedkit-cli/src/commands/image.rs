//! `embedkit image embed` and `embedkit image classify`: convolutional image models
//! (ResNet, VGG, MobileNetV2) from safetensors or PyTorch checkpoints.

use crate::args::image::{ClassifyArgs, EmbedImagesArgs, ImageArgs, ImageCommand, ImageModelArgs};
use crate::output;
use anyhow::{bail, Context, Result};
use embedkit_vision::preprocess::Preprocess;
use embedkit_vision::ImageModel;
use std::io::{BufWriter, Write};
use std::path::Path;

pub fn run(a: ImageArgs, quiet: bool) -> Result<()> {
    match a.command {
        ImageCommand::Embed(a) => embed(a, quiet),
        ImageCommand::Classify(a) => classify(a, quiet),
    }
}

fn load(a: &ImageModelArgs) -> Result<ImageModel> {
    let mut model = ImageModel::load(&a.model, a.arch.as_deref())
        .with_context(|| format!("cannot load image model {}", a.model.display()))?;
    model.set_preprocess(Preprocess {
        resize: a.resize,
        crop: a.crop,
        ..Preprocess::default()
    })?;
    Ok(model)
}

fn progress(quiet: bool, a: &ImageModelArgs) -> indicatif::ProgressBar {
    if quiet || a.images.len() <= a.batch_size {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(a.images.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:30} {pos}/{len} images  {per_sec}  eta {eta}",
        )
        .expect("static template"),
    );
    bar
}

#[derive(serde::Serialize)]
struct Line<'a> {
    index: usize,
    image: String,
    embedding: &'a [f32],
}

fn embed(a: EmbedImagesArgs, quiet: bool) -> Result<()> {
    let ext = a
        .output
        .as_deref()
        .map(|p| p.extension().and_then(|e| e.to_str()).unwrap_or(""));
    if let (Some(p), Some(e)) = (&a.output, ext) {
        if !matches!(e, "json" | "jsonl" | "npy") {
            bail!(
                "{}: unknown output format (use .json, .jsonl or .npy)",
                p.display()
            );
        }
    }
    let model = load(&a.model)?;
    let dim = model.dimensions();
    let bar = progress(quiet, &a.model);
    // JSON lines stream out batch by batch; matrices are written once complete.
    let mut lines: Option<Box<dyn Write>> = match (&a.output, ext) {
        (None, _) => Some(Box::new(BufWriter::new(std::io::stdout().lock()))),
        (Some(p), Some("jsonl")) => Some(Box::new(BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        ))),
        _ => None,
    };
    let mut rows: Vec<Vec<f32>> = Vec::new();
    let images = &a.model.images;
    model.run_files(images, a.model.batch_size, |first, out| {
        for (i, row) in out.embedding.chunks(dim).enumerate() {
            let mut v = row.to_vec();
            if a.normalize {
                embedkit_core::vector::normalize(&mut v);
            }
            match &mut lines {
                Some(w) => {
                    let line = Line {
                        index: first + i,
                        image: images[first + i].display().to_string(),
                        embedding: &v,
                    };
                    serde_json::to_writer(&mut *w, &line)
                        .map_err(|e| io_error(e.into(), "output"))?;
                    w.write_all(b"\n").map_err(|e| io_error(e, "output"))?;
                }
                None => rows.push(v),
            }
        }
        bar.inc((out.embedding.len() / dim) as u64);
        Ok(())
    })?;
    bar.finish_and_clear();
    if let Some(mut w) = lines {
        w.flush()?;
    }
    if let Some(path) = &a.output {
        if ext != Some("jsonl") {
            output::write_file(path, &rows)?;
        }
    }
    Ok(())
}

fn io_error(e: std::io::Error, what: &str) -> embedkit_vision::Error {
    embedkit_vision::Error::InvalidInput(format!("cannot write {what}: {e}"))
}

#[derive(serde::Serialize)]
struct Top {
    label: String,
    score: f32,
}

#[derive(serde::Serialize)]
struct Classified {
    image: String,
    top: Vec<Top>,
}

fn classify(a: ClassifyArgs, quiet: bool) -> Result<()> {
    if a.k == 0 {
        bail!("-k must be at least 1");
    }
    let model = load(&a.model)?;
    let bar = progress(quiet, &a.model);
    let images = &a.model.images;
    let mut results = Vec::with_capacity(images.len());
    model.run_files(images, a.model.batch_size, |first, out| {
        for (i, top) in model.classify(&out.logits, a.k)?.into_iter().enumerate() {
            results.push(Classified {
                image: display(&images[first + i]),
                top: top
                    .into_iter()
                    .map(|s| Top {
                        label: s.label,
                        score: s.score,
                    })
                    .collect(),
            });
        }
        bar.inc(out.logits.len() as u64 / model.network().classes() as u64);
        Ok(())
    })?;
    bar.finish_and_clear();
    let mut w = BufWriter::new(std::io::stdout().lock());
    if a.json {
        serde_json::to_writer_pretty(&mut w, &results)?;
        writeln!(w)?;
    } else {
        for r in &results {
            writeln!(w, "{}", r.image)?;
            for t in &r.top {
                writeln!(w, "  {:.4}  {}", t.score, t.label)?;
            }
        }
    }
    w.flush()?;
    Ok(())
}

fn display(p: &Path) -> String {
    p.display().to_string()
}
