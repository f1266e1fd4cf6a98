//! `embedkit classify train|eval|predict`: classifiers on embeddings.
//!
//! Class names are listed with a number and tables use the numbers, so that columns stay
//! aligned whatever the script of the labels.

use super::vectors::item_vectors;
use crate::args::classify::{ClassifyAction, ClassifyArgs, EvalArgs, PredictArgs, TrainArgs};
use crate::args::vectors::SourceArgs;
use anyhow::{Context, Result};
use embedkit_apps::classify::{cross_validate, Classifier, Evaluation, SavedClassifier};
use embedkit_apps::data::{items_from_texts, labels_of, read_items, read_labelled, Item};
use std::io::Write;
use std::path::Path;

pub fn run(a: ClassifyArgs, quiet: bool) -> Result<()> {
    match a.action {
        ClassifyAction::Train(a) => train(a, quiet),
        ClassifyAction::Eval(a) => eval(a, quiet),
        ClassifyAction::Predict(a) => predict(a, quiet),
    }
}

/// Labelled examples with their vectors.
struct Labelled {
    items: Vec<Item>,
    vectors: Vec<Vec<f32>>,
    labels: Vec<String>,
    model: String,
}

fn labelled(input: &Path, source: &SourceArgs, quiet: bool) -> Result<Labelled> {
    let mut items = read_labelled(input)?;
    let (vectors, model) = item_vectors(source, &mut items, quiet)?;
    let labels = labels_of(&items).context("every example needs a label")?;
    Ok(Labelled {
        items,
        vectors,
        labels,
        model,
    })
}

fn train(a: TrainArgs, quiet: bool) -> Result<()> {
    let Labelled {
        items,
        vectors,
        labels,
        model,
    } = labelled(&a.input, &a.source, quiet)?;
    let clf = Classifier::train(&a.choice.kind(), &vectors, &labels)?;
    SavedClassifier::new(model.clone(), clf.clone()).save(&a.output)?;
    eprintln!(
        "trained {} on {} examples ({} classes: {}), {}-dimensional {model} vectors; saved {}",
        a.choice.kind(),
        items.len(),
        clf.labels.len(),
        clf.labels.join(", "),
        clf.dimensions,
        a.output.display()
    );
    Ok(())
}

fn eval(a: EvalArgs, quiet: bool) -> Result<()> {
    let Labelled {
        items,
        vectors,
        labels,
        model,
    } = labelled(&a.input, &a.source, quiet)?;
    let cv = cross_validate(&a.choice.kind(), &vectors, &labels, a.folds, a.seed)?;
    let mut out = std::io::stdout().lock();
    if a.json {
        serde_json::to_writer(&mut out, &cv)?;
        writeln!(out)?;
        return Ok(());
    }
    writeln!(
        out,
        "{}-fold cross-validation of {} on {} examples ({model})",
        a.folds,
        a.choice.kind(),
        items.len()
    )?;
    let folds: Vec<String> = cv
        .fold_accuracies
        .iter()
        .map(|f| format!("{f:.3}"))
        .collect();
    writeln!(
        out,
        "accuracy  {:.3}   (folds: {})",
        cv.overall.accuracy,
        folds.join(" ")
    )?;
    writeln!(out, "macro-F1  {:.3}", cv.overall.macro_f1)?;
    print_evaluation(&mut out, &cv.overall)?;
    Ok(())
}

fn print_evaluation(out: &mut impl Write, e: &Evaluation) -> Result<()> {
    writeln!(out, "\nclass  precision  recall     f1  support  label")?;
    for (i, c) in e.classes.iter().enumerate() {
        writeln!(
            out,
            "{:>5}  {:>9.3}  {:>6.3}  {:>5.3}  {:>7}  {}",
            format!("[{i}]"),
            c.precision,
            c.recall,
            c.f1,
            c.support,
            c.label
        )?;
    }
    writeln!(
        out,
        "\nconfusion matrix (rows: true class, columns: predicted)"
    )?;
    write!(out, "{:>6}", "")?;
    for j in 0..e.labels.len() {
        write!(out, " {:>6}", format!("[{j}]"))?;
    }
    writeln!(out)?;
    for (i, row) in e.confusion.iter().enumerate() {
        write!(out, "{:>6}", format!("[{i}]"))?;
        for v in row {
            write!(out, " {v:>6}")?;
        }
        writeln!(out)?;
    }
    Ok(())
}

fn predict(a: PredictArgs, quiet: bool) -> Result<()> {
    let saved = SavedClassifier::load(&a.classifier)?;
    let mut items = match (&a.input, a.texts.is_empty()) {
        (Some(_), false) => anyhow::bail!("give texts as arguments or with --input, not both"),
        (Some(path), true) => read_items(path)?,
        (None, false) => items_from_texts(&a.texts),
        (None, true) => anyhow::bail!("no input (give TEXT arguments or --input FILE)"),
    };
    // Embed with the model the classifier was trained on, unless told otherwise.
    let stored = a.source.vectors.is_some() || items.iter().all(|i| i.embedding.is_some());
    let source = match (&a.source.model, stored) {
        (None, false) if a.source.word_vectors.is_none() => {
            a.source.with_model(saved.embedding_model.clone())
        }
        _ => a.source.clone(),
    };
    let (vectors, _) = item_vectors(&source, &mut items, quiet)
        .with_context(|| format!("the classifier was trained on {}", saved.embedding_model))?;
    let clf = &saved.classifier;
    clf.check_input(&vectors)?;
    let mut out = std::io::stdout().lock();
    for (item, v) in items.iter().zip(&vectors) {
        let scores = clf.scores(v);
        let best = clf.predict(v);
        let by_label: serde_json::Map<String, serde_json::Value> = clf
            .labels
            .iter()
            .zip(&scores)
            .map(|(l, s)| (l.clone(), serde_json::json!((s * 1e4).round() / 1e4)))
            .collect();
        serde_json::to_writer(
            &mut out,
            &serde_json::json!({"id": item.id, "label": clf.labels[best], "scores": by_label}),
        )?;
        writeln!(out)?;
    }
    Ok(())
}
