//! fastText in `embedkit words`: `train --algo fasttext` (subword skip-gram / CBOW, written
//! as fastText's `.bin` and `.vec`) and `supervised train|predict|test|cv` (text
//! classification; models are fastText `.bin` files).

use crate::args::fasttext::{
    HyperArgs, SupervisedArgs, SupervisedCommand, TextTokenizer, SUPERVISED,
};
use crate::args::words::{Arch, TrainArgs, FASTTEXT};
use anyhow::{Context, Result};
use embedkit_apps::classify::stratified_folds_by_label;
use embedkit_words::format::{self, fasttext::FastTextModel, Format};
use embedkit_words::train::fasttext::{self, FastTextConfig};
use embedkit_words::train::supervised::{self, Classifier, Example, SupervisedConfig};
use embedkit_words::train::Progress;
use embedkit_words::WordVectors;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;

/// fastText's settings for `words train --algo fasttext`: the arguments, and the trainer's
/// defaults where they give none.
pub(crate) fn train_config(a: &TrainArgs, threads: usize) -> FastTextConfig {
    let d = &*FASTTEXT;
    FastTextConfig {
        skip_gram: a.model == Arch::Skipgram,
        dim: a.dim.unwrap_or(d.dim),
        window: a.window.unwrap_or(d.window),
        negative: a.negative,
        sample: a.sample.unwrap_or(d.sample),
        min_count: a.min_count,
        epochs: a.epochs.unwrap_or(d.epochs),
        lr: a.alpha.unwrap_or(d.lr),
        minn: a.minn,
        maxn: a.maxn,
        bucket: a.bucket,
        threads,
        seed: a.seed,
    }
}

/// `embedkit words train --algo fasttext`, on `text` (the corpus, or its segmented copy;
/// messages name `a.corpus`).
pub fn train(
    a: &TrainArgs,
    text: &Path,
    threads: usize,
    bar: indicatif::ProgressBar,
) -> Result<()> {
    let cfg = train_config(a, threads);
    let (bin, vec) = format::fasttext::output_paths(&a.output);
    let start = std::time::Instant::now();
    let report = |p: Progress| {
        bar.set_length(p.total);
        bar.set_position(p.words);
        bar.set_message(format!("{:.6}", p.alpha));
    };
    let trained = fasttext::train(text, &cfg, &report)
        .with_context(|| format!("training on {}", a.corpus.display()))?;
    bar.finish_and_clear();
    let secs = start.elapsed().as_secs_f64();
    let words = trained.vocab.total() * cfg.epochs as u64;
    let file =
        std::fs::File::create(&bin).with_context(|| format!("creating {}", bin.display()))?;
    trained
        .model
        .write(std::io::BufWriter::new(file))
        .with_context(|| format!("writing {}", bin.display()))?;
    let vectors = trained.model.into_word_vectors()?;
    format::save(&vectors, &vec, Format::Word2VecText)
        .with_context(|| format!("writing {}", vec.display()))?;
    eprintln!(
        "fastText {}: {} words in the vocabulary, {} training words x {} epochs, dim {}, \
         n-grams {}-{} in {} buckets, {} threads; {:.1}s ({:.0} words/s); wrote {} and {}",
        if cfg.skip_gram { "skip-gram" } else { "CBOW" },
        trained.vocab.len(),
        trained.vocab.total(),
        cfg.epochs,
        cfg.dim,
        cfg.minn,
        cfg.maxn,
        cfg.bucket,
        cfg.threads,
        secs,
        words as f64 / secs,
        bin.display(),
        vec.display()
    );
    Ok(())
}

/// The examples of `path`, their words segmented with `tokenizer` (labels kept as they are).
fn read_examples(path: &Path, tokenizer: &TextTokenizer) -> Result<Vec<Example>> {
    let f = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut examples = supervised::read_examples(BufReader::new(f))
        .with_context(|| format!("reading {}", path.display()))?;
    anyhow::ensure!(!examples.is_empty(), "{} has no examples", path.display());
    if let Some(seg) = tokenizer.segmenter() {
        examples.iter_mut().for_each(|ex| ex.segment(&seg));
    }
    Ok(examples)
}

pub(crate) fn config(h: &HyperArgs, threads: usize) -> SupervisedConfig {
    SupervisedConfig {
        dim: h.dim,
        lr: h.lr,
        epochs: h.epoch,
        min_count: h.min_count,
        word_ngrams: h.word_ngrams,
        bucket: h.bucket,
        threads,
        seed: h.seed,
    }
}

fn pretrained(h: &HyperArgs) -> Result<Option<WordVectors>> {
    h.pretrained
        .as_ref()
        .map(|p| format::load(p, None).with_context(|| format!("cannot load {}", p.display())))
        .transpose()
}

fn load_classifier(path: &Path) -> Result<Classifier> {
    let m = format::load_fasttext(path)
        .with_context(|| format!("cannot load the model {}", path.display()))?;
    Classifier::from_fasttext(m).with_context(|| path.display().to_string())
}

/// `embedkit words supervised ...`.
pub fn supervised(a: SupervisedArgs, threads: Option<usize>, _quiet: bool) -> Result<()> {
    let threads = threads.unwrap_or(SUPERVISED.threads);
    match a.command {
        SupervisedCommand::Train { input, output, h } => {
            let examples = read_examples(&input, &h.tokenizer)?;
            let start = std::time::Instant::now();
            let pre = pretrained(&h)?;
            let model =
                supervised::train_with_pretrained(&examples, &config(&h, threads), pre.as_ref())?;
            let m: FastTextModel = model.to_fasttext();
            let f = std::fs::File::create(&output)
                .with_context(|| format!("creating {}", output.display()))?;
            m.write(std::io::BufWriter::new(f))?;
            let labels: Vec<&str> = model.labels().collect();
            eprintln!(
                "{} examples, {} words, {} labels ({}); {} epochs, dim {}, word n-grams {}; {:.2}s; wrote {}",
                examples.len(),
                model.nwords(),
                labels.len(),
                labels.join(" "),
                h.epoch,
                h.dim,
                h.word_ngrams,
                start.elapsed().as_secs_f64(),
                output.display()
            );
            Ok(())
        }
        SupervisedCommand::Predict {
            model,
            k,
            threshold,
            json,
            tokenizer,
            texts,
        } => {
            let model = load_classifier(&model)?;
            let seg = tokenizer.segmenter();
            let mut out = std::io::stdout().lock();
            let mut one = |text: &str| -> Result<()> {
                let p = match &seg {
                    Some(seg) => model.predict(&seg.words(text).join(" "), k, threshold),
                    None => model.predict(text, k, threshold),
                };
                if json {
                    let rows: Vec<_> = p
                        .iter()
                        .map(
                            |p| serde_json::json!({"label": p.label, "probability": p.probability}),
                        )
                        .collect();
                    serde_json::to_writer(&mut out, &rows)?;
                    writeln!(out)?;
                } else {
                    let cells: Vec<String> = p
                        .iter()
                        .map(|p| format!("{} {:.4}", p.label, p.probability))
                        .collect();
                    writeln!(out, "{}", cells.join(" "))?;
                }
                Ok(())
            };
            if texts.is_empty() {
                for line in std::io::stdin().lock().split(b'\n') {
                    one(&String::from_utf8_lossy(&line?))?;
                }
            } else {
                for t in &texts {
                    one(t)?;
                }
            }
            Ok(())
        }
        SupervisedCommand::Test {
            model,
            input,
            k,
            threshold,
            tokenizer,
        } => {
            let model = load_classifier(&model)?;
            let r = model.test(&read_examples(&input, &tokenizer)?, k, threshold);
            println!("N\t{}", r.examples);
            println!("P@{k}\t{:.3}", r.precision);
            println!("R@{k}\t{:.3}", r.recall);
            Ok(())
        }
        SupervisedCommand::Cv {
            input,
            folds,
            h,
            json,
        } => {
            let examples = read_examples(&input, &h.tokenizer)?;
            let first = supervised::first_labels(&examples)?;
            let fold_of = stratified_folds_by_label(&first, folds, None)?;
            let pre = pretrained(&h)?;
            let acc = supervised::cross_validate(
                &examples,
                &fold_of,
                &config(&h, threads),
                pre.as_ref(),
            )?;
            let mean = acc.iter().sum::<f64>() / acc.len() as f64;
            if json {
                println!("{}", serde_json::json!({"accuracy": mean, "folds": acc}));
            } else {
                let cells: Vec<String> = acc.iter().map(|a| format!("{a:.3}")).collect();
                println!(
                    "{folds}-fold cross-validation of fastText supervised on {} examples",
                    examples.len()
                );
                println!("accuracy  {mean:.3}   (folds: {})", cells.join(" "));
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::words::{WordsArgs, WordsCommand};
    use crate::args::{Cli, Command};
    use clap::Parser;

    /// A bare `words supervised train` trains with fastText's `supervised` defaults
    /// (`SupervisedConfig::default()`), so that the two cannot drift apart.
    #[test]
    fn supervised_defaults_are_the_trainers_defaults() {
        let args = [
            "embedkit",
            "words",
            "supervised",
            "train",
            "-i",
            "x",
            "-o",
            "m",
        ];
        let cli = Cli::try_parse_from(args).expect("parses");
        let Command::Words(WordsArgs {
            command: WordsCommand::Supervised(s),
        }) = cli.command
        else {
            panic!("words supervised");
        };
        let SupervisedCommand::Train { h, .. } = s.command else {
            panic!("train");
        };
        let want = SupervisedConfig::default();
        assert_eq!(
            format!("{:?}", config(&h, want.threads)),
            format!("{want:?}")
        );
    }
}
