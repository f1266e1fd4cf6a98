//! The scale-out deployment (deploy/compose.yaml) without containers: three `embedkit serve`
//! replicas share one store; clients spread their writes over all three at once, and every
//! acknowledged document is then found through each replica. Plus the deployment files
//! themselves: the image is built with the README's install command and runs as a non-root
//! user, configured by variables `embedkit serve` knows.

mod common;

use common::Server;
use std::collections::HashSet;

#[test]
fn three_replicas_share_one_store() {
    common::for_each_store(|store, _dir| {
        let model = common::fixture("tiny-bge");
        let replicas: Vec<Server> = (0..3)
            .map(|_| Server::start(&["--model", model.to_str().unwrap(), "--store", store]))
            .collect();
        let urls: Vec<String> = replicas.iter().map(|s| s.url.clone()).collect();
        let writers: Vec<_> = (0..6)
            .map(|c| {
                let urls = urls.clone();
                std::thread::spawn(move || {
                    let mut ids = Vec::new();
                    for b in 0..5 {
                        let url = &urls[(c + b) % urls.len()];
                        let docs: Vec<serde_json::Value> = (0..4)
                            .map(|i| {
                                let id = format!("w{c}-b{b}-{i}");
                                serde_json::json!({"id": id, "text": format!("文档 {id}: replicas share one store.")})
                            })
                            .collect();
                        let body = serde_json::json!({"documents": docs}).to_string();
                        let r = ureq::post(&format!("{url}/v1/collections/shared/documents"))
                            .set("Content-Type", "application/json")
                            .send_string(&body)
                            .expect("a replica answers");
                        assert_eq!(r.status(), 200);
                        ids.extend(docs.iter().map(|d| d["id"].as_str().unwrap().to_string()));
                    }
                    ids
                })
            })
            .collect();
        let written: HashSet<String> = writers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect();
        assert_eq!(written.len(), 6 * 5 * 4);
        for replica in &replicas {
            let (status, list) = replica.get("/v1/collections", None);
            assert_eq!(status, 200, "{list}");
            let list: serde_json::Value = serde_json::from_str(&list).unwrap();
            let shared = list["data"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["name"] == "shared")
                .unwrap_or_else(|| panic!("{list}"));
            assert_eq!(shared["documents"], written.len(), "{shared}");
            let (status, hits) = replica.post(
                "/v1/collections/shared/search",
                None,
                &serde_json::json!({"query": "文档 w3-b4-2", "k": 1, "mode": "keyword"})
                    .to_string(),
            );
            assert_eq!(status, 200, "{hits}");
            assert_eq!(hits["data"][0]["id"], "w3-b4-2", "{hits}");
        }
    });
}

#[test]
fn the_image_is_built_with_the_readme_command_and_runs_unprivileged() {
    let root = common::root();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let dockerfile = std::fs::read_to_string(root.join("Dockerfile")).unwrap();
    let install = "cargo install --locked --path crates/embedkit-cli";
    assert!(readme.contains(install) && dockerfile.contains(install));
    let user = dockerfile
        .lines()
        .filter_map(|l| l.strip_prefix("USER "))
        .next_back()
        .expect("a USER line");
    assert!(user.trim() != "root" && user.trim() != "0", "{user}");
    // Every variable the deployment sets is one `embedkit serve` reads.
    let help = common::ok(&common::embedkit(&["serve", "--help"]));
    let compose = std::fs::read_to_string(root.join("deploy/compose.yaml")).unwrap();
    for text in [&dockerfile, &compose] {
        for var in text
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|w| w.starts_with("EMBEDKIT_"))
        {
            assert!(
                help.contains(&format!("env: {var}")),
                "{var} is not a serve variable"
            );
        }
    }
    assert!(dockerfile.contains("EMBEDKIT_HOST=0.0.0.0"));
}
