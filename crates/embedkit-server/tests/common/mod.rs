//! What the server's tests share: fixture paths and poisoned copies of fixture models.
#![allow(dead_code)]

use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use std::path::{Path, PathBuf};

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/fixtures")
        .join(name)
}

/// Copies the model folder `src` to `dst`, rewriting `model.safetensors` with `poison`
/// applied to the values of every f32 tensor (given its name).
pub fn poisoned_copy(src: &Path, dst: &Path, poison: impl Fn(&str, &mut [f32])) {
    copy_dir(src, dst);
    let bytes = std::fs::read(src.join("model.safetensors")).unwrap();
    let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
    let tensors: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = SafeTensors::deserialize(&bytes)
        .unwrap()
        .tensors()
        .into_iter()
        .map(|(name, view)| {
            let mut data = view.data().to_vec();
            if view.dtype() == Dtype::F32 {
                let mut values: Vec<f32> = data
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect();
                poison(&name, &mut values);
                data = values.iter().flat_map(|v| v.to_le_bytes()).collect();
            }
            (name, view.dtype(), view.shape().to_vec(), data)
        })
        .collect();
    let views = tensors
        .iter()
        .map(|(name, dtype, shape, data)| {
            (
                name.as_str(),
                TensorView::new(*dtype, shape.clone(), data).unwrap(),
            )
        })
        .collect::<Vec<_>>();
    safetensors::serialize_to_file(
        views,
        header.metadata().clone(),
        &dst.join("model.safetensors"),
    )
    .unwrap();
}

pub fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for entry in std::fs::read_dir(src).unwrap() {
        let path = entry.unwrap().path();
        let to = dst.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &to);
        } else {
            std::fs::copy(&path, &to).unwrap();
        }
    }
}
