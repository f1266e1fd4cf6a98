//! What a scatter plot of items shows: each item's point label, its colour group (its label,
//! or its k-means cluster), and the picture's size.

use super::Point;
use crate::cluster::{choose_k, kmeans, KMeansOptions};
use crate::data::{labels_of, Item};
use crate::error::Result;
use std::ops::RangeInclusive;

/// Largest k tried when the colours are clusters whose k is chosen by silhouette.
pub const MAX_CHOSEN_K: usize = 8;

/// Widths and heights a picture may have, in pixels.
pub const SIZES: RangeInclusive<u32> = 200..=8000;

/// The colour group of each item: its label, when every item has one and no cluster count
/// is asked for; else its k-means cluster (`cluster 1`, `cluster 2`, ...) with `clusters`
/// as k, or k in `2..=MAX_CHOSEN_K` chosen by silhouette, k-means seeded with `seed`. Fewer
/// than three items are not clustered: they get no group.
pub fn colour_groups(
    items: &[Item],
    vectors: &[Vec<f32>],
    clusters: Option<usize>,
    seed: u64,
) -> Result<Vec<Option<String>>> {
    if clusters.is_none() {
        if let Some(labels) = labels_of(items) {
            return Ok(labels.into_iter().map(Some).collect());
        }
    }
    if items.len() < 3 {
        return Ok(vec![None; items.len()]);
    }
    let base = KMeansOptions {
        seed,
        ..Default::default()
    };
    let clustering = match clusters {
        Some(k) => kmeans(vectors, &KMeansOptions { k, ..base })?,
        None => choose_k(vectors, 2..=MAX_CHOSEN_K, &base)?.clustering,
    };
    Ok(clustering
        .assignments
        .iter()
        .map(|c| Some(format!("cluster {}", c + 1)))
        .collect())
}

/// The text written next to an item's point: its id, except that items numbered by their
/// line (plain text files, texts given one by one) show their text.
pub fn point_label(item: &Item) -> String {
    if item.text.is_some() && item.id.parse::<usize>().is_ok() {
        item.display().to_string()
    } else {
        item.id.clone()
    }
}

/// The points of `items` at `xy` (a projection), coloured by `groups`
/// (see [`colour_groups`]) and labelled by [`point_label`].
pub fn points(items: &[Item], xy: &[[f64; 2]], groups: Vec<Option<String>>) -> Vec<Point> {
    items
        .iter()
        .zip(xy)
        .zip(groups)
        .map(|((item, xy), group)| Point {
            xy: *xy,
            label: point_label(item),
            group,
        })
        .collect()
}

/// A picture size written `WIDTHxHEIGHT` (e.g. `1000x750`), each within [`SIZES`]; `None`
/// for anything else.
pub fn parse_size(s: &str) -> Option<(u32, u32)> {
    let (w, h) = s.split_once('x')?;
    let (w, h) = (w.parse().ok()?, h.parse().ok()?);
    (SIZES.contains(&w) && SIZES.contains(&h)).then_some((w, h))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::items_from_texts;

    #[test]
    fn sizes_are_width_x_height_within_bounds() {
        assert_eq!(parse_size("1000x750"), Some((1000, 750)));
        assert_eq!(parse_size("200x8000"), Some((200, 8000)));
        for bad in [
            "1000", "199x500", "500x8001", "ax500", "500x", "1000X750", "-5x500",
        ] {
            assert_eq!(parse_size(bad), None, "{bad}");
        }
    }

    #[test]
    fn labelled_items_are_coloured_by_label_unless_clusters_are_asked_for() {
        let mut items = items_from_texts(&["a", "b", "c", "d"]);
        let vectors = vec![
            vec![0.0, 0.0],
            vec![0.0, 0.1],
            vec![5.0, 5.0],
            vec![5.0, 5.1],
        ];
        for (item, l) in items.iter_mut().zip(["x", "x", "y", "y"]) {
            item.label = Some(l.into());
        }
        let groups = colour_groups(&items, &vectors, None, 0).unwrap();
        assert_eq!(groups, ["x", "x", "y", "y"].map(|l| Some(l.to_string())));
        let groups = colour_groups(&items, &vectors, Some(2), 0).unwrap();
        assert!(groups
            .iter()
            .all(|g| g.as_deref().unwrap().starts_with("cluster ")));
        assert_eq!(groups[0], groups[1]);
        assert_eq!(groups[2], groups[3]);
        assert_ne!(groups[0], groups[2]);
        // One item without a label: clusters, k chosen by silhouette (2 here).
        items[3].label = None;
        let chosen = colour_groups(&items, &vectors, None, 0).unwrap();
        assert!(chosen
            .iter()
            .all(|g| g.as_deref().unwrap().starts_with("cluster ")));
        assert_eq!(chosen[0], chosen[1]);
        assert_eq!(chosen[2], chosen[3]);
        assert_ne!(chosen[0], chosen[2]);
        // Too few to cluster.
        assert_eq!(
            colour_groups(&items[2..], &vectors[2..], None, 0).unwrap(),
            [None, None]
        );
    }

    #[test]
    fn numbered_items_show_their_text_and_others_their_id() {
        let mut items = items_from_texts(&["the first text"]);
        assert_eq!(point_label(&items[0]), "the first text");
        items[0].id = "doc-7".into();
        assert_eq!(point_label(&items[0]), "doc-7");
        let no_text = Item {
            id: "12".into(),
            ..Default::default()
        };
        assert_eq!(point_label(&no_text), "12");
        let p = points(&items, &[[1.0, 2.0]], vec![Some("g".into())]);
        assert_eq!((p[0].xy, p[0].label.as_str()), ([1.0, 2.0], "doc-7"));
        assert_eq!(p[0].group.as_deref(), Some("g"));
    }
}
