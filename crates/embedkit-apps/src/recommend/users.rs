//! User-to-item recommendation from interaction logs.
//!
//! A user's profile is the weighted mean of the unit vectors of the items they interacted
//! with, newest weighing most: the n-th most recent interaction (n = 0 for the newest) weighs
//! `0.5^(n / half_life)`. Recency is by rank, not clock time, so timestamps may be in any unit
//! (or absent: file order is time order). Items the user has seen, and copies of them (the
//! same vector), are never recommended, nor two copies of one item.

use super::index::{same_vector, Neighbours, Scored};
use super::mmr::mmr;
use crate::error::{invalid, io_error, Error, Result};
use crate::linalg::unit;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// One user-item event.
#[derive(Debug, Clone, PartialEq)]
pub struct Interaction {
    /// Who.
    pub user: String,
    /// Which item (its id).
    pub item: String,
    /// When (any increasing unit); events without it keep their file order.
    pub time: Option<f64>,
}

/// How to recommend to a user.
#[derive(Debug, Clone)]
pub struct UserOptions {
    /// Items to recommend.
    pub k: usize,
    /// Interactions after which an older one weighs half (`f64::INFINITY`: a plain mean).
    pub half_life: f64,
    /// MMR trade-off in [0, 1]; `None` ranks by relevance alone.
    pub mmr_lambda: Option<f32>,
}

impl Default for UserOptions {
    fn default() -> Self {
        Self {
            k: 10,
            half_life: 5.0,
            mmr_lambda: None,
        }
    }
}

/// Reads JSONL events `{"user": ..., "item": ..., "time": ...}` (`time` optional; ids may be
/// strings or numbers).
pub fn read_interactions(path: &Path) -> Result<Vec<Interaction>> {
    let text = std::fs::read_to_string(path).map_err(io_error(path))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = || format!("{}: line {}", path.display(), i + 1);
        let v: Value = serde_json::from_str(line).map_err(|source| Error::Json {
            context: at(),
            source,
        })?;
        let id = |key: &str| match v.get(key) {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(Value::Number(n)) => Ok(n.to_string()),
            _ => Err(invalid(format!(
                "{}: needs a \"{key}\" string or number",
                at()
            ))),
        };
        let time = match v.get("time") {
            None | Some(Value::Null) => None,
            Some(t) => Some(
                t.as_f64()
                    .ok_or_else(|| invalid(format!("{}: \"time\" must be a number", at())))?,
            ),
        };
        out.push(Interaction {
            user: id("user")?,
            item: id("item")?,
            time,
        });
    }
    Ok(out)
}

/// Each user's items, oldest first, as positions in `item_ids`. Unknown items are an error.
pub fn histories(
    interactions: &[Interaction],
    item_ids: &[String],
) -> Result<BTreeMap<String, Vec<usize>>> {
    let position: BTreeMap<&str, usize> = item_ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    let mut events: BTreeMap<String, Vec<(f64, usize, usize)>> = BTreeMap::new();
    for (order, e) in interactions.iter().enumerate() {
        let &item = position.get(e.item.as_str()).ok_or_else(|| {
            invalid(format!(
                "user {} interacted with item {}, which is not among the items",
                e.user, e.item
            ))
        })?;
        events.entry(e.user.clone()).or_default().push((
            e.time.unwrap_or(f64::NEG_INFINITY),
            order,
            item,
        ));
    }
    Ok(events
        .into_iter()
        .map(|(user, mut ev)| {
            ev.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            (user, ev.into_iter().map(|e| e.2).collect())
        })
        .collect())
}

/// The recency-weighted mean of the items in `history` (oldest first), at unit length.
pub fn user_profile(index: &dyn Neighbours, history: &[usize], half_life: f64) -> Result<Vec<f32>> {
    let Some(&newest) = history.last() else {
        return Err(invalid("the user has no interactions"));
    };
    if half_life.is_nan() || half_life <= 0.0 {
        return Err(invalid(format!(
            "half-life must be positive, not {half_life}"
        )));
    }
    let mut profile = vec![0.0f32; index.vector(newest).len()];
    for (age, &item) in history.iter().rev().enumerate() {
        let w = 0.5f64.powf(age as f64 / half_life) as f32;
        for (p, v) in profile.iter_mut().zip(index.vector(item)) {
            *p += w * v;
        }
    }
    Ok(unit(&profile))
}

/// Items for a user with `history` (oldest first): most similar to the profile, unseen.
pub fn recommend_for_user(
    index: &dyn Neighbours,
    history: &[usize],
    options: &UserOptions,
) -> Result<Vec<Scored>> {
    if options.k == 0 {
        return Err(invalid("k must be at least 1"));
    }
    if let Some(l) = options.mmr_lambda {
        if !(0.0..=1.0).contains(&l) {
            return Err(invalid(format!("MMR lambda must be in [0, 1], not {l}")));
        }
    }
    let profile = user_profile(index, history, options.half_life)?;
    // MMR re-ranks a pool a few times larger than the list.
    let pool = if options.mmr_lambda.is_some() {
        options.k * 4
    } else {
        options.k
    };
    // Seen items come back too: ask for as many more, and twice as many each time seen
    // items and copies used them up.
    let mut want = (pool + history.len()).min(index.len());
    let candidates = loop {
        let mut kept: Vec<Scored> = Vec::with_capacity(pool);
        for s in index.nearest(&profile, want)? {
            let copy = history
                .iter()
                .chain(kept.iter().map(|k| &k.item))
                .any(|&other| other == s.item || same_vector(index, other, s.item));
            if !copy {
                kept.push(s);
            }
            if kept.len() == pool {
                break;
            }
        }
        if kept.len() == pool || want == index.len() {
            break kept;
        }
        want = (2 * want).min(index.len());
    };
    Ok(match options.mmr_lambda {
        Some(lambda) => mmr(index, &candidates, options.k, lambda),
        None => candidates,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recommend::ExactIndex;

    #[test]
    fn the_profile_weighs_recent_items_more_and_seen_items_are_skipped() {
        let index = ExactIndex::new(&[
            vec![1.0, 0.0],
            vec![0.0, 1.0],
            vec![0.9, 0.1],
            vec![0.1, 0.9],
        ])
        .unwrap();
        // Saw 0 long ago, then 1: with a short half-life the profile leans to 1.
        let p = user_profile(&index, &[0, 1], 0.5).unwrap();
        assert!(p[1] > p[0]);
        // Half-life 1: weights 1 (newest) and 0.5 → profile ∝ (0.5, 1).
        let p = user_profile(&index, &[0, 1], 1.0).unwrap();
        assert!((p[1] / p[0] - 2.0).abs() < 1e-5, "{p:?}");
        let options = UserOptions {
            k: 2,
            ..Default::default()
        };
        let recs = recommend_for_user(&index, &[0, 1], &options).unwrap();
        let ids: Vec<usize> = recs.iter().map(|s| s.item).collect();
        assert_eq!(ids, vec![3, 2]);
        assert!(recommend_for_user(&index, &[], &options).is_err());
    }

    #[test]
    fn copies_of_seen_items_and_second_copies_are_not_offered() {
        let index = ExactIndex::new(&[
            vec![1.0, 0.0],
            vec![2.0, 0.0], // a copy of 0 (same direction)
            vec![0.9, 0.3],
            vec![1.8, 0.6], // a copy of 2
            vec![0.5, 0.5],
            vec![0.0, 1.0],
        ])
        .unwrap();
        let options = UserOptions {
            k: 3,
            ..Default::default()
        };
        let recs = recommend_for_user(&index, &[0], &options).unwrap();
        let ids: Vec<usize> = recs.iter().map(|s| s.item).collect();
        assert_eq!(ids, vec![2, 4, 5]);
    }

    #[test]
    fn histories_follow_time_then_file_order() {
        let ids: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        let ev = |u: &str, i: &str, t: Option<f64>| Interaction {
            user: u.into(),
            item: i.into(),
            time: t,
        };
        let h = histories(
            &[
                ev("u", "c", Some(5.0)),
                ev("u", "a", Some(1.0)),
                ev("v", "b", None),
            ],
            &ids,
        )
        .unwrap();
        assert_eq!(h["u"], vec![0, 2]);
        assert_eq!(h["v"], vec![1]);
        assert!(histories(&[ev("u", "zz", None)], &ids).is_err());
    }
}
