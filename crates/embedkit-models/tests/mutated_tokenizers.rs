//! Damaged tokenizer files never crash the loader: seeded mutations of `tokenizer.json` (its
//! JSON tree: deleted, repeated and unknown keys, values of the wrong type, edge numbers,
//! huge strings, deep nesting; and its bytes) and of the other tokenizer files of a model
//! folder either load, and then tokenize and embed, or fail with an error, never a panic.
//! The loader reads `tokenizer.json` and `tokenizer_config.json`; `special_tokens_map.json`
//! and `vocab.txt` are mutated too, to show that they are not read. The seeds are the
//! fixtures' WordPiece (BERT) and byte-level BPE (Qwen3) tokenizers with their vocabularies
//! cut to the first ids, so that a round costs little; more rounds:
//! `EMBEDKIT_MUTATION_ROUNDS=10000 cargo test -p embedkit-models --test mutated_tokenizers`
//! or `scripts/fuzz.sh`.

mod common;

#[path = "../../../tests/support/mutation.rs"]
mod mutation;

use embedkit_models::tokenize::TextTokenizer;
use embedkit_models::{CrossEncoder, Precision, SentenceEmbedder};
use mutation::{rounds, Rng};
use serde_json::Value;
use std::path::Path;

const TEXTS: [&str; 4] = [
    "你好，你是一个机器人。",
    "I like large language models.",
    "",
    "unaffable ﬁ e\u{301} 🙂 <|endoftext|> [SEP]",
];

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// `tokenizer.json` with the vocabulary cut to ids below `keep` (added tokens stay), and for
/// BPE only the merges of kept tokens into kept tokens.
fn shrunk_tokenizer(model: &str, keep: u64) -> Value {
    let mut t = read_json(&common::fixtures().join(model).join("tokenizer.json"));
    let m = &mut t["model"];
    let vocab = m["vocab"].as_object_mut().unwrap();
    vocab.retain(|_, id| id.as_u64().unwrap() < keep);
    let kept: std::collections::HashSet<String> = vocab.keys().cloned().collect();
    if let Some(merges) = m.get_mut("merges").and_then(Value::as_array_mut) {
        merges.retain(|pair| {
            let pair: Vec<&str> = pair
                .as_array()
                .unwrap()
                .iter()
                .flat_map(Value::as_str)
                .collect();
            pair.iter().all(|p| kept.contains(*p)) && kept.contains(&pair.concat())
        });
    }
    t
}

/// A copy of the fixture folder `model` whose `tokenizer.json` is `tokenizer`.
fn folder_with(model: &str, tokenizer: &Value, dst: &Path) {
    let src = common::fixtures().join(model);
    for entry in walk(&src) {
        let to = dst.join(entry.strip_prefix(&src).unwrap());
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(&entry, &to).unwrap();
    }
    std::fs::write(dst.join("tokenizer.json"), tokenizer.to_string()).unwrap();
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// A JSON seed mutated as a tree (most rounds) or as bytes.
fn mutated(rng: &mut Rng, seed: &Value) -> Vec<u8> {
    if rng.one_in(4) {
        rng.mutate_bytes(seed.to_string().as_bytes(), &[])
    } else {
        rng.mutate_json(seed)
    }
}

#[test]
fn the_shrunk_tokenizers_still_serve_their_models() {
    let dir = tempfile::tempdir().unwrap();
    for (model, keep) in [("tiny-bge", 1200), ("tiny-qwen3", 3000)] {
        let folder = dir.path().join(model);
        folder_with(model, &shrunk_tokenizer(model, keep), &folder);
        let m = SentenceEmbedder::from_folder(&folder).unwrap();
        let rows = m.embed(&TEXTS, &Default::default()).unwrap();
        assert_eq!(rows.len(), TEXTS.len(), "{model}");
    }
}

#[test]
fn mutated_tokenizer_json_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(0xA076_1D64_78BD_642F);
    for (model, keep) in [("tiny-bge", 1200), ("tiny-qwen3", 3000)] {
        let seed = shrunk_tokenizer(model, keep);
        let (mut loaded, mut refused) = (0, 0);
        let n = rounds(250);
        for _ in 0..n {
            std::fs::write(dir.path().join("tokenizer.json"), mutated(&mut rng, &seed)).unwrap();
            match TextTokenizer::load(dir.path(), 64, rng.one_in(2)) {
                Ok(mut t) => {
                    loaded += 1;
                    let _ = t.encode_batch(&TEXTS, "query: ");
                    let _ = t.encode_batch(&TEXTS[..1], "");
                    let _ = t.require_eos(151_643);
                    let _ = t.encode_batch(&TEXTS, "");
                }
                Err(e) => {
                    refused += 1;
                    let message = e.to_string();
                    assert!(message.contains("tokenizer.json"), "{message}");
                }
            }
        }
        eprintln!("{model}: {n} inputs, {loaded} loaded, {refused} refused");
        assert!(loaded > 0 && refused > 0, "{model}: both outcomes");
    }
}

#[test]
fn mutated_tokenizer_files_of_a_folder_are_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(0xE703_7ED1_A0B4_28DB);
    let cases: [(&str, u64, &[&str]); 3] = [
        (
            "tiny-bge",
            1200,
            &[
                "tokenizer.json",
                "tokenizer_config.json",
                "special_tokens_map.json",
                "vocab.txt",
            ],
        ),
        (
            "tiny-qwen3",
            3000,
            &["tokenizer.json", "tokenizer_config.json"],
        ),
        (
            "tiny-cross-encoder",
            1200,
            &["tokenizer.json", "tokenizer_config.json", "config.json"],
        ),
    ];
    for (model, keep, files) in cases {
        let folder = dir.path().join(model);
        folder_with(model, &shrunk_tokenizer(model, keep), &folder);
        let cross = model.contains("cross");
        for file in files {
            let path = folder.join(file);
            let original = std::fs::read(&path).unwrap();
            let (mut loaded, mut refused) = (0, 0);
            let n = rounds(25);
            for _ in 0..n {
                let bytes = match serde_json::from_slice::<Value>(&original) {
                    Ok(json) => mutated(&mut rng, &json),
                    Err(_) => rng.mutate_bytes(&original, &[]),
                };
                std::fs::write(&path, bytes).unwrap();
                let result = if cross {
                    CrossEncoder::from_folder_with(&folder, Precision::Auto).map(|m| {
                        let _ = m.predict(&[(TEXTS[0], TEXTS[1]), (TEXTS[2], TEXTS[3])], 2);
                    })
                } else {
                    SentenceEmbedder::from_folder(&folder).map(|m| {
                        let _ = m.embed(&TEXTS, &Default::default());
                    })
                };
                match result {
                    Ok(()) => loaded += 1,
                    Err(_) => refused += 1,
                }
            }
            std::fs::write(&path, &original).unwrap();
            eprintln!("{model}/{file}: {n} inputs, {loaded} loaded, {refused} refused");
            if matches!(*file, "special_tokens_map.json" | "vocab.txt") {
                assert_eq!(refused, 0, "{model}/{file} is not read");
            } else {
                assert!(refused > 0, "{model}/{file}");
            }
        }
    }
}

/// The small BERT tokenizer as text, with its decoder replaced by `decoder` (raw JSON text:
/// `serde_json::Value` would refuse to build some of them).
fn with_decoder(decoder: &str) -> String {
    let mut t = shrunk_tokenizer("tiny-bge", 1200);
    t["decoder"] = Value::from("DECODER");
    t.to_string().replace("\"DECODER\"", decoder)
}

/// Found by `mutated_tokenizer_json_is_an_error_not_a_panic`: `tokenizers` 0.22 `expect`s
/// its decoder's untagged deserialization to succeed, so a decoder nested deeper than
/// serde_json's recursion limit, or holding a number out of range, panicked inside
/// `Tokenizer::from_file`. The loader catches that panic and reports the file.
#[test]
fn regression_decoders_that_panic_the_tokenizers_library() {
    let dir = tempfile::tempdir().unwrap();
    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    for decoder in [
        deep.as_str(),
        r###"{"type":"WordPiece","prefix":"##","cleanup":1e309}"###,
    ] {
        std::fs::write(dir.path().join("tokenizer.json"), with_decoder(decoder)).unwrap();
        let message = TextTokenizer::load(dir.path(), 64, false)
            .err()
            .expect("refused")
            .to_string();
        assert!(
            message.contains("tokenizer.json") && message.contains("could not parse this file"),
            "{message}"
        );
    }
}

/// Found by `mutated_tokenizer_files_of_a_folder_are_errors_not_panics`: a post-processor
/// template adding more special tokens than the token limit made `tokenizers` subtract past
/// zero (an overflow panic in checked builds, a wrapped limit in release ones). Such a
/// template is refused: for single texts when the tokenizer loads, for pairs when they are
/// encoded.
#[test]
fn regression_post_processor_adding_more_tokens_than_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let cls = serde_json::json!({"SpecialToken": {"id": "[CLS]", "type_id": 0}});
    let text = |id: &str| serde_json::json!({"Sequence": {"id": id, "type_id": 0}});
    for (template, single) in [("single", true), ("pair", false)] {
        let mut t = shrunk_tokenizer("tiny-bge", 1200);
        let mut items = vec![cls.clone(); 100];
        items.push(text("A"));
        if !single {
            items.push(text("B"));
        }
        t["post_processor"][template] = Value::Array(items);
        std::fs::write(dir.path().join("tokenizer.json"), t.to_string()).unwrap();
        let error = match TextTokenizer::load(dir.path(), 64, false) {
            Err(e) => e,
            Ok(tokenizer) => {
                assert!(!single, "a text's template is checked when it loads");
                tokenizer.encode_pairs(&[("a", "b")]).expect_err("refused")
            }
        };
        let what = if single { "a text" } else { "a pair" };
        assert!(
            error.to_string().contains(&format!(
                "adds 100 special tokens to {what}, more than the limit of 64"
            )),
            "{error}"
        );
    }
}

/// Found by `scripts/fuzz.sh 200` (`mutated_tokenizer_files_of_a_folder_are_errors_not_panics`,
/// tiny-bge's `tokenizer.json`): a tokenizer whose post-processor adds no special tokens gave
/// an empty text no tokens at all, and CLS pooling read a row past the batch (a panic, which
/// the server would have answered with a dead model thread). Such a text is now refused.
#[test]
fn regression_text_without_any_token() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = shrunk_tokenizer("tiny-bge", 1200);
    t["post_processor"] = Value::Null;
    let folder = dir.path().join("tiny-bge");
    folder_with("tiny-bge", &t, &folder);
    let m = SentenceEmbedder::from_folder(&folder).unwrap();
    assert_eq!(m.embed(&["hello"], &Default::default()).unwrap().len(), 1);
    let error = m.embed(&["hello", ""], &Default::default()).unwrap_err();
    assert!(error.to_string().contains("gives no tokens"), "{error}");
    // The same for a cross-encoder and a pair of empty texts.
    let folder = dir.path().join("tiny-cross-encoder");
    folder_with("tiny-cross-encoder", &t, &folder);
    let m = CrossEncoder::from_folder_with(&folder, Precision::Auto).unwrap();
    assert_eq!(m.predict(&[("a", "")], 1).unwrap().len(), 1);
    let error = m.predict(&[("a", "b"), ("", "")], 2).unwrap_err();
    assert!(error.to_string().contains("gives no tokens"), "{error}");
}

/// Found by `scripts/fuzz.sh 400` (`mutated_tokenizer_json_is_an_error_not_a_panic`): a
/// post-processor template naming a special token that the file does not define loaded, and
/// `tokenizers` 0.22 panicked ("no entry found for key") at the first text encoded with it.
/// The loader now encodes a text and a pair once, so such a file is refused when it loads.
#[test]
fn regression_template_naming_an_undefined_special_token() {
    let dir = tempfile::tempdir().unwrap();
    for template in ["single", "pair"] {
        let mut t = shrunk_tokenizer("tiny-bge", 1200);
        t["post_processor"][template][0] =
            serde_json::json!({"SpecialToken": {"id": "[NOPE]", "type_id": 0}});
        std::fs::write(dir.path().join("tokenizer.json"), t.to_string()).unwrap();
        let message = match TextTokenizer::load(dir.path(), 64, false) {
            Ok(_) => panic!("{template}: loaded"),
            Err(e) => e.to_string(),
        };
        assert!(
            message.contains("cannot encode with this file's post-processor"),
            "{template}: {message}"
        );
    }
}
