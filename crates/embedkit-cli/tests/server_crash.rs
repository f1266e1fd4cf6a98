//! `embedkit serve` under the two ways a server is stopped: SIGKILL while clients write to
//! `/v1/collections` (every document the server acknowledged with 200 is in the store, whole,
//! on SQLite and PostgreSQL), and SIGTERM with a request in flight (the request is answered,
//! then the process exits 0).

mod common;

use common::Server;
use embedkit_store::Store;
use std::collections::HashSet;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn texts(n: usize, tag: &str) -> Vec<String> {
    let background =
        std::fs::read_to_string(common::root().join("testdata/data/lee_background.cor")).unwrap();
    let lines: Vec<&str> = background
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    (0..n)
        .map(|i| format!("{} ({tag} {i})", lines[i % lines.len()]))
        .collect()
}

#[test]
fn sigkill_during_concurrent_writes_loses_no_acknowledged_document() {
    common::for_each_store(|store, _dir| {
        let model = common::fixture("tiny-bge");
        let server = Server::start(&["--model", model.to_str().unwrap(), "--store", store]);
        let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let clients: Vec<_> = (0..4)
            .map(|c| {
                let url = server.url.clone();
                let (acknowledged, stop) = (acknowledged.clone(), stop.clone());
                std::thread::spawn(move || {
                    let agent = ureq::AgentBuilder::new()
                        .timeout(Duration::from_secs(30))
                        .build();
                    for batch in 0.. {
                        if stop.load(Ordering::Relaxed) {
                            return;
                        }
                        let docs: Vec<serde_json::Value> = texts(8, &format!("c{c} b{batch}"))
                            .into_iter()
                            .enumerate()
                            .map(|(i, t)| {
                                serde_json::json!({"id": format!("c{c}-b{batch}-{i}"), "text": t})
                            })
                            .collect();
                        let ids: Vec<String> = docs
                            .iter()
                            .map(|d| d["id"].as_str().unwrap().into())
                            .collect();
                        let body = serde_json::json!({"documents": docs}).to_string();
                        match agent
                            .post(&format!("{url}/v1/collections/crash/documents"))
                            .set("Content-Type", "application/json")
                            .send_string(&body)
                        {
                            Ok(r) if r.status() == 200 => acknowledged.lock().unwrap().extend(ids),
                            // The kill: connections refused or cut; nothing acknowledged.
                            _ => return,
                        }
                    }
                })
            })
            .collect();
        // Let the writers run until a fair number of batches went through, then kill.
        let deadline = Instant::now() + Duration::from_secs(60);
        while acknowledged.lock().unwrap().len() < 200 {
            assert!(Instant::now() < deadline, "the writers made no progress");
            std::thread::sleep(Duration::from_millis(20));
        }
        let mut server = server;
        server.child.kill().unwrap(); // SIGKILL, with requests in flight
        server.child.wait().unwrap();
        stop.store(true, Ordering::Relaxed);
        for c in clients {
            c.join().unwrap();
        }
        let acknowledged = acknowledged.lock().unwrap().clone();

        let store = Store::open(store).unwrap();
        let stored = store.document_chunks("crash").unwrap();
        let present: HashSet<&str> = stored.iter().map(|r| r.0.as_str()).collect();
        for id in &acknowledged {
            assert!(
                present.contains(id.as_str()),
                "acknowledged {id} is missing"
            );
        }
        for (id, want, have) in &stored {
            assert!(
                *want > 0 && want == have,
                "{id} half-written: {have} of {want} chunks"
            );
        }
        eprintln!(
            "{} documents acknowledged before the kill, {} stored",
            acknowledged.len(),
            stored.len()
        );
    });
}

#[test]
fn sigterm_answers_the_request_in_flight_then_exits_0() {
    let model = common::fixture("tiny-bge");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_embedkit"));
    cmd.args(["serve", "--port", "0", "--model", model.to_str().unwrap()])
        .stderr(Stdio::null());
    let mut server = Server::start_command(cmd);
    // A request big enough to be running when the signal comes (2048 texts of ~60 tokens:
    // hundreds of milliseconds here), sent from another thread.
    let inputs = texts(2048, "t");
    let body = serde_json::json!({"model": "tiny-bge", "input": inputs}).to_string();
    let url = server.url.clone();
    let started = Arc::new(AtomicBool::new(false));
    let request = {
        let started = started.clone();
        std::thread::spawn(move || {
            started.store(true, Ordering::SeqCst);
            let r = ureq::post(&format!("{url}/v1/embeddings"))
                .set("Content-Type", "application/json")
                .send_string(&body)
                .expect("the request in flight is answered");
            let v: serde_json::Value = serde_json::from_str(&r.into_string().unwrap()).unwrap();
            v["data"].as_array().unwrap().len()
        })
    };
    while !started.load(Ordering::SeqCst) {
        std::thread::yield_now();
    }
    // Until the server holds the request: /metrics counts it as in flight... or it is done
    // already; either way SIGTERM must not lose it.
    std::thread::sleep(Duration::from_millis(50));
    let pid = server.child.id().to_string();
    let term = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(term.success());
    assert_eq!(request.join().unwrap(), 2048, "every input answered");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the server did not exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0), "exit status after SIGTERM");
    // New connections are refused once it is gone.
    assert!(ureq::get(&format!("{}/health", server.url)).call().is_err());
}

/// SIGTERM with a store open (its connections are closed on the way out: on PostgreSQL the
/// client drives a runtime of its own, which must not meet the server's) exits 0.
#[test]
fn sigterm_with_a_store_exits_0() {
    common::for_each_store(|store, _dir| {
        let model = common::fixture("tiny-bge");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_embedkit"));
        cmd.args([
            "serve",
            "--port",
            "0",
            "--model",
            model.to_str().unwrap(),
            "--store",
            store,
        ])
        .stderr(Stdio::inherit());
        let mut server = Server::start_command(cmd);
        let body = serde_json::json!({"documents": [{"id": "a", "text": "我们的办公室在三楼。"}]});
        let (status, answer) = server.post("/v1/collections/t/documents", None, &body.to_string());
        assert_eq!(status, 200, "{answer}");
        let pid = server.child.id().to_string();
        assert!(Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success());
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(status) = server.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "the server did not exit after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        assert_eq!(status.code(), Some(0));
        let store = Store::open(store).unwrap();
        assert_eq!(store.counts("t").unwrap().documents, 1);
    });
}
