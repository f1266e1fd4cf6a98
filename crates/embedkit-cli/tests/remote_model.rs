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

#[test]
fn server_proxies_a_remote_model_with_a_cache() {
    let model = fixture("tiny-bge");
    let upstream = Server::start(&["-m", model.to_str().unwrap(), "--api-key", "up"]);
    // The proxy serves openai:tiny-bge from the upstream server under the name "cached".
    // (The key variable is inherited by the server started below.)
    let base = format!("{}/v1", upstream.url);
    std::env::set_var("EMBEDKIT_UPSTREAM_KEY", "up");
    let front = Server::start(&[
        "-m",
        "openai:tiny-bge",
        "--served-model-name",
        "cached",
        "--upstream-base-url",
        &base,
        "--upstream-api-key-env",
        "EMBEDKIT_UPSTREAM_KEY",
    ]);
    let body = serde_json::json!({"model": "cached", "input": ["hello", "你好"], "dimensions": 8})
        .to_string();
    let (status, first) = front.post("/v1/embeddings", None, &body);
    assert_eq!(status, 200, "{first}");
    let (_, direct) = upstream.post(
        "/v1/embeddings",
        Some("up"),
        &body.replace("cached", "tiny-bge"),
    );
    assert_eq!(first["data"], direct["data"], "same vectors as upstream");
    assert!(first["usage"]["prompt_tokens"].as_u64().unwrap() > 0);

    let (_, upstream_metrics) = upstream.get("/metrics", None);
    let (status, again) = front.post("/v1/embeddings", None, &body);
    assert_eq!(status, 200);
    assert_eq!(again["data"], first["data"]);
    assert_eq!(
        again["usage"]["prompt_tokens"], 0,
        "answered from the cache"
    );
    let (_, after) = upstream.get("/metrics", None);
    let batches = |m: &str| {
        m.lines()
            .find(|l| l.starts_with("embedkit_inference_seconds_count"))
            .map(str::to_string)
    };
    assert_eq!(
        batches(&upstream_metrics),
        batches(&after),
        "upstream ran nothing new"
    );
    let (_, models) = front.get("/v1/models", None);
    assert!(models.contains("\"cached\""), "{models}");
}
