//! `openai:NAME` models: embedkit as a client of an OpenAI-compatible API, tested against
//! embedkit's own server.

mod common;

use common::{fixture, Server};
use std::process::Command;

fn embed(args: &[&str], key: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_embedkit"))
        .arg("embed")
        .args(args)
        .env("EMBEDKIT_TEST_KEY", key)
        .output()
        .unwrap()
}

#[test]
fn remote_model_gives_the_same_vectors_as_the_local_one() {
    let model = fixture("tiny-bge");
    let s = Server::start(&["-m", model.to_str().unwrap(), "--api-key", "k1"]);
    let base = format!("{}/v1", s.url);
    let texts = ["你好，你是一个机器人。", "I like large language models."];
    for dims in [None, Some("8")] {
        let mut remote_args = vec![
            "-m",
            "openai:tiny-bge",
            "--base-url",
            &base,
            "--api-key-env",
            "EMBEDKIT_TEST_KEY",
        ];
        let mut local_args = vec!["-m", model.to_str().unwrap()];
        if let Some(d) = dims {
            remote_args.extend(["--dimensions", d]);
            local_args.extend(["--dimensions", d]);
        }
        remote_args.extend(texts);
        local_args.extend(texts);
        let remote = embed(&remote_args, "k1");
        assert!(
            remote.status.success(),
            "{}",
            String::from_utf8_lossy(&remote.stderr)
        );
        let local = embed(&local_args, "");
        let parse = |out: &[u8]| -> Vec<Vec<f32>> {
            String::from_utf8_lossy(out)
                .lines()
                .map(|l| {
                    serde_json::from_value(
                        serde_json::from_str::<serde_json::Value>(l).unwrap()["embedding"].clone(),
                    )
                    .unwrap()
                })
                .collect()
        };
        let (r, l) = (parse(&remote.stdout), parse(&local.stdout));
        assert_eq!(r.len(), 2);
        for (a, b) in r.iter().zip(&l) {
            assert!(embedkit_core::vector::cosine(a, b) >= 0.99999);
        }
    }
    let wrong = embed(
        &[
            "-m",
            "openai:tiny-bge",
            "--base-url",
            &base,
            "--api-key-env",
            "EMBEDKIT_TEST_KEY",
            "x",
        ],
        "bad",
    );
    assert!(!wrong.status.success());
    let err = String::from_utf8_lossy(&wrong.stderr);
    assert!(
        err.contains("401") && err.contains("incorrect API key"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}
