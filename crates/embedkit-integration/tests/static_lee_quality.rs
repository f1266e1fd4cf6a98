//! What a static model costs in quality, on the Lee corpus: all-MiniLM-L6-v2, the static model
//! `embedkit distill` makes of it (its defaults: 256 dimensions, float16), and averaged
//! GloVe 6B-50d vectors, each embedding the 50 documents whole (MRR of the human-top document
//! and Pearson with the human ratings, from pairwise cosines); and the static model through
//! the store (the 350 documents indexed, each Lee document the query), as
//! `store_lee_retrieval` measures MiniLM.

mod common;

use common::lee;
use embedkit_models::distill::{distill, DistillOptions};
use embedkit_models::{EmbedOptions, SentenceEmbedder};
use std::sync::Arc;

#[test]
#[ignore = "needs models/all-MiniLM-L6-v2: run scripts/fetch-models.sh"]
fn distilled_static_model_against_its_teacher_and_glove() {
    let human = lee::human_ratings();
    let (docs, lee_docs) = lee::documents();
    let texts: Vec<&str> = lee_docs.iter().map(|&d| docs[d].text.as_str()).collect();

    let teacher_dir = common::root().join("models/all-MiniLM-L6-v2");
    let teacher = SentenceEmbedder::from_folder(&teacher_dir).unwrap();
    let out = tempfile::tempdir().unwrap();
    distill(
        &teacher,
        out.path(),
        &DistillOptions::default(),
        &mut |_, _| {},
    )
    .unwrap();
    let student = SentenceEmbedder::from_folder(out.path()).unwrap();
    let glove = embedkit_apps::AveragedWords::load(
        &common::root().join("testdata/data/glove-6b-50d-lee.txt"),
    )
    .unwrap();

    let options = EmbedOptions::default();
    let measure = |vectors: Vec<Vec<f32>>| lee::mrr_and_pearson(&human, &lee::cosines(&vectors));
    let minilm = measure(teacher.embed(&texts, &options).unwrap());
    let fixed = measure(student.embed(&texts, &options).unwrap());
    let words = measure(texts.iter().map(|t| glove.average(t).unwrap()).collect());
    for (name, (mrr, r)) in [
        ("all-MiniLM-L6-v2", minilm),
        ("static (distilled)", fixed),
        ("GloVe 6B-50d mean", words),
    ] {
        eprintln!("Lee whole documents, {name}: MRR {mrr:.3}, Pearson {r:.3}");
    }
    // The teacher as sentence-transformers measures it.
    assert!(
        (minilm.1 - 0.656).abs() < 0.01,
        "MiniLM Pearson {}",
        minilm.1
    );
    // Measured: MRR 0.584, Pearson 0.450 (static); MRR 0.482, Pearson 0.396 (GloVe): the
    // static model keeps most of its teacher's ranking and beats averaged word vectors.
    assert!(
        (fixed.0 - 0.584).abs() < 0.02 && (fixed.1 - 0.450).abs() < 0.01,
        "static {fixed:?}"
    );
    assert!(
        (words.0 - 0.482).abs() < 0.02 && (words.1 - 0.396).abs() < 0.01,
        "GloVe {words:?}"
    );

    let model = embedkit_store::StoreModel::new(
        out.path().to_str().unwrap(),
        Arc::new(embedkit_models::Model::Local(Arc::new(student))),
    );
    let (mrr, r) = lee::mrr_and_pearson(&human, &lee::store_scores("sqlite", &model));
    eprintln!("Lee store retrieval, static (distilled): MRR {mrr:.3}, Pearson {r:.3}");
    // The documents are mostly one chunk each: the store ranks as the whole documents do.
    assert!(
        (mrr - fixed.0).abs() < 0.02 && (r - fixed.1).abs() < 0.01,
        "store {mrr} {r}"
    );
}
