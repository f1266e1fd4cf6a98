//! `embedkit rerank`: scores each document against the query with a cross-encoder and prints
//! them best first.
//!
//! Like `embedkit search`, each line starts with the rank, score and number, and the document
//! comes last, so columns stay aligned whatever the script (CJK characters are two columns
//! wide).

use crate::args::rerank::RerankArgs;
use crate::input;
use anyhow::{bail, Result};
use std::io::Write;

pub fn run(a: RerankArgs) -> Result<()> {
    if a.query.trim().is_empty() {
        bail!("the query is empty");
    }
    if a.top_n == Some(0) {
        bail!("--top-n must be at least 1 (leave it out for every document)");
    }
    if a.documents.is_empty() && a.input.is_none() {
        bail!("no documents to rank (give DOCUMENTS arguments or --input FILE)");
    }
    let documents = input::read_texts(&a.documents, a.input.as_deref())?;
    let model = super::load_cross_encoder(&a.model, a.precision)?;
    let refs: Vec<&str> = documents.iter().map(String::as_str).collect();
    let mut ranked = model.rerank(&a.query, &refs, a.batch_size)?;
    ranked.truncate(a.top_n.unwrap_or(usize::MAX));

    let mut out = std::io::stdout().lock();
    if a.json {
        #[derive(serde::Serialize)]
        struct Row<'a> {
            index: usize,
            score: f32,
            document: &'a str,
        }
        let rows: Vec<Row> = ranked
            .iter()
            .map(|r| Row {
                index: r.index,
                score: r.score,
                document: &documents[r.index],
            })
            .collect();
        serde_json::to_writer_pretty(&mut out, &rows)?;
        writeln!(out)?;
        return Ok(());
    }
    for (rank, r) in ranked.iter().enumerate() {
        let head = format!("{}. {:.4}  [{}]", rank + 1, r.score, r.index);
        // The document after its number; further lines indented, blank ones left out.
        let mut lines = documents[r.index]
            .lines()
            .map(str::trim_end)
            .filter(|l| !l.trim().is_empty());
        match lines.next() {
            Some(first) => writeln!(out, "{head} {first}")?,
            None => writeln!(out, "{head}")?,
        }
        for line in lines {
            writeln!(out, "   {line}")?;
        }
    }
    Ok(())
}
