//! Reading input texts: arguments, JSON, JSON lines, stdin or plain lines.

use anyhow::{bail, Context, Result};
use serde_json::Value;
use std::io::Read;
use std::path::Path;

/// Texts from the arguments, or from `--input`.
pub fn read_texts(args: &[String], input: Option<&Path>) -> Result<Vec<String>> {
    let texts = match input {
        None => args.to_vec(),
        Some(_) if !args.is_empty() => bail!("give texts as arguments or with --input, not both"),
        Some(path) if path == Path::new("-") => {
            let mut bytes = Vec::new();
            std::io::stdin()
                .read_to_end(&mut bytes)
                .context("reading stdin")?;
            lines(&bytes, "stdin")?
        }
        Some(path) => {
            let bytes =
                std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
            let name = path.display().to_string();
            match path.extension().and_then(|e| e.to_str()) {
                Some("json") => json_array(&bytes, &name)?,
                Some("jsonl") => json_lines(&bytes, &name)?,
                _ => lines(&bytes, &name)?,
            }
        }
    };
    if texts.is_empty() {
        bail!("no input texts (give TEXT arguments or --input FILE)");
    }
    Ok(texts)
}

fn utf8_line<'a>(line: &'a [u8], number: usize, name: &str) -> Result<&'a str> {
    std::str::from_utf8(line).map_err(|e| {
        anyhow::anyhow!(
            "{name}: line {number} is not valid UTF-8 (byte {} of the line)",
            e.valid_up_to() + 1
        )
    })
}

/// One text per line; a final newline does not start another text.
fn lines(bytes: &[u8], name: &str) -> Result<Vec<String>> {
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    if body.is_empty() {
        return Ok(Vec::new());
    }
    body.split(|b| *b == b'\n')
        .enumerate()
        .map(|(i, l)| {
            let l = l.strip_suffix(b"\r").unwrap_or(l);
            utf8_line(l, i + 1, name).map(str::to_string)
        })
        .collect()
}

fn json_array(bytes: &[u8], name: &str) -> Result<Vec<String>> {
    let text = std::str::from_utf8(bytes).with_context(|| format!("{name} is not valid UTF-8"))?;
    let value: Value =
        serde_json::from_str(text).with_context(|| format!("{name} is not valid JSON"))?;
    let Value::Array(items) = value else {
        bail!("{name}: expected a JSON array of strings");
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, v)| match v {
            Value::String(s) => Ok(s),
            other => bail!("{name}: item {i} is {other}, expected a string"),
        })
        .collect()
}

fn json_lines(bytes: &[u8], name: &str) -> Result<Vec<String>> {
    let mut texts = Vec::new();
    for (i, raw) in bytes.split(|b| *b == b'\n').enumerate() {
        let line = utf8_line(raw, i + 1, name)?.trim();
        if line.is_empty() {
            continue;
        }
        let value: Value = serde_json::from_str(line)
            .with_context(|| format!("{name}: line {} is not valid JSON", i + 1))?;
        match value {
            Value::String(s) => texts.push(s),
            Value::Object(mut o) => match o.remove("text") {
                Some(Value::String(s)) => texts.push(s),
                _ => bail!("{name}: line {} has no string \"text\" field", i + 1),
            },
            _ => bail!(
                "{name}: line {} must be a JSON string or an object with \"text\"",
                i + 1
            ),
        }
    }
    Ok(texts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_lines_keep_empty_lines_but_not_the_final_newline() {
        assert_eq!(lines(b"a\r\n\nb\n", "f").unwrap(), vec!["a", "", "b"]);
        assert!(lines(b"", "f").unwrap().is_empty());
    }

    #[test]
    fn non_utf8_lines_are_reported_with_their_number() {
        let err = lines(b"ok\n\xff\xfe\n", "f").unwrap_err().to_string();
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn jsonl_takes_strings_and_text_objects() {
        let got = json_lines(b"\"a\"\n{\"text\": \"b\", \"id\": 1}\n\n", "f").unwrap();
        assert_eq!(got, vec!["a", "b"]);
        assert!(json_lines(b"{\"id\": 1}\n", "f").is_err());
        assert!(json_array(b"[\"a\", 2]", "f").is_err());
    }
}
