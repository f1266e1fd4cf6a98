//! PyTorch checkpoints (`.pth` / `.pt`, zip or legacy format) as a dict of `f32` tensors,
//! through the restricted unpickler of [`embedkit_core::pth`], which the text models share.

use crate::state_dict::Tensor;
use embedkit_core::pth::Checkpoint;
use std::collections::HashMap;
use std::io::Cursor;

pub use embedkit_core::pth::is_checkpoint;

/// Reads a checkpoint's floating-point tensors (integer tensors are skipped).
pub fn read(bytes: &[u8]) -> Result<HashMap<String, Tensor>, String> {
    let checkpoint = Checkpoint::parse(Cursor::new(bytes)).map_err(|e| e.to_string())?;
    let tensors = checkpoint.read_f32(bytes).map_err(|e| e.to_string())?;
    Ok(tensors
        .into_iter()
        .map(|t| {
            let tensor = Tensor {
                shape: t.shape,
                data: t.data,
            };
            (t.name, tensor)
        })
        .collect())
}
