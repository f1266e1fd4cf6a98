//! Items and labelled examples from plain files.
//!
//! * Labelled text (`classify`): fastText lines `__label__X text`, CSV/TSV with `label` and
//!   `text` columns, or JSONL objects with `label` and `text` (or `embedding`).
//! * Items (`recommend`, `cluster`, `plot`): JSONL objects with `id` and `text` and/or
//!   `embedding` (optionally `label`), or plain text, one item per line (id = line number).
//! * Vector files: `.npy` float32 matrices, one row per item.
//!
//! Text must be UTF-8; a bad line is reported with its number.

use crate::error::{invalid, io_error, Error, Result};
use serde_json::Value;
use std::path::Path;

/// One thing that has (or will get) a vector.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Item {
    /// Identifier (given, or the 1-based line number).
    pub id: String,
    /// Text to embed, when the vector comes from a text model.
    pub text: Option<String>,
    /// Class, for classification, purity and plot colours.
    pub label: Option<String>,
    /// A vector given with the item.
    pub embedding: Option<Vec<f32>>,
}

impl Item {
    /// What to show for the item: its text, else its id.
    pub fn display(&self) -> &str {
        self.text.as_deref().unwrap_or(&self.id)
    }
}

/// The label of every item, when every item has one (else `None`).
pub fn labels_of(items: &[Item]) -> Option<Vec<String>> {
    items.iter().map(|i| i.label.clone()).collect()
}

/// Items from words (or short texts), each its own id and text.
pub fn items_from_words<S: AsRef<str>>(words: &[S]) -> Vec<Item> {
    words
        .iter()
        .map(|w| Item {
            id: w.as_ref().to_string(),
            text: Some(w.as_ref().to_string()),
            ..Default::default()
        })
        .collect()
}

/// Items from texts (ids are their positions, from 1).
pub fn items_from_texts<S: AsRef<str>>(texts: &[S]) -> Vec<Item> {
    texts
        .iter()
        .enumerate()
        .map(|(i, t)| Item {
            id: (i + 1).to_string(),
            text: Some(t.as_ref().to_string()),
            ..Default::default()
        })
        .collect()
}

fn read_utf8(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(io_error(path))?;
    String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..valid]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1;
        invalid(format!(
            "{}: line {line} is not valid UTF-8 (convert it first, e.g. iconv -f latin1 -t utf-8)",
            path.display()
        ))
    })
}

fn extension(path: &Path) -> String {
    path.extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase()
}

/// Reads labelled examples, choosing the format by extension: `.jsonl`, `.csv`, `.tsv`,
/// anything else fastText `__label__X text` lines.
pub fn read_labelled(path: &Path) -> Result<Vec<Item>> {
    let name = path.display().to_string();
    let items = match extension(path).as_str() {
        "jsonl" => parse_jsonl(&read_utf8(path)?, &name)?,
        "csv" => parse_csv(&read_utf8(path)?, b',', &name)?,
        "tsv" => parse_csv(&read_utf8(path)?, b'\t', &name)?,
        _ => parse_fasttext(&read_utf8(path)?, &name)?,
    };
    if let Some(item) = items.iter().find(|i| i.label.is_none()) {
        return Err(invalid(format!("{name}: item {} has no label", item.id)));
    }
    if items.is_empty() {
        return Err(invalid(format!("{name}: no examples")));
    }
    Ok(items)
}

/// Reads items to embed or compare: `.jsonl` objects, or one text per line.
pub fn read_items(path: &Path) -> Result<Vec<Item>> {
    let name = path.display().to_string();
    let text = read_utf8(path)?;
    let items = if extension(path) == "jsonl" {
        parse_jsonl(&text, &name)?
    } else {
        items_from_texts(&text.lines().collect::<Vec<_>>())
    };
    if items.is_empty() {
        return Err(invalid(format!("{name}: no items")));
    }
    Ok(items)
}

const FASTTEXT_PREFIX: &str = "__label__";

/// fastText supervised lines: `__label__X text`. One label per line (multi-label lines are
/// refused: the classifiers here are single-label).
pub fn parse_fasttext(text: &str, name: &str) -> Result<Vec<Item>> {
    let mut items = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let Some(rest) = line.strip_prefix(FASTTEXT_PREFIX) else {
            return Err(invalid(format!(
                "{name}: line {} does not start with __label__ (expected fastText lines \
                 \"__label__X text\", or use a .csv file with label,text columns or .jsonl \
                 with \"label\" and \"text\")",
                i + 1
            )));
        };
        let (label, body) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        let body = body.trim();
        if label.is_empty() {
            return Err(invalid(format!(
                "{name}: line {} has an empty label",
                i + 1
            )));
        }
        if body.starts_with(FASTTEXT_PREFIX) {
            return Err(invalid(format!(
                "{name}: line {} has several labels; only single-label data is supported",
                i + 1
            )));
        }
        items.push(Item {
            id: (i + 1).to_string(),
            text: Some(body.to_string()),
            label: Some(label.to_string()),
            embedding: None,
        });
    }
    Ok(items)
}

/// CSV (or TSV) with a header naming a `text` column and optionally `label` and `id`.
pub fn parse_csv(text: &str, delimiter: u8, name: &str) -> Result<Vec<Item>> {
    let csv_err = |source| Error::Csv {
        context: name.to_string(),
        source,
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let headers = reader.headers().map_err(csv_err)?.clone();
    let column = |want: &str| {
        headers
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(want))
    };
    let Some(text_col) = column("text") else {
        return Err(invalid(format!(
            "{name}: the header has no \"text\" column (found: {})",
            headers.iter().collect::<Vec<_>>().join(", ")
        )));
    };
    let (label_col, id_col) = (column("label"), column("id"));
    let mut items = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(csv_err)?;
        let field = |c: Option<usize>| c.and_then(|c| record.get(c)).map(str::to_string);
        items.push(Item {
            id: field(id_col).unwrap_or_else(|| (i + 1).to_string()),
            text: field(Some(text_col)),
            label: field(label_col).filter(|l| !l.is_empty()),
            embedding: None,
        });
    }
    Ok(items)
}

/// JSONL objects with any of `id`, `text`, `label`, `embedding` (a JSON string line is a text).
pub fn parse_jsonl(text: &str, name: &str) -> Result<Vec<Item>> {
    let mut items = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let at = || format!("{name}: line {}", i + 1);
        let value: Value = serde_json::from_str(line).map_err(|source| Error::Json {
            context: at(),
            source,
        })?;
        let mut item = Item {
            id: (i + 1).to_string(),
            ..Default::default()
        };
        match value {
            Value::String(s) => item.text = Some(s),
            Value::Object(o) => {
                for (key, v) in o {
                    match (key.as_str(), v) {
                        ("id", Value::String(s)) => item.id = s,
                        ("id", Value::Number(n)) => item.id = n.to_string(),
                        ("text", Value::String(s)) => item.text = Some(s),
                        ("label", Value::String(s)) => item.label = Some(s),
                        ("label", Value::Number(n)) => item.label = Some(n.to_string()),
                        ("label", Value::Bool(b)) => item.label = Some(b.to_string()),
                        ("embedding", Value::Array(a)) => {
                            item.embedding = Some(json_vector(&a).ok_or_else(|| {
                                invalid(format!("{}: \"embedding\" must be numbers", at()))
                            })?)
                        }
                        ("id" | "text" | "label" | "embedding", other) => {
                            return Err(invalid(format!(
                                "{}: field \"{key}\" has an unusable value {other}",
                                at()
                            )))
                        }
                        _ => {}
                    }
                }
            }
            _ => {
                return Err(invalid(format!(
                    "{}: expected a JSON object or string",
                    at()
                )))
            }
        }
        if item.text.is_none() && item.embedding.is_none() {
            return Err(invalid(format!(
                "{}: needs \"text\" or \"embedding\"",
                at()
            )));
        }
        items.push(item);
    }
    Ok(items)
}

fn json_vector(values: &[Value]) -> Option<Vec<f32>> {
    // JSON cannot write NaN; `null` is how some tools spell it: kept as NaN so that the
    // matrix check names the item and dimension.
    values
        .iter()
        .map(|v| match v {
            Value::Null => Some(f32::NAN),
            v => v.as_f64().map(|x| x as f32),
        })
        .collect()
}

/// Reads a float32 `.npy` matrix as rows.
pub fn read_npy(path: &Path) -> Result<Vec<Vec<f32>>> {
    let file = std::fs::File::open(path).map_err(io_error(path))?;
    let array = embedkit_core::npy::read_f32(std::io::BufReader::new(file)).map_err(|source| {
        Error::Npy {
            path: path.to_path_buf(),
            source,
        }
    })?;
    let [rows, cols] = array.shape[..] else {
        return Err(invalid(format!(
            "{}: expected a 2-D matrix, found shape {:?}",
            path.display(),
            array.shape
        )));
    };
    if cols == 0 {
        return Ok(vec![Vec::new(); rows]);
    }
    Ok(array.data.chunks(cols).map(<[f32]>::to_vec).collect())
}

/// Attaches rows of `vectors` to `items`, one each.
pub fn attach_vectors(items: &mut [Item], vectors: Vec<Vec<f32>>) -> Result<()> {
    if items.len() != vectors.len() {
        return Err(invalid(format!(
            "{} items but {} vectors",
            items.len(),
            vectors.len()
        )));
    }
    for (item, v) in items.iter_mut().zip(vectors) {
        item.embedding = Some(v);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_only_when_every_item_has_one_and_words_are_their_own_ids() {
        let mut items = items_from_words(&["apple", "bus"]);
        assert_eq!(items[1].id, "bus");
        assert_eq!(items[1].display(), "bus");
        assert_eq!(labels_of(&items), None);
        items[0].label = Some("fruit".into());
        assert_eq!(labels_of(&items), None);
        items[1].label = Some("vehicle".into());
        assert_eq!(labels_of(&items).unwrap(), ["fruit", "vehicle"]);
    }

    #[test]
    fn fasttext_lines_give_label_and_text() {
        let items = parse_fasttext("__label__pos great fun\n\n__label__neg dull .\n", "f").unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].label.as_deref(), Some("pos"));
        assert_eq!(items[0].text.as_deref(), Some("great fun"));
        assert_eq!(items[1].id, "3");
    }

    #[test]
    fn unknown_label_formats_are_named_with_the_line() {
        let err = parse_fasttext("__label__pos ok\npos\tnot fasttext\n", "f")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 2") && err.contains("__label__"), "{err}");
        let err = parse_fasttext("__label__a __label__b text\n", "f")
            .unwrap_err()
            .to_string();
        assert!(err.contains("several labels"), "{err}");
        let err = parse_csv("label,body\npos,x\n", b',', "f.csv")
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"text\" column"), "{err}");
    }

    #[test]
    fn csv_and_jsonl_read_labels_texts_and_vectors() {
        let items = parse_csv("text,label\n\"a, quoted\",pos\n你好,neg\n", b',', "f").unwrap();
        assert_eq!(items[0].text.as_deref(), Some("a, quoted"));
        assert_eq!(items[1].label.as_deref(), Some("neg"));
        let items = parse_jsonl(
            "{\"id\": \"x\", \"embedding\": [1, 2.5], \"label\": 3}\n\"plain\"\n",
            "f",
        )
        .unwrap();
        assert_eq!(items[0].embedding, Some(vec![1.0, 2.5]));
        assert_eq!(items[0].label.as_deref(), Some("3"));
        assert_eq!(items[1].text.as_deref(), Some("plain"));
        assert!(parse_jsonl("{\"id\": 1}\n", "f").is_err());
        assert!(parse_jsonl("{\"embedding\": [\"a\"]}\n", "f").is_err());
    }
}
