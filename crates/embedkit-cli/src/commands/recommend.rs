//! `embedkit recommend`: similar items (item-to-item), or items for users from their
//! interaction logs (user-to-item); items from a file (neighbours by a scan) or from a store
//! collection (neighbours through the store's index).

use super::vectors::item_vectors;
use crate::args::recommend::RecommendArgs;
use anyhow::{bail, Result};
use embedkit_apps::data::{read_items, Item};
use embedkit_apps::recommend::{
    histories, read_interactions, recommend_for_user, similar_items, ExactIndex, Neighbours,
    Scored, UserOptions,
};
use embedkit_apps::store::{read_collection, StoreIndex};
use embedkit_store::Store;
use std::io::Write;

pub fn run(a: RecommendArgs, quiet: bool) -> Result<()> {
    match (&a.store, &a.items) {
        (Some(url), _) => {
            let store = Store::open(url)?;
            let collection = a.collection.as_deref().unwrap_or("default");
            let items = read_collection(&store, collection)?;
            let index = StoreIndex::new(&store, collection, &items)?;
            recommend(&a, &items, &index)
        }
        (None, Some(path)) => {
            let mut items = read_items(path)?;
            let (vectors, _) = item_vectors(&a.source, &mut items, quiet)?;
            recommend(&a, &items, &ExactIndex::new(&vectors)?)
        }
        (None, None) => bail!("give --items FILE, or --store URL --collection NAME"),
    }
}

fn recommend(a: &RecommendArgs, items: &[Item], index: &dyn Neighbours) -> Result<()> {
    let ids: Vec<String> = items.iter().map(|i| i.id.clone()).collect();
    let mut out = std::io::stdout().lock();
    let Some(log) = &a.interactions else {
        if !a.user.is_empty() {
            bail!("--user needs --interactions");
        }
        let wanted: Vec<usize> = if a.item.is_empty() {
            (0..items.len()).collect()
        } else {
            a.item
                .iter()
                .map(|id| {
                    ids.iter()
                        .position(|x| x == id)
                        .ok_or_else(|| anyhow::anyhow!("no item with id {id}"))
                })
                .collect::<Result<_>>()?
        };
        for i in wanted {
            let list = similar_items(index, items, i, a.k)?;
            print_list(
                &mut out,
                a.json,
                "item",
                &items[i].id,
                Some(&items[i]),
                items,
                &list,
            )?;
        }
        return Ok(());
    };
    let interactions = read_interactions(log)?;
    let histories = histories(&interactions, &ids)?;
    let users: Vec<&String> = if a.user.is_empty() {
        histories.keys().collect()
    } else {
        a.user.iter().collect()
    };
    let options = UserOptions {
        k: a.k,
        half_life: a.half_life,
        mmr_lambda: a.mmr,
    };
    for user in users {
        let Some(history) = histories.get(user) else {
            bail!("user {user} has no interactions in {}", log.display());
        };
        let list = recommend_for_user(index, history, &options)?;
        print_list(&mut out, a.json, "user", user, None, items, &list)?;
    }
    Ok(())
}

fn print_list(
    out: &mut impl Write,
    json: bool,
    kind: &str,
    who: &str,
    item: Option<&Item>,
    items: &[Item],
    list: &[Scored],
) -> Result<()> {
    if json {
        let recs: Vec<serde_json::Value> = list
            .iter()
            .map(|s| serde_json::json!({"id": items[s.item].id, "score": s.score}))
            .collect();
        serde_json::to_writer(
            &mut *out,
            &serde_json::json!({ kind: who, "recommended": recs }),
        )?;
        writeln!(out)?;
        return Ok(());
    }
    match item {
        Some(i) => writeln!(out, "{kind} {who}: {}", preview(i))?,
        None => writeln!(out, "{kind} {who}:")?,
    }
    for s in list {
        let it = &items[s.item];
        writeln!(out, "  {:.4}  {}  {}", s.score, it.id, preview(it))?;
    }
    Ok(())
}

/// The start of an item's text (by characters, so CJK is never cut mid-character).
fn preview(item: &Item) -> String {
    let text = item.text.as_deref().unwrap_or("");
    let mut p: String = text.chars().take(70).collect();
    if text.chars().count() > 70 {
        p.push('…');
    }
    p
}
