//! `embedkit index add` on a folder of images and `embedkit search --image`, through the
//! binary with the real MobileNetV2, and the mix-ups of text and image collections.

mod common;

use common::{fixture, ok, root};
use std::path::Path;
use std::process::Output;

fn embedkit(args: &[&str]) -> Output {
    common::embedkit(&[&["--quiet"], args].concat())
}

fn fails_with(out: &Output, needle: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "should have failed");
    assert!(err.contains(needle), "expected {needle:?} in: {err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
#[ignore = "needs models/mobilenet_v2: run scripts/fetch-models.sh"]
fn images_are_indexed_by_relative_path_and_found_by_image() {
    common::for_each_store(images_by_relative_path);
}

fn images_by_relative_path(db: &str, dir: &Path) {
    // Two labelled folders: the label is the folder's name (CJK included).
    let photos = root().join("testdata/data/images");
    for (label, files) in [
        ("猫", &["chelsea.png", "coffee.png"][..]),
        ("vehicles", &["motorcycle_left.png", "rocket.jpg"][..]),
    ] {
        std::fs::create_dir_all(dir.join("set").join(label)).unwrap();
        for f in files {
            std::fs::copy(photos.join(f), dir.join("set").join(label).join(f)).unwrap();
        }
    }
    let set = dir.join("set");
    let model = root().join("models/mobilenet_v2");
    let added = embedkit(&[
        "index",
        "add",
        "--store",
        db,
        "-c",
        "pics",
        "-m",
        model.to_str().unwrap(),
        "--label-from-folder",
        "--batch-size",
        "3",
        set.to_str().unwrap(),
    ]);
    assert_eq!(
        ok(&added).lines().collect::<Vec<_>>(),
        ["committed 3", "committed 4"]
    );

    let list = ok(&embedkit(&["index", "list", "--store", db, "--json"]));
    let list: serde_json::Value = serde_json::from_str(&list).unwrap();
    assert_eq!(list[0]["collection"]["modality"], "image");
    assert_eq!(list[0]["collection"]["dimensions"], 1280);
    assert_eq!(list[0]["counts"]["documents"], 4);

    let query = photos.join("chelsea.png");
    let hits = ok(&embedkit(&[
        "search",
        "--store",
        db,
        "-c",
        "pics",
        "--image",
        query.to_str().unwrap(),
        "-k",
        "2",
        "--json",
    ]));
    let hits: serde_json::Value = serde_json::from_str(&hits).unwrap();
    assert_eq!(hits.as_array().unwrap().len(), 2);
    assert_eq!(hits[0]["id"], "猫/chelsea.png");
    assert_eq!(hits[0]["metadata"]["label"], "猫");
    assert!(hits[0]["score"].as_f64().unwrap() > 0.9999);
    assert!(hits[1]["score"].as_f64().unwrap() < 0.9);

    let text = ok(&embedkit(&[
        "search",
        "--store",
        db,
        "-c",
        "pics",
        "--image",
        query.to_str().unwrap(),
        "-k",
        "1",
    ]));
    assert!(text.starts_with("1. 1.0000  猫/chelsea.png #0"), "{text}");

    // Re-adding skips every unchanged image.
    let again = embedkit(&[
        "index",
        "add",
        "--store",
        db,
        "-c",
        "pics",
        "--label-from-folder",
        set.to_str().unwrap(),
    ]);
    assert!(
        String::from_utf8_lossy(&again.stderr)
            .contains("0 documents written (0 chunks), 4 unchanged skipped"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );

    // Text against images, images against text.
    fails_with(
        &embedkit(&["search", "--store", db, "-c", "pics", "a cat"]),
        "holds image embeddings",
    );
    let notes = dir.join("notes.txt");
    std::fs::write(&notes, "Cats purr.").unwrap();
    let bge = fixture("tiny-bge");
    ok(&embedkit(&[
        "index",
        "add",
        "--store",
        db,
        "-c",
        "notes",
        "-m",
        bge.to_str().unwrap(),
        notes.to_str().unwrap(),
    ]));
    fails_with(
        &embedkit(&[
            "search",
            "--store",
            db,
            "-c",
            "notes",
            "--image",
            query.to_str().unwrap(),
        ]),
        "holds text embeddings",
    );
    fails_with(
        &embedkit(&[
            "index",
            "add",
            "--store",
            db,
            "-c",
            "notes",
            "--label-from-folder",
            notes.to_str().unwrap(),
        ]),
        "--label-from-folder is for image collections",
    );
    fails_with(
        &embedkit(&[
            "index",
            "add",
            "--store",
            db,
            "-c",
            "pics",
            notes.to_str().unwrap(),
        ]),
        "notes.txt",
    );
}
