//! Acceptance: k-means on all-MiniLM-L6-v2 embeddings of real texts (purity against known
//! categories, silhouette, determinism with a seed), and plots whose SVG parses and carries a
//! legend and the point labels.

mod common;

use embedkit_apps::cluster::{
    central_members, choose_k, kmeans, purity, silhouette, KMeansOptions,
};
use embedkit_apps::data::{items_from_texts, read_items};
use embedkit_apps::plot::{heatmap, pca, scatter, tsne, Point, TsneOptions};
use embedkit_apps::{vectors_for, TextEmbedding};

fn svg_texts(path: &std::path::Path) -> Vec<String> {
    let svg = std::fs::read_to_string(path).unwrap();
    let doc = roxmltree::Document::parse(&svg).expect("the SVG is well-formed XML");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    doc.descendants()
        .filter(|n| n.tag_name().name() == "text")
        .map(|n| n.text().unwrap_or_default().trim().to_string())
        .collect()
}

#[test]
#[ignore = "needs models/all-MiniLM-L6-v2: run scripts/fetch-models.sh"]
fn words_cluster_by_category_and_plot_with_legend_and_labels() {
    let model = common::minilm();
    let items = read_items(&common::data("words_by_category.jsonl")).unwrap();
    let vectors = vectors_for(&TextEmbedding::new(&model, "all-MiniLM-L6-v2"), &items).unwrap();
    let labels: Vec<String> = items.iter().map(|i| i.label.clone().unwrap()).collect();

    let options = KMeansOptions {
        k: 4,
        seed: 7,
        ..Default::default()
    };
    let c = kmeans(&vectors, &options).unwrap();
    assert_eq!(
        c,
        kmeans(&vectors, &options).unwrap(),
        "same seed, same clusters"
    );
    let p = purity(&c.assignments, &labels).unwrap();
    let s = silhouette(&vectors, &c.assignments).unwrap();
    eprintln!("words k=4: purity {p:.3} silhouette {s:.3}");
    assert!(p >= 0.8, "purity {p}");
    assert!(s > 0.0);
    let central = central_members(&vectors, &c, 2);
    assert!(central.iter().all(|m| m.len() == 2));

    let dir = tempfile::tempdir().unwrap();
    let xy = tsne(&vectors, &TsneOptions::default()).unwrap();
    let points: Vec<Point> = items
        .iter()
        .zip(&xy)
        .map(|(item, xy)| Point {
            xy: *xy,
            label: item.id.clone(),
            group: item.label.clone(),
        })
        .collect();
    let svg = dir.path().join("words.svg");
    scatter(&points, "words (t-SNE)", (900, 700), &svg).unwrap();
    let texts = svg_texts(&svg);
    for want in [
        "fruit",
        "vehicle",
        "animal",
        "instrument",
        "apple",
        "trumpet",
        "words (t-SNE)",
    ] {
        assert!(
            texts.iter().any(|t| t == want),
            "no <text> {want:?} in {texts:?}"
        );
    }
    let png = dir.path().join("words.png");
    let drawn = scatter(&points, "words", (900, 700), &png).unwrap();
    assert_eq!(drawn.missing_glyphs, 0);
    assert_eq!(&std::fs::read(&png).unwrap()[..8], b"\x89PNG\r\n\x1a\n");
}

#[test]
#[ignore = "needs models/all-MiniLM-L6-v2: run scripts/fetch-models.sh"]
fn lee_documents_cluster_deterministically_and_k_is_chosen_by_silhouette() {
    let model = common::minilm();
    let items = items_from_texts(&common::lee_documents());
    let vectors = vectors_for(&TextEmbedding::new(&model, "all-MiniLM-L6-v2"), &items).unwrap();
    let options = KMeansOptions {
        seed: 42,
        ..Default::default()
    };
    let a = choose_k(&vectors, 2..=8, &options).unwrap();
    let b = choose_k(&vectors, 2..=8, &options).unwrap();
    assert_eq!(a.clustering, b.clustering);
    eprintln!("Lee silhouette by k: {:?}", a.scores);
    let best = a.scores.iter().map(|s| s.1).fold(f64::MIN, f64::max);
    let k = a.clustering.centroids.len();
    assert_eq!(a.scores.iter().find(|s| s.0 == k).unwrap().1, best);

    // A PCA map and a heat map of a few documents, with CJK text kept in the SVG.
    let dir = tempfile::tempdir().unwrap();
    let xy = pca(&vectors).unwrap();
    assert_eq!(xy.len(), 50);
    let texts = vec![
        "The cat sits on the mat.".to_string(),
        "A kitten rests on a rug.".to_string(),
        "股市今天大幅下跌。".to_string(),
    ];
    let v = vectors_for(&TextEmbedding::new(&model, "m"), &items_from_texts(&texts)).unwrap();
    let m = embedkit_core::Similarity::Cosine.matrix(&v, &v);
    let svg = dir.path().join("heat.svg");
    heatmap(&m, &texts, "cosine similarity", &svg).unwrap();
    let t = svg_texts(&svg);
    assert!(t.iter().any(|s| s == "[2] 股市今天大幅下跌。"), "{t:?}");
    assert!(t.iter().any(|s| s == "1.00"), "{t:?}");
    let png = dir.path().join("heat.png");
    let drawn = heatmap(&m, &texts, "cosine similarity", &png).unwrap();
    assert_eq!(
        drawn.missing_glyphs, 9,
        "the nine CJK characters are drawn as boxes"
    );
}
