//! Reading documents from files: plain text and Markdown (one document per file, or per
//! line), and JSONL with `{"id", "text", "metadata"}` per line. Folders are walked for
//! `.txt`, `.md`, `.markdown` and `.jsonl` files. Files are UTF-8, or else Latin-1.

use crate::error::{Error, Result};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// A document to index.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// Unique within the collection; re-adding an id replaces the document.
    pub id: String,
    /// Its full text.
    pub text: String,
    /// JSON object stored with it and returned with every hit.
    pub metadata: serde_json::Value,
}

#[derive(Deserialize)]
struct JsonlRecord {
    id: Option<serde_json::Value>,
    text: String,
    #[serde(default)]
    metadata: Option<serde_json::Value>,
}

/// Reads the documents of `paths` (files or folders), in order. With `lines`, each line of
/// a text file is a document (id `FILE:LINE`, line numbers from 1).
pub fn read_documents(paths: &[PathBuf], lines: bool) -> Result<Vec<Document>> {
    let mut docs = Vec::new();
    for p in paths {
        for file in expand(p)? {
            read_file(&file, lines, &mut docs)?;
        }
    }
    Ok(docs)
}

fn expand(p: &Path) -> Result<Vec<PathBuf>> {
    if !p.is_dir() {
        return Ok(vec![p.to_path_buf()]);
    }
    let mut out = Vec::new();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(p)
        .map_err(|source| Error::Io {
            path: p.display().to_string(),
            source,
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for e in entries {
        if e.is_dir() {
            out.extend(expand(&e)?);
        } else if matches!(
            e.extension().and_then(|x| x.to_str()),
            Some("txt" | "md" | "markdown" | "jsonl")
        ) {
            out.push(e);
        }
    }
    Ok(out)
}

fn read_file(path: &Path, lines: bool, docs: &mut Vec<Document>) -> Result<()> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: name.clone(),
        source,
    })?;
    // Text that is not UTF-8 is read as Latin-1, the usual encoding of older corpora
    // (the Lee corpus among them); every byte sequence is valid Latin-1.
    let text = String::from_utf8(bytes)
        .unwrap_or_else(|e| e.into_bytes().iter().map(|&b| b as char).collect());
    let source_meta = |line: Option<usize>| {
        let mut m = serde_json::json!({ "source": name });
        if let Some(l) = line {
            m["line"] = l.into();
        }
        m
    };
    if path.extension().and_then(|x| x.to_str()) == Some("jsonl") {
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let at = format!("{name}:{}", i + 1);
            let r: JsonlRecord = serde_json::from_str(line).map_err(|e| {
                Error::InvalidInput(format!(
                    "{at}: expected {{\"id\", \"text\", \"metadata\"}}: {e}"
                ))
            })?;
            let id = match r.id {
                None => at.clone(),
                Some(serde_json::Value::String(s)) => s,
                Some(v @ serde_json::Value::Number(_)) => v.to_string(),
                Some(_) => {
                    return Err(Error::InvalidInput(format!(
                        "{at}: id must be a string or a number"
                    )))
                }
            };
            let metadata = match r.metadata {
                None | Some(serde_json::Value::Null) => serde_json::json!({}),
                Some(m @ serde_json::Value::Object(_)) => m,
                Some(_) => {
                    return Err(Error::InvalidInput(format!(
                        "{at}: metadata must be a JSON object"
                    )))
                }
            };
            docs.push(Document {
                id,
                text: r.text,
                metadata,
            });
        }
    } else if lines {
        for (i, line) in text.lines().enumerate() {
            if !line.trim().is_empty() {
                docs.push(Document {
                    id: format!("{name}:{}", i + 1),
                    text: line.to_string(),
                    metadata: source_meta(Some(i + 1)),
                });
            }
        }
    } else if !text.trim().is_empty() {
        docs.push(Document {
            id: name.clone(),
            text,
            metadata: source_meta(None),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_jsonl_text_and_lines() {
        let dir = tempfile::tempdir().unwrap();
        let j = dir.path().join("a.jsonl");
        std::fs::write(
            &j,
            "{\"id\": \"x\", \"text\": \"hello\", \"metadata\": {\"lang\": \"en\"}}\n\n{\"text\": \"你好\"}\n",
        )
        .unwrap();
        let t = dir.path().join("b.md");
        std::fs::write(&t, "# T\n\nbody\n").unwrap();
        let docs = read_documents(&[dir.path().to_path_buf()], false).unwrap();
        assert_eq!(docs.len(), 3);
        assert_eq!(docs[0].id, "x");
        assert_eq!(docs[0].metadata["lang"], "en");
        assert_eq!(docs[1].id, format!("{}:3", j.display()));
        assert_eq!(docs[1].text, "你好");
        assert_eq!(docs[2].text, "# T\n\nbody\n");
        let lines = read_documents(std::slice::from_ref(&t), true).unwrap();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1].id, format!("{}:3", t.display()));
        assert_eq!(lines[1].metadata["line"], 3);
    }

    #[test]
    fn bad_jsonl_names_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let j = dir.path().join("a.jsonl");
        std::fs::write(&j, "{\"text\": \"ok\"}\n{\"id\": 1}\n").unwrap();
        let e = read_documents(&[j], false).unwrap_err().to_string();
        assert!(e.contains("a.jsonl:2"), "{e}");
    }
}
