//! The LangChain-shaped interface (`Embedder::embed_documents` / `embed_query`) against
//! sentence-transformers' own vectors: documents as `encode(sentences)`, queries as
//! `encode(sentences, prompt_name="query")` (BGE's and Qwen3's instructions), and models
//! without a query prompt embedding queries like documents.

mod common;

use common::{assert_rows_match, fixtures, reference_rows, sentences};
use embedkit_core::Embedder;
use embedkit_models::{Model, RemoteOptions};

const MIN_COS: f32 = 0.99999;

/// Both entry points: the `Model` enum the tools load, and the `SentenceEmbedder` inside it.
fn check(model: &str, query_reference: &str) {
    let loaded = Model::load(
        fixtures().join(model).to_str().unwrap(),
        &RemoteOptions::default(),
    )
    .unwrap();
    let Model::Local(local) = &loaded else {
        panic!("{model} is local")
    };
    let embedders: [(&str, &dyn Embedder); 2] =
        [("Model", &loaded), ("SentenceEmbedder", &**local)];
    let sentences = sentences();
    let texts: Vec<&str> = sentences.iter().map(String::as_str).collect();
    for (what, e) in embedders {
        let docs = e.embed_documents(&texts).unwrap();
        let want = reference_rows(model, "embeddings.npy");
        assert_rows_match(&docs, &want, MIN_COS, &format!("{model} {what} documents"));
        assert_eq!(e.dimensions(), Some(want[0].len()));

        let queries: Vec<Vec<f32>> = texts.iter().map(|t| e.embed_query(t).unwrap()).collect();
        let want = reference_rows(model, query_reference);
        assert_rows_match(&queries, &want, MIN_COS, &format!("{model} {what} queries"));
        if query_reference != "embeddings.npy" {
            // The prompt matters: without it the queries would miss the reference.
            let far = docs
                .iter()
                .zip(&want)
                .any(|(d, q)| embedkit_core::vector::cosine(d, q) < 0.999);
            assert!(far, "{model}: the query prompt changes nothing");
        }
    }
}

#[test]
fn bge_queries_get_the_query_instruction() {
    check("tiny-bge", "embeddings_query.npy");
}

#[test]
fn qwen3_queries_get_the_query_instruction() {
    check("tiny-qwen3", "embeddings_query.npy");
}

#[test]
fn models_without_a_query_prompt_embed_queries_as_documents() {
    check("tiny-minilm-mean", "embeddings.npy");
    check("tiny-mpnet", "embeddings.npy");
}
