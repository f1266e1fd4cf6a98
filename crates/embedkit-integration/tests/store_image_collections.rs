//! Image collections: the ten test photos indexed with the real MobileNetV2 (each photo is its
//! own nearest neighbour, re-adding skips them), and text/image mix-ups as clear errors.

mod common;

use common::{fresh_store, root, store_urls};
use embedkit_store::{
    read_images, Document, Error, Filter, ImageStoreModel, IngestOptions, Modality, SearchOptions,
    Storage,
};
use embedkit_vision::ImageModel;
use std::path::PathBuf;

fn mobilenet() -> ImageStoreModel {
    common::image_model(&root().join("models/mobilenet_v2"))
}

fn photos() -> PathBuf {
    root().join("testdata/data/images")
}

#[test]
#[ignore = "needs models/mobilenet_v2: run scripts/fetch-models.sh"]
fn every_photo_is_its_own_nearest_image_and_unchanged_ones_are_skipped() {
    let model = mobilenet();
    for url in store_urls() {
        let (_dir, store) = fresh_store(&url);
        store
            .create_collection(&model.collection("photos", None, Storage::F32).unwrap())
            .unwrap();
        assert_eq!(
            store.collection("photos").unwrap().modality,
            Modality::Image
        );
        let images = read_images(&[photos()], true).unwrap();
        assert_eq!(images.len(), 10);
        let mut batches = Vec::new();
        let done = store
            .add_images("photos", &images, &model, 4, |p| batches.push(p.processed))
            .unwrap();
        assert_eq!((done.written, done.skipped, done.processed), (10, 0, 10));
        assert_eq!(batches, [4, 8, 10]);

        let queries: Vec<PathBuf> = images.iter().map(|d| d.path.clone()).collect();
        let hits = store
            .search_images("photos", &model, &queries, 3, &Filter::default(), 8)
            .unwrap();
        for (d, h) in images.iter().zip(&hits) {
            assert_eq!(h.len(), 3);
            assert_eq!(h[0].id, d.id, "nearest image to {}", d.id);
            assert!(
                h[0].score > 0.9999,
                "{}: self-similarity {}",
                d.id,
                h[0].score
            );
            assert!(h[1].score < 0.95, "{}: {} too close", d.id, h[1].id);
            assert_eq!(h[0].metadata["label"], "images");
            assert_eq!(h[0].metadata["path"], d.path.display().to_string());
        }

        let again = store
            .add_images("photos", &images, &model, 4, |_| {})
            .unwrap();
        assert_eq!((again.written, again.skipped, again.processed), (0, 10, 10));
        assert_eq!(store.counts("photos").unwrap().documents, 10);
    }
}

#[test]
fn text_and_image_mix_ups_are_clear_errors() {
    let images = common::image_model(&root().join("testdata/fixtures/tiny-resnet"));
    let text = common::text_model(&root().join("testdata/fixtures/tiny-bge"));
    assert!(ImageModel::recognizes(
        &root().join("testdata/fixtures/tiny-resnet")
    ));
    assert!(!ImageModel::recognizes(
        &root().join("testdata/fixtures/tiny-bge")
    ));
    for url in store_urls() {
        let (_dir, store) = fresh_store(&url);
        store
            .create_collection(&images.collection("pics", None, Storage::F32).unwrap())
            .unwrap();
        store
            .create_collection(&text.collection("notes", None, Storage::F32).unwrap())
            .unwrap();

        let e = store
            .search(
                "pics",
                &text,
                "a cat",
                &SearchOptions {
                    k: 3,
                    ..Default::default()
                },
            )
            .unwrap_err();
        assert!(matches!(e, Error::Modality { .. }), "{e:?}");
        let message = e.to_string();
        assert!(message.contains("holds image embeddings"), "{message}");
        assert!(
            message.contains("search it with image queries"),
            "{message}"
        );

        let doc = Document {
            id: "a".into(),
            text: "Cats purr.".into(),
            metadata: serde_json::json!({}),
        };
        let e = store
            .add_documents("pics", &[doc], &text, &IngestOptions::default(), |_| {})
            .unwrap_err();
        assert!(matches!(e, Error::Modality { .. }), "{e:?}");

        let photo = vec![photos().join("chelsea.png")];
        let e = store
            .search_images("notes", &images, &photo, 3, &Filter::default(), 1)
            .unwrap_err();
        assert!(e.to_string().contains("holds text embeddings"), "{e}");
        let e = store
            .add_images(
                "notes",
                &read_images(&photo, false).unwrap(),
                &images,
                1,
                |_| {},
            )
            .unwrap_err();
        assert!(matches!(e, Error::Modality { .. }), "{e:?}");

        // Re-creating a collection with the other modality names the difference.
        let mut as_text = images.collection("pics", None, Storage::F32).unwrap();
        as_text.modality = Modality::Text;
        let e = store.create_collection(&as_text).unwrap_err().to_string();
        assert!(e.contains("modality image, not text"), "{e}");

        // A file that is not an image stops the batch with its name.
        let dir = tempfile::tempdir().unwrap();
        let fake = dir.path().join("fake.png");
        std::fs::write(&fake, b"not a png").unwrap();
        let e = store
            .add_images(
                "pics",
                &read_images(&[fake], false).unwrap(),
                &images,
                1,
                |_| {},
            )
            .unwrap_err()
            .to_string();
        assert!(e.contains("fake.png"), "{e}");
        assert_eq!(store.counts("pics").unwrap().documents, 0);
    }
}
