//! Recommendation by vector similarity.
//!
//! * [`similar_items`]: item-to-item, the k most similar items, never the item itself or an
//!   exact duplicate of it (same text or same vector), nor two copies of one item.
//! * [`recommend_for_user`]: user-to-item, from a recency-weighted mean of the vectors of the
//!   items a user interacted with, minus the items already seen, optionally diversified by
//!   maximal marginal relevance ([`mmr`]).
//! * [`ndcg_at_k`] scores a list against graded relevance (how the tests compare lists with
//!   human judgement).
//!
//! Search goes through [`Neighbours`]: [`ExactIndex`] scans every item (fine up to ~10⁵
//! items); [`crate::store::StoreIndex`] asks the vector store's index, to scale.

mod index;
mod items;
mod mmr;
mod ndcg;
mod users;

pub use index::{ExactIndex, Neighbours, Scored};
pub use items::similar_items;
pub use mmr::mmr;
pub use ndcg::ndcg_at_k;
pub use users::{
    histories, read_interactions, recommend_for_user, user_profile, Interaction, UserOptions,
};
