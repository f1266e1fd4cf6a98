//! `embedkit words ...`: query and evaluate word vectors (word2vec, GloVe, fastText).
//!
//! Human output puts the score before the word, so that columns stay aligned whatever the
//! script of the words (CJK characters are two columns wide).
//!
//! `--tokenizer jieba` segments Chinese: a training corpus is segmented once into a
//! temporary whitespace-separated copy that the trainers stream; a query argument that is
//! not a word of the vectors is segmented into words (see [`Query`]).

use crate::args::words::{
    Algo, Arch, QueryTokenizer, TokenizerName, TrainArgs, VectorsArgs, WordsArgs, WordsCommand,
    GLOVE, MEGABYTE, WORD2VEC,
};
use anyhow::{Context, Result};
use embedkit_words::format::{self, Format};
use embedkit_words::tokenizer::{Segmenter, Tokenizer};
use embedkit_words::train::glove::{self, GloveConfig};
use embedkit_words::train::word2vec::{self, Word2VecConfig};
use embedkit_words::train::Progress;
use embedkit_words::{eval, Scored, WordVectors};
use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};

fn load(v: &VectorsArgs) -> Result<WordVectors> {
    format::load(&v.vectors, v.format)
        .with_context(|| format!("cannot load word vectors {}", v.vectors.display()))
}

/// Vectors and the tokenizer their query arguments are segmented with. An argument that is
/// a word of the vectors is taken as it is; any other is segmented (with whitespace: left
/// as it is), and its words stand for it.
struct Query {
    vectors: WordVectors,
    segmenter: Segmenter,
}

impl Query {
    fn load(v: &VectorsArgs, t: &QueryTokenizer) -> Result<Self> {
        Ok(Self {
            vectors: load(v)?,
            segmenter: Segmenter::new(t.tokenizer.into()),
        })
    }

    /// The words `arg` stands for ([`WordVectors::query_words`]).
    fn words(&self, arg: &str) -> Vec<String> {
        self.vectors.query_words(arg, &self.segmenter)
    }

    /// The one word `arg` stands for; a phrase of several words is an error that names them.
    fn word(&self, arg: &str) -> Result<String> {
        let mut words = self.words(arg);
        anyhow::ensure!(
            words.len() == 1,
            "{arg:?} is {} words for the {} tokenizer ({}); this query takes one word per \
             argument (`words similar` takes a phrase)",
            words.len(),
            self.segmenter.tokenizer(),
            words.join(" / ")
        );
        Ok(words.remove(0))
    }
}

fn print_scored(json: bool, list: &[Scored]) -> Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        let rows: Vec<_> = list
            .iter()
            .map(|s| serde_json::json!({"word": s.word, "score": s.score}))
            .collect();
        serde_json::to_writer(&mut out, &rows)?;
        writeln!(out)?;
    } else {
        for s in list {
            writeln!(out, "{:>8.4}  {}", s.score, s.word)?;
        }
    }
    Ok(())
}

fn open(path: &Path) -> Result<BufReader<std::fs::File>> {
    Ok(BufReader::new(std::fs::File::open(path).with_context(
        || format!("cannot open {}", path.display()),
    )?))
}

pub fn run(a: WordsArgs, threads: Option<usize>, quiet: bool) -> Result<()> {
    match a.command {
        WordsCommand::Train(t) => train(t, threads, quiet),
        WordsCommand::Supervised(s) => crate::commands::fasttext::supervised(s, threads, quiet),
        WordsCommand::Similar { v, t, word, k } => {
            let q = Query::load(&v, &t)?;
            let words = q.words(&word);
            if words != [word.as_str()] {
                eprintln!(
                    "{word}: the mean of {} ({} tokenizer)",
                    words.join(" / "),
                    q.segmenter.tokenizer()
                );
            }
            let refs: Vec<&str> = words.iter().map(String::as_str).collect();
            let list = q.vectors.most_similar(&refs, &[], k, None)?;
            print_scored(v.json, &list)
        }
        WordsCommand::Analogy {
            v,
            t,
            a,
            b,
            c,
            k,
            cosmul,
        } => {
            let q = Query::load(&v, &t)?;
            let (a, b, c) = (q.word(&a)?, q.word(&b)?, q.word(&c)?);
            let vectors = q.vectors;
            let list = if cosmul {
                vectors.most_similar_cosmul(&[&b, &c], &[&a], k, None)?
            } else {
                vectors.most_similar(&[&b, &c], &[&a], k, None)?
            };
            print_scored(v.json, &list)
        }
        WordsCommand::Similarity { v, t, word1, word2 } => {
            let q = Query::load(&v, &t)?;
            let s = q.vectors.similarity(&q.word(&word1)?, &q.word(&word2)?)?;
            if v.json {
                println!("{}", serde_json::json!({"similarity": s}));
            } else {
                println!("{s:.4}");
            }
            Ok(())
        }
        WordsCommand::DoesntMatch { v, t, words } => {
            let q = Query::load(&v, &t)?;
            let words = words
                .iter()
                .map(|w| q.word(w))
                .collect::<Result<Vec<_>>>()?;
            let refs: Vec<&str> = words.iter().map(String::as_str).collect();
            let w = q.vectors.doesnt_match(&refs)?;
            if v.json {
                println!("{}", serde_json::json!({"word": w}));
            } else {
                println!("{w}");
            }
            Ok(())
        }
        WordsCommand::Vector { v, t, word } => {
            let q = Query::load(&v, &t)?;
            let word = q.word(&word)?;
            let vec = q.vectors.vector(&word)?;
            if v.json {
                println!("{}", serde_json::json!({"word": word, "vector": vec}));
            } else {
                let vals: Vec<String> = vec.iter().map(f32::to_string).collect();
                println!("{word} {}", vals.join(" "));
            }
            Ok(())
        }
        WordsCommand::Eval {
            v,
            pairs,
            analogies,
            restrict,
        } => run_eval(&v, &pairs, analogies.as_deref(), restrict),
    }
}

fn run_eval(
    v: &VectorsArgs,
    pairs: &[PathBuf],
    analogies: Option<&Path>,
    restrict: usize,
) -> Result<()> {
    anyhow::ensure!(
        !pairs.is_empty() || analogies.is_some(),
        "give --pairs FILE (WordSim-353, SimLex-999) and/or --analogies FILE"
    );
    let vectors = load(v)?;
    let mut json = serde_json::Map::new();
    let mut out = std::io::stdout().lock();
    for p in pairs {
        let s = eval::word_pairs(&vectors, open(p)?, eval::PAIRS_RESTRICT)
            .with_context(|| format!("evaluating {}", p.display()))?;
        let name = p
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        if v.json {
            json.insert(
                name,
                serde_json::json!({"spearman": s.spearman, "pearson": s.pearson, "pairs": s.pairs,
                    "oov_pairs": s.oov_pairs, "oov_ratio": s.oov_ratio()}),
            );
        } else {
            writeln!(
                out,
                "{name}: Spearman {:.4}  Pearson {:.4}  ({} pairs, {:.1}% out of vocabulary)",
                s.spearman,
                s.pearson,
                s.pairs,
                100.0 * s.oov_ratio()
            )?;
        }
    }
    if let Some(p) = analogies {
        let sections = eval::analogies(&vectors, open(p)?, restrict)
            .with_context(|| format!("evaluating {}", p.display()))?;
        if v.json {
            let rows: Vec<_> = sections
                .iter()
                .map(|s| {
                    serde_json::json!({"section": s.name, "correct": s.correct,
                    "incorrect": s.incorrect, "skipped": s.skipped, "accuracy": s.accuracy()})
                })
                .collect();
            json.insert("analogies".into(), rows.into());
        } else {
            writeln!(out, "analogies (3CosAdd, {restrict} most frequent words):")?;
            for s in &sections {
                writeln!(
                    out,
                    "  {:>7.4}  {:>5}/{:<5} skipped {:>5}  {}",
                    s.accuracy(),
                    s.correct,
                    s.correct + s.incorrect,
                    s.skipped,
                    s.name
                )?;
            }
        }
    }
    if v.json {
        serde_json::to_writer(&mut out, &json)?;
        writeln!(out)?;
    }
    Ok(())
}

fn progress_bar(quiet: bool, unit: &str) -> indicatif::ProgressBar {
    if quiet {
        indicatif::ProgressBar::hidden()
    } else {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                &format!("{{bar:30}} {{human_pos}}/{{human_len}} {unit}  {{per_sec}}  eta {{eta}}  lr {{msg}}"),
            )
            .expect("static template"),
        );
        bar
    }
}

/// The format of `--output`: `--format`, else the one its name implies.
fn output_format(a: &TrainArgs) -> Format {
    a.format.unwrap_or_else(|| Format::for_output(&a.output))
}

/// word2vec's settings: the arguments, and the trainer's defaults where they give none.
pub(crate) fn word2vec_config(a: &TrainArgs, threads: usize) -> Word2VecConfig {
    let d = &*WORD2VEC;
    Word2VecConfig {
        skip_gram: a.model == Arch::Skipgram,
        dim: a.dim.unwrap_or(d.dim),
        window: a.window.unwrap_or(d.window),
        negative: a.negative,
        hs: a.hs,
        sample: a.sample.unwrap_or(d.sample),
        min_count: a.min_count,
        epochs: a.epochs.unwrap_or(d.epochs),
        alpha: a.alpha.or(d.alpha),
        threads,
        seed: a.seed,
    }
}

/// GloVe's settings: the arguments, and the trainer's defaults where they give none.
pub(crate) fn glove_config(a: &TrainArgs, threads: usize) -> GloveConfig {
    let d = &*GLOVE;
    GloveConfig {
        dim: a.dim.unwrap_or(d.dim),
        window: a.window.unwrap_or(d.window),
        min_count: a.min_count,
        memory: (a.memory * MEGABYTE) as usize,
        x_max: a.x_max,
        alpha: a.power,
        eta: a.alpha.unwrap_or(d.eta),
        epochs: a.epochs.unwrap_or(d.epochs),
        threads,
        seed: a.seed,
    }
}

fn train(a: TrainArgs, threads: Option<usize>, quiet: bool) -> Result<()> {
    let threads = threads.unwrap_or(WORD2VEC.threads);
    crate::interrupt::remove_temporaries_on_interrupt();
    // The text the trainers read: the corpus, or its segmented copy (kept until training
    // ends, removed when dropped). Messages name the corpus.
    let segmented = match a.tokenizer {
        TokenizerName::Whitespace => None,
        TokenizerName::Jieba => Some(segment(&a.corpus, a.tokenizer.into(), threads)?),
    };
    let text = segmented.as_ref().map_or(a.corpus.as_path(), |c| c.path());
    if a.algo == Algo::Glove {
        return train_glove(&a, text, threads, quiet);
    }
    if a.algo == Algo::Fasttext {
        return crate::commands::fasttext::train(&a, text, threads, progress_bar(quiet, "words"));
    }
    let cfg = word2vec_config(&a, threads);
    let bar = progress_bar(quiet, "words");
    let start = std::time::Instant::now();
    let report = |p: Progress| {
        bar.set_length(p.total);
        bar.set_position(p.words);
        bar.set_message(format!("{:.6}", p.alpha));
    };
    let model = word2vec::train(text, &cfg, &report)
        .with_context(|| format!("training on {}", a.corpus.display()))?;
    bar.finish_and_clear();
    let secs = start.elapsed().as_secs_f64();
    let words = model.vocab.total() * cfg.epochs as u64;
    format::save(&model.vectors, &a.output, output_format(&a))
        .with_context(|| format!("writing {}", a.output.display()))?;
    eprintln!(
        "word2vec {}: {} words in the vocabulary, {} training words x {} epochs, dim {}, {} threads; \
         {:.1}s ({:.0} words/s); wrote {}",
        if cfg.skip_gram { "skip-gram" } else { "CBOW" },
        model.vocab.len(),
        model.vocab.total(),
        cfg.epochs,
        cfg.dim,
        cfg.threads,
        secs,
        words as f64 / secs,
        a.output.display()
    );
    Ok(())
}

/// Segments `corpus` into a temporary whitespace-separated copy (removed when dropped).
fn segment(corpus: &Path, t: Tokenizer, threads: usize) -> Result<tempfile::NamedTempFile> {
    let start = std::time::Instant::now();
    // Named for this process, so that an interrupted run removes it (see `interrupt`).
    let prefix = format!("embedkit-segmented-{}-", std::process::id());
    let copy = tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(".txt")
        .tempfile()
        .context("creating a temporary file for the segmented corpus")?;
    let words = Segmenter::new(t)
        .segment_file(corpus, copy.path(), threads)
        .with_context(|| format!("segmenting {} with {t}", corpus.display()))?;
    let secs = start.elapsed().as_secs_f64();
    let mb = std::fs::metadata(corpus).map_or(0.0, |m| m.len() as f64 / 1e6);
    eprintln!(
        "{t}: {words} words in {} ({mb:.2} MB) segmented in {secs:.1}s ({:.0} words/s, {threads} threads)",
        corpus.display(),
        words as f64 / secs.max(1e-9)
    );
    Ok(copy)
}

fn train_glove(a: &TrainArgs, text: &Path, threads: usize, quiet: bool) -> Result<()> {
    let cfg = glove_config(a, threads);
    let bar = progress_bar(quiet, "pairs");
    let start = std::time::Instant::now();
    let report = |p: Progress| {
        bar.set_length(p.total);
        bar.set_position(p.words);
        bar.set_message(format!("{:.3}", p.alpha));
    };
    let model = glove::train(text, &cfg, &report)
        .with_context(|| format!("training on {}", a.corpus.display()))?;
    bar.finish_and_clear();
    format::save(&model.vectors, &a.output, output_format(a))
        .with_context(|| format!("writing {}", a.output.display()))?;
    eprintln!(
        "GloVe: {} words in the vocabulary, {} co-occurring pairs ({} chunks spilled to disk), \
         dim {}, {} epochs, {} threads; {:.1}s; wrote {}",
        model.vocab.len(),
        model.pairs,
        model.spilled_chunks,
        cfg.dim,
        cfg.epochs,
        cfg.threads,
        start.elapsed().as_secs_f64(),
        a.output.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::{Cli, Command};
    use clap::{CommandFactory, Parser};
    use embedkit_words::train::fasttext::FastTextConfig;

    /// `embedkit words train` with only the required arguments and `extra`.
    fn train_args(extra: &[&str]) -> TrainArgs {
        let base = [
            "embedkit", "words", "train", "--corpus", "c.txt", "-o", "v.txt",
        ];
        let cli = Cli::try_parse_from(base.iter().chain(extra)).expect("parses");
        match cli.command {
            Command::Words(WordsArgs {
                command: WordsCommand::Train(t),
            }) => t,
            other => panic!("{other:?}"),
        }
    }

    /// The settings a bare `words train` trains with are the trainers' own defaults (their
    /// `Default`), so that the two cannot drift apart.
    #[test]
    fn train_defaults_are_the_trainers_defaults() {
        let threads = 3;
        let a = train_args(&[]);
        let want = Word2VecConfig {
            threads,
            ..Default::default()
        };
        assert_eq!(
            format!("{:?}", word2vec_config(&a, threads)),
            format!("{want:?}")
        );
        let want = GloveConfig {
            threads,
            ..Default::default()
        };
        assert_eq!(
            format!("{:?}", glove_config(&a, threads)),
            format!("{want:?}")
        );
        // One --model for both word2vec and fastText: its default is word2vec's (CBOW);
        // fastText's own default architecture is skip-gram, the rest is the same.
        let want = FastTextConfig {
            threads,
            ..Default::default()
        };
        let a = train_args(&["--model", "skipgram"]);
        assert_eq!(
            format!("{:?}", crate::commands::fasttext::train_config(&a, threads)),
            format!("{want:?}")
        );
        assert_eq!(train_args(&[]).model, Arch::Cbow);
        assert!(!WORD2VEC.skip_gram);
    }

    /// The help of the arguments whose default depends on the algorithm names the trainers'
    /// defaults.
    #[test]
    fn train_help_names_the_trainers_defaults() {
        let cli = Cli::command();
        let train = cli
            .find_subcommand("words")
            .and_then(|w| w.find_subcommand("train"))
            .expect("words train");
        let help = |id: &str| {
            let arg = train.get_arguments().find(|a| a.get_id() == id);
            arg.and_then(|a| a.get_help()).expect(id).to_string()
        };
        let (w, g, f) = (&*WORD2VEC, &*GLOVE, FastTextConfig::default());
        let skip_gram = Word2VecConfig {
            skip_gram: true,
            ..Default::default()
        };
        for (id, want) in [
            (
                "dim",
                format!("default {} word2vec, {} GloVe", w.dim, g.dim),
            ),
            ("window", format!("default {} word2vec,", w.window)),
            ("window", format!("; {} GloVe", g.window)),
            (
                "sample",
                format!("default {:e} word2vec, {:e} fastText", w.sample, f.sample),
            ),
            (
                "epochs",
                format!("default {} word2vec, {} GloVe", w.epochs, g.epochs),
            ),
            (
                "alpha",
                format!(
                    "default {} skip-gram, {} CBOW and GloVe",
                    skip_gram.start_alpha(),
                    w.start_alpha()
                ),
            ),
        ] {
            assert!(
                help(id).contains(&want),
                "--{id}: {:?} lacks {want:?}",
                help(id)
            );
        }
        assert_eq!(w.start_alpha(), g.eta);
        assert_eq!(f.epochs, w.epochs);
        assert_eq!((f.dim, f.window), (w.dim, w.window));
    }
}
