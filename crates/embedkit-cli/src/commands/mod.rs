//! One module per subcommand.

mod bench;
pub mod classify;
pub mod cluster;
mod distill;
mod embed;
pub mod fasttext;
pub mod image;
pub(crate) mod index;
mod info;
pub mod plot;
pub mod recommend;
mod rerank;
pub(crate) mod search;
mod serve;
mod shell;
mod similarity;
mod vectors;
pub mod words;

use crate::args::{Cli, Command, ModelArgs};
use anyhow::{Context, Result};
use embedkit_core::Embedder;
use embedkit_models::{
    CrossEncoder, EmbedOptions, Model, Precision, Prompt, RemoteOptions, SentenceEmbedder,
};

/// Runs the chosen subcommand.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Embed(a) => embed::run(a, cli.quiet),
        Command::Similarity(a) => similarity::run(a, cli.quiet),
        Command::Info(a) => info::run(a),
        Command::Bench(a) => bench::run(a),
        Command::Serve(a) => serve::run(a),
        Command::Image(a) => image::run(a, cli.quiet),
        Command::Index(a) => index::run(a, cli.quiet),
        Command::Search(a) => search::run(a),
        Command::Rerank(a) => rerank::run(a),
        Command::Distill(a) => distill::run(a, cli.quiet),
        Command::Classify(a) => classify::run(a, cli.quiet),
        Command::Recommend(a) => recommend::run(a, cli.quiet),
        Command::Cluster(a) => cluster::run(a, cli.quiet),
        Command::Plot(a) => plot::run(a, cli.quiet),
        Command::Words(a) => words::run(a, cli.threads, cli.quiet),
        Command::Completions(a) => shell::completions(a),
        Command::Man(a) => shell::man(a),
    }
}

/// A local model only (commands that look inside the model).
fn load_local_model(
    spec: &str,
    max_length: Option<usize>,
    precision: Precision,
) -> Result<SentenceEmbedder> {
    let mut model = SentenceEmbedder::load_with(spec, precision)
        .with_context(|| format!("cannot load model {spec}"))?;
    if let Some(n) = max_length {
        model.set_max_seq_length(n)?;
    }
    Ok(model)
}

/// A cross-encoder (reranker) from a folder or hub id. A folder that fails to load and is no
/// sequence classifier is named as such: the missing tensor alone would not say why.
fn load_cross_encoder(spec: &str, precision: Precision) -> Result<CrossEncoder> {
    CrossEncoder::load_with(spec, precision).map_err(|e| {
        let classifier = embedkit_models::hub::resolve(spec).map(|d| CrossEncoder::recognizes(&d));
        let e = anyhow::Error::from(e);
        match classifier {
            Ok(false) => e.context(format!(
                "cannot load cross-encoder {spec}: it is not one (its config.json names no *ForSequenceClassification architecture)"
            )),
            _ => e.context(format!("cannot load cross-encoder {spec}")),
        }
    })
}

/// A local or remote (`openai:NAME`) model.
fn load_model(a: &ModelArgs) -> Result<Model> {
    let remote = RemoteOptions {
        base_url: a.base_url.clone(),
        api_key_env: Some(a.api_key_env.clone()),
    };
    let mut model = Model::load_with(&a.model, &remote, a.precision)
        .with_context(|| format!("cannot load model {}", a.model))?;
    if let (Some(n), Model::Local(m)) = (a.max_length, &mut model) {
        std::sync::Arc::get_mut(m)
            .context("the model is already shared")?
            .set_max_seq_length(n)?;
    }
    Ok(model)
}

/// How to embed with `model`: the prompt the flags ask for, else the model's default, by the
/// rule every route shares ([`embedkit_core::Prompts::choose`]).
fn embed_options(a: &ModelArgs, model: &dyn Embedder) -> EmbedOptions {
    let explicit = match (&a.prompt_name, &a.prompt, &a.instruction) {
        (Some(name), _, _) => Some(Prompt::Named(name.clone())),
        (None, Some(text), _) => Some(Prompt::Text(text.clone())),
        (None, None, Some(task)) => Some(Prompt::instruction(task)),
        (None, None, None) => None,
    };
    EmbedOptions {
        prompt: model.prompts().choose(explicit, None),
        dimensions: a.dimensions,
        normalize: a.normalize,
        batch_size: a.batch_size,
    }
}

/// Embeds with a progress bar on stderr when there is more than one batch.
fn embed_texts(
    model: &Model,
    texts: &[String],
    options: &EmbedOptions,
    quiet: bool,
) -> Result<Vec<Vec<f32>>> {
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let bar = if quiet || texts.len() <= options.batch_size {
        indicatif::ProgressBar::hidden()
    } else {
        let bar = indicatif::ProgressBar::new(texts.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:30} {pos}/{len} texts  {per_sec}  eta {eta}",
            )
            .expect("static template"),
        );
        bar
    };
    let out = model.embed_with_progress(&refs, options, |n| bar.inc(n as u64));
    bar.finish_and_clear();
    Ok(out?)
}
