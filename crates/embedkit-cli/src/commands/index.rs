//! `embedkit index add | list | delete`: documents into a vector store collection.

use crate::args::index::{AddArgs, DeleteArgs, IndexArgs, IndexCommand, ListArgs};
use anyhow::{Context, Result};
use embedkit_models::{Model, RemoteOptions};
use embedkit_store::{
    read_documents, read_images, Collection, Distance, Filter, ImageStoreModel, IngestOptions,
    IngestProgress, Modality, Storage, Store, StoreModel,
};
use embedkit_vision::ImageModel;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

pub fn run(a: IndexArgs, quiet: bool) -> Result<()> {
    match a.command {
        IndexCommand::Add(a) => add(a, quiet),
        IndexCommand::List(a) => list(a),
        IndexCommand::Delete(a) => delete(a),
    }
}

/// Opens the store named by `url`, with the URL in the error.
pub fn open_store(url: &str) -> Result<Store> {
    Store::open(url).with_context(|| format!("cannot open store {url}"))
}

/// The model a collection was built with, or `requested` (which the store then checks
/// against the collection: another model is an error).
pub fn collection_model(
    store: &Store,
    collection: &str,
    requested: Option<&str>,
    remote: &RemoteOptions,
) -> Result<StoreModel> {
    let spec = requested.map_or_else(
        || store.collection(collection).map(|c| c.model),
        |m| Ok(m.to_string()),
    )?;
    text_model(&spec, remote)
}

/// Loads a sentence model (folder, hub id or `openai:NAME`) for the store.
fn text_model(spec: &str, remote: &RemoteOptions) -> Result<StoreModel> {
    let model = Model::load(spec, remote).with_context(|| format!("cannot load model {spec}"))?;
    Ok(StoreModel::new(spec, Arc::new(model)))
}

/// Loads an image network (weights file or folder) for the store.
fn image_model(spec: &str) -> Result<ImageStoreModel> {
    let model = ImageModel::load(Path::new(spec), None)
        .with_context(|| format!("cannot load image model {spec}"))?;
    Ok(ImageStoreModel::new(spec, Arc::new(model)))
}

/// The spec of the model that adds to `name`: the one asked for, else the collection's.
fn model_spec<'a>(a: &'a AddArgs, existing: Option<&'a Collection>) -> Result<&'a str> {
    match (a.model.as_deref(), existing) {
        (Some(spec), _) => Ok(spec),
        (None, Some(c)) => Ok(&c.model),
        (None, None) => anyhow::bail!(
            "collection {:?} does not exist yet: give --model to create it",
            a.store.collection
        ),
    }
}

fn add(a: AddArgs, quiet: bool) -> Result<()> {
    let store = open_store(&a.store.store)?;
    let name = &a.store.collection;
    let existing = store.find_collection(name)?;
    let is_image = match &existing {
        Some(c) => c.modality == Modality::Image,
        None => a
            .model
            .as_deref()
            .is_some_and(|m| ImageModel::recognizes(Path::new(m))),
    };
    let distance = a
        .distance
        .as_deref()
        .map(str::parse::<Distance>)
        .transpose()?;
    let storage: Storage = a.storage.parse()?;
    if is_image {
        if a.lines || a.chunk_size.is_some() {
            anyhow::bail!(
                "--lines and --chunk-size are for text collections; an image is one document"
            );
        }
        let model = image_model(model_spec(&a, existing.as_ref())?)?;
        store.open_or_create_collection(name, || model.collection(name, distance, storage))?;
        let mut images = read_images(&a.files, a.label_from_folder)?;
        if let Some(shard) = a.shard {
            images = shard.select(images, |d| &d.id);
        }
        let bar = progress_bar(quiet, images.len());
        let mut out = std::io::stdout().lock();
        let done = store.add_images(name, &images, &model, a.batch_size, |p| {
            acknowledge(&bar, &mut out, p)
        })?;
        return report(&store, name, &bar, &done);
    }
    if a.label_from_folder {
        anyhow::bail!("--label-from-folder is for image collections");
    }
    let remote = RemoteOptions {
        base_url: a.base_url.clone(),
        api_key_env: Some(a.api_key_env.clone()),
    };
    let model = text_model(model_spec(&a, existing.as_ref())?, &remote)?;
    store.open_or_create_collection(name, || model.collection(name, distance, storage))?;
    let mut docs = read_documents(&a.files, a.lines)?;
    if let Some(shard) = a.shard {
        docs = shard.select(docs, |d| &d.id);
    }
    let options = IngestOptions {
        chunk_size: a.chunk_size,
        chunk_overlap: a.chunk_overlap,
        batch_size: a.batch_size,
    };
    let bar = progress_bar(quiet, docs.len());
    let mut out = std::io::stdout().lock();
    let done = store.add_documents(name, &docs, &model, &options, |p| {
        acknowledge(&bar, &mut out, p)
    })?;
    report(&store, name, &bar, &done)
}

fn progress_bar(quiet: bool, len: usize) -> indicatif::ProgressBar {
    if quiet {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:30} {pos}/{len} documents  {per_sec}  eta {eta}",
        )
        .expect("static template"),
    );
    bar
}

fn acknowledge(bar: &indicatif::ProgressBar, out: &mut impl Write, p: &IngestProgress) {
    bar.set_position(p.processed as u64);
    // The acknowledgement: flushed only after the batch's transaction committed.
    let _ = writeln!(out, "committed {}", p.processed);
    let _ = out.flush();
}

fn report(
    store: &Store,
    name: &str,
    bar: &indicatif::ProgressBar,
    done: &IngestProgress,
) -> Result<()> {
    bar.finish_and_clear();
    let counts = store.counts(name)?;
    eprintln!(
        "{} documents written ({} chunks), {} unchanged skipped; collection {name:?} now holds {} documents, {} chunks",
        done.written, done.chunks, done.skipped, counts.documents, counts.chunks
    );
    Ok(())
}

/// The image model of an image collection, or `requested` (checked against it by the store).
pub fn image_collection_model(
    store: &Store,
    collection: &str,
    requested: Option<&str>,
) -> Result<ImageStoreModel> {
    let spec = requested.map_or_else(
        || store.collection(collection).map(|c| c.model),
        |m| Ok(m.to_string()),
    )?;
    image_model(&spec)
}

fn list(a: ListArgs) -> Result<()> {
    let store = open_store(&a.store)?;
    let mut out = std::io::stdout().lock();
    let mut rows = Vec::new();
    for c in store.collections()? {
        let counts = store.counts(&c.name)?;
        rows.push(serde_json::json!({ "collection": c, "counts": counts }));
        if !a.json {
            writeln!(
                out,
                "{}\tmodel {}\t{} dims\t{}\t{}\t{} documents\t{} chunks",
                c.name,
                c.model,
                c.dimensions,
                c.distance,
                c.storage,
                counts.documents,
                counts.chunks
            )?;
        }
    }
    if a.json {
        serde_json::to_writer_pretty(&mut out, &rows)?;
        writeln!(out)?;
    }
    Ok(())
}

fn delete(a: DeleteArgs) -> Result<()> {
    let store = open_store(&a.store.store)?;
    let name = &a.store.collection;
    let n = match (a.ids.is_empty(), a.filter.is_empty()) {
        (false, true) => {
            let ids: Vec<&str> = a.ids.iter().map(String::as_str).collect();
            store.delete(name, &ids)?
        }
        (true, false) => store.delete_where(name, &Filter::parse(&a.filter)?)?,
        _ => anyhow::bail!("give either document ids or --filter key=value (not both)"),
    };
    eprintln!("{n} documents deleted from {name:?}");
    Ok(())
}
