//! Tests and examples across crates: real text and image models (`embedkit-models`,
//! `embedkit-vision`) handed to the store (`embedkit-store`) through `embedkit-core`'s
//! `Embedder` / `ImageEmbedder` seam, as the CLI and the server hand them over.
//!
//! The crate has no code of its own: it exists so that `embedkit-store` depends on
//! `embedkit-core` alone, tests included, while these tests still run the real models.
