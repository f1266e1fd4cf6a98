//! Item-to-item recommendation.

use super::index::{same_vector, Neighbours, Scored};
use crate::data::Item;
use crate::error::{invalid, Result};

fn duplicates(index: &dyn Neighbours, items: &[Item], a: usize, b: usize) -> bool {
    let same_text = matches!((&items[a].text, &items[b].text), (Some(x), Some(y)) if x == y);
    same_text || same_vector(index, a, b)
}

/// The `k` items most similar to item `of`, best first: never `of` itself, an exact duplicate
/// of it, or a second copy of an item already listed. Fewer than `k` when the rest are copies.
pub fn similar_items(
    index: &dyn Neighbours,
    items: &[Item],
    of: usize,
    k: usize,
) -> Result<Vec<Scored>> {
    if index.len() != items.len() {
        return Err(invalid("the index and the items differ in length"));
    }
    if of >= items.len() {
        return Err(invalid(format!("no item {of} among {}", items.len())));
    }
    if k == 0 {
        return Err(invalid("k must be at least 1"));
    }
    // Ask for a few more than k (the item itself and its copies come back too), and twice
    // as many each time copies used them up.
    let mut want = (2 * k + 8).min(items.len());
    loop {
        let mut picked: Vec<Scored> = Vec::with_capacity(k);
        for s in index.nearest(index.vector(of), want)? {
            if s.item == of || duplicates(index, items, of, s.item) {
                continue;
            }
            if picked
                .iter()
                .any(|p| duplicates(index, items, p.item, s.item))
            {
                continue;
            }
            picked.push(s);
            if picked.len() == k {
                return Ok(picked);
            }
        }
        if want == items.len() {
            return Ok(picked);
        }
        want = (2 * want).min(items.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::items_from_texts;
    use crate::recommend::ExactIndex;

    #[test]
    fn skips_the_item_its_copies_and_repeated_copies() {
        let items = items_from_texts(&["a", "a", "b", "c", "c2", "far"]);
        let vectors = vec![
            vec![1.0, 0.0],
            vec![1.0, 0.0], // same text as 0
            vec![0.9, 0.1],
            vec![0.8, 0.3],
            vec![1.6, 0.6], // same direction as 3: a copy by vector
            vec![-1.0, 0.2],
        ];
        let index = ExactIndex::new(&vectors).unwrap();
        let got = similar_items(&index, &items, 0, 3).unwrap();
        let ids: Vec<usize> = got.iter().map(|s| s.item).collect();
        assert_eq!(ids, vec![2, 3, 5]);
        assert!(got[0].score > got[1].score);
        assert!(similar_items(&index, &items, 9, 3).is_err());
    }
}
