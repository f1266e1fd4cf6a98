//! `embedkit info`.

use crate::args::InfoArgs;
use anyhow::Result;
use embedkit_models::folder::ModelFolder;
use embedkit_models::weights::{StoredWeights, WeightFile};
use std::io::Write;
use std::path::Path;

pub fn run(a: InfoArgs) -> Result<()> {
    let model = super::load_local_model(&a.model, None, a.precision)?;
    let info = model.info();
    let stored = stored_weights(Path::new(&info.path))?;
    let mut out = std::io::stdout().lock();
    if a.json {
        let mut value = serde_json::to_value(&info)?;
        if let Some(map) = value.as_object_mut() {
            map.insert("stored_weights".into(), serde_json::to_value(&stored)?);
        }
        serde_json::to_writer_pretty(&mut out, &value)?;
        writeln!(out)?;
        return Ok(());
    }
    writeln!(out, "model:          {}", info.path)?;
    writeln!(out, "architecture:   {}", info.architecture)?;
    writeln!(out, "hidden size:    {}", info.hidden_size)?;
    writeln!(out, "dimensions:     {}", info.dimensions)?;
    writeln!(out, "max length:     {} tokens", info.max_seq_length)?;
    writeln!(
        out,
        "weights:        {:.1} MiB in memory (precision {})",
        info.weight_bytes as f64 / f64::from(1 << 20),
        a.precision.name()
    )?;
    writeln!(out, "weight files:   {stored}")?;
    writeln!(out, "kernels:        {}", embedkit_kernels::isa::describe())?;
    writeln!(
        out,
        "pooling:        {}{}",
        info.pooling.join(" + "),
        if info.include_prompt {
            ""
        } else {
            " (prompt tokens excluded)"
        }
    )?;
    if info.dense_layers > 0 {
        writeln!(out, "dense layers:   {}", info.dense_layers)?;
    }
    writeln!(
        out,
        "padding side:   {} (batches are packed: no padding is computed)",
        info.padding_side
    )?;
    if let Some(eos) = &info.eos {
        writeln!(out, "end of input:   {eos}")?;
    }
    writeln!(
        out,
        "normalize:      {}",
        if info.normalize { "yes" } else { "no" }
    )?;
    writeln!(out, "similarity:     {}", info.similarity)?;
    let prompts: Vec<_> = info.prompts.iter().filter(|(_, p)| !p.is_empty()).collect();
    if prompts.is_empty() {
        writeln!(out, "prompts:        none")?;
    } else {
        writeln!(out, "prompts:")?;
        for (name, text) in prompts {
            let default = if info.default_prompt_name.as_deref() == Some(name.as_str()) {
                " (default)"
            } else {
                ""
            };
            writeln!(out, "  {name}{default}: {text:?}")?;
        }
    }
    for note in &info.notes {
        writeln!(out, "note:           {note}")?;
    }
    Ok(())
}

/// How the transformer's weights of the model folder `root` are stored (format, shards,
/// dtypes): read from the files' headers again, which the loaded model does not keep.
fn stored_weights(root: &Path) -> Result<StoredWeights> {
    let folder = ModelFolder::read(root)?;
    Ok(WeightFile::open_folder(&folder.transformer_dir, &[""])?
        .stored()
        .clone())
}
