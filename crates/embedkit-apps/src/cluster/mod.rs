//! Clustering: k-means with k-means++ seeding ([`kmeans`]), k chosen by silhouette
//! ([`choose_k`]), cluster quality ([`silhouette`], [`purity`]) and each cluster's most
//! central members ([`central_members`]).
//!
//! Distances are Euclidean; on unit vectors (most sentence models) that orders pairs exactly
//! as cosine similarity does. Everything random comes from one `seed`: the same seed gives
//! the same clusters on every machine.

mod kmeans;
mod quality;

pub use kmeans::{central_members, kmeans, Clustering, KMeansOptions};
pub use quality::{choose_k, purity, silhouette, KChoice};
