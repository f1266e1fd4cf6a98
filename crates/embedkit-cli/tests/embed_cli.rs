//! End-to-end tests of the `embedkit` binary: real all-MiniLM-L6-v2 parity, output formats,
//! and one clear error line for each kind of bad input.

mod common;

use common::{embedkit, minilm, root};
use embedkit_core::{npy, vector};
use std::path::{Path, PathBuf};
use std::process::Output;

fn fixtures() -> PathBuf {
    root().join("testdata/fixtures")
}

fn read_npy_rows(path: &Path) -> Vec<Vec<f32>> {
    let a = npy::read_f32(std::fs::File::open(path).unwrap()).unwrap();
    a.data.chunks(a.shape[1]).map(<[f32]>::to_vec).collect()
}

fn assert_close(got: &[Vec<f32>], want: &[Vec<f32>]) {
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let cos = vector::cosine(g, w);
        assert!(cos >= 0.99999, "row {i}: cosine {cos}");
        assert!(
            (vector::norm(g) - vector::norm(w)).abs() < 1e-4,
            "row {i}: norm"
        );
    }
}

#[test]
#[ignore = "needs models/all-MiniLM-L6-v2: run scripts/fetch-models.sh"]
fn real_minilm_matches_sentence_transformers() {
    let model = minilm();
    let tmp = tempfile::tempdir().unwrap();
    let sentences = fixtures().join("sentences.json");
    let reference = fixtures().join("reference/all-MiniLM-L6-v2");
    for (dims, file) in [
        (None, "embeddings.npy"),
        (Some("128"), "embeddings_trunc128_norm.npy"),
    ] {
        let out = tmp.path().join("out.npy");
        let mut args = vec![
            "embed",
            "--quiet",
            "--model",
            model.to_str().unwrap(),
            "--input",
            sentences.to_str().unwrap(),
            "--output",
            out.to_str().unwrap(),
        ];
        if let Some(d) = dims {
            args.extend(["--dimensions", d]);
        }
        let o = embedkit(&args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_close(&read_npy_rows(&out), &read_npy_rows(&reference.join(file)));
    }
}

#[test]
fn stdout_json_lines_and_json_file_agree() {
    let model = fixtures().join("tiny-bge");
    let m = model.to_str().unwrap();
    let o = embedkit(&[
        "embed",
        "-m",
        m,
        "你好，你是一个机器人。",
        "I like large language models.",
    ]);
    assert!(o.status.success());
    let lines: Vec<serde_json::Value> = String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["index"], 1);

    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("e.json");
    let o = embedkit(&[
        "embed",
        "-m",
        m,
        "-o",
        out.to_str().unwrap(),
        "你好，你是一个机器人。",
        "I like large language models.",
    ]);
    assert!(o.status.success());
    let file: Vec<Vec<f32>> =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let from_stdout: Vec<Vec<f32>> = lines
        .iter()
        .map(|l| serde_json::from_value(l["embedding"].clone()).unwrap())
        .collect();
    assert_eq!(file, from_stdout);
}

#[test]
fn similarity_prints_a_symmetric_matrix_with_unit_diagonal() {
    let m = fixtures().join("tiny-bge");
    let o = embedkit(&[
        "similarity",
        "--json",
        "-m",
        m.to_str().unwrap(),
        "猫",
        "cat",
        "dog",
    ]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let matrix: Vec<Vec<f32>> = serde_json::from_value(v["matrix"].clone()).unwrap();
    for (i, row) in matrix.iter().enumerate() {
        assert!((row[i] - 1.0).abs() < 1e-5);
        for (j, v) in row.iter().enumerate() {
            assert!((v - matrix[j][i]).abs() < 1e-6);
        }
    }
    assert_eq!(v["similarity"], "cosine");
}

#[test]
fn info_reports_pooling_prompts_and_length() {
    let m = fixtures().join("tiny-bge");
    let o = embedkit(&["info", "--json", "-m", m.to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["pooling"][0], "cls");
    assert_eq!(v["max_seq_length"], 64);
    assert_eq!(v["dimensions"], 32);
    assert_eq!(
        v["prompts"]["query"],
        "Represent this sentence for searching relevant passages: "
    );
}

/// Asserts a failure with exactly one `error:` line and no panic.
fn assert_clean_error(o: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "expected failure, stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line expected: {stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    assert!(stderr.contains(needle), "{needle:?} not in {stderr}");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

#[test]
fn bad_inputs_give_one_clear_error_line() {
    let tmp = tempfile::tempdir().unwrap();
    let good = fixtures().join("tiny-bge");
    let good = good.to_str().unwrap();

    let o = embedkit(&["embed", "-m", "no/such/folder/here", "x"]);
    assert_clean_error(&o, "does not exist");

    let truncated = tmp.path().join("truncated");
    copy_dir(&fixtures().join("tiny-bge"), &truncated);
    let weights = truncated.join("model.safetensors");
    let len = std::fs::metadata(&weights).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&weights)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    let o = embedkit(&["embed", "-m", truncated.to_str().unwrap(), "x"]);
    assert_clean_error(&o, "bad weights");

    let unknown = tmp.path().join("unknown-arch");
    copy_dir(&fixtures().join("tiny-bge"), &unknown);
    let config = unknown.join("config.json");
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("\"model_type\": \"bert\"", "\"model_type\": \"gpt2\"");
    std::fs::write(&config, text).unwrap();
    let o = embedkit(&["embed", "-m", unknown.to_str().unwrap(), "x"]);
    assert_clean_error(&o, "unsupported architecture \"gpt2\"");

    let latin1 = tmp.path().join("latin1.txt");
    std::fs::write(&latin1, b"fine\ncaf\xe9\n").unwrap();
    let o = embedkit(&["embed", "-m", good, "--input", latin1.to_str().unwrap()]);
    assert_clean_error(&o, "line 2 is not valid UTF-8");

    let empty = tmp.path().join("empty.json");
    std::fs::write(&empty, b"[]").unwrap();
    let o = embedkit(&["embed", "-m", good, "--input", empty.to_str().unwrap()]);
    assert_clean_error(&o, "no input texts");

    let o = embedkit(&["embed", "-m", good, "--dimensions", "999", "x"]);
    assert_clean_error(&o, "dimensions must be between 1 and 32");

    let o = embedkit(&["embed", "-m", good, "--prompt-name", "nope", "x"]);
    assert_clean_error(&o, "prompt name \"nope\"");
}

#[test]
#[ignore = "needs models/all-MiniLM-L6-v2: run scripts/fetch-models.sh"]
fn real_minilm_token_ids_match_sentence_transformers() {
    let model = embedkit_models::SentenceEmbedder::from_folder(&minilm()).unwrap();
    let sentences: Vec<String> =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("sentences.json")).unwrap())
            .unwrap();
    let texts: Vec<&str> = sentences.iter().map(String::as_str).collect();
    let got: Vec<Vec<u32>> = model
        .tokenize(&texts, &embedkit_models::Prompt::None)
        .unwrap()
        .into_iter()
        .map(|e| e.ids)
        .collect();
    let reference: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures().join("reference/all-MiniLM-L6-v2/token_ids.json"))
            .unwrap(),
    )
    .unwrap();
    let want: Vec<Vec<u32>> = serde_json::from_value(reference["input_ids"].clone()).unwrap();
    assert_eq!(got, want);
    assert_eq!(model.max_seq_length(), 256);
}
