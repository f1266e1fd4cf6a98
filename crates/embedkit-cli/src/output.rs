//! Writing embeddings: JSON lines on stdout, or a .json / .jsonl / .npy file.

use anyhow::{bail, Context, Result};
use std::io::{BufWriter, Write};
use std::path::Path;

/// Writes `{"index": i, "embedding": [...]}` lines.
pub fn write_json_lines<W: Write>(mut w: W, rows: &[Vec<f32>]) -> Result<()> {
    #[derive(serde::Serialize)]
    struct Row<'a> {
        index: usize,
        embedding: &'a [f32],
    }
    for (index, embedding) in rows.iter().enumerate() {
        // Serialized as f32 so each value prints in its shortest round-trip form.
        serde_json::to_writer(&mut w, &Row { index, embedding })?;
        w.write_all(b"\n")?;
    }
    w.flush()?;
    Ok(())
}

/// Writes to `path`, the format chosen by its extension.
pub fn write_file(path: &Path, rows: &[Vec<f32>]) -> Result<()> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    if !matches!(ext, "json" | "jsonl" | "npy") {
        bail!(
            "{}: unknown output format (use .json, .jsonl or .npy)",
            path.display()
        );
    }
    let file =
        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut w = BufWriter::new(file);
    match ext {
        "json" => {
            serde_json::to_writer(&mut w, rows)?;
            w.write_all(b"\n")?;
            w.flush()?;
        }
        "jsonl" => write_json_lines(&mut w, rows)?,
        _ => embedkit_core::npy::write_f32_matrix(&mut w, rows)?,
    }
    Ok(())
}
