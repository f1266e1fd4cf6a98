//! Image embeddings: convolutional networks (ResNet, VGG, MobileNetV2) that give the same
//! vectors and class scores as torchvision, from the weight files people already have.
//!
//! * [`decode`] turns PNG / JPEG / WebP / GIF / BMP files into RGB as Pillow does, within
//!   size limits checked before allocation.
//! * [`preprocess`] is torchvision's `ImageClassification` preset, on top of a port of
//!   Pillow's antialiased bilinear resize ([`resize`]).
//! * [`state_dict`] loads safetensors and PyTorch checkpoints ([`pth`], a restricted
//!   unpickler that only rebuilds tensors).
//! * [`arch`] holds the networks in torchvision's module layout and infers which one a
//!   state dict holds; [`layers`] folds batch norms into convolutions at load.
//! * [`ImageModel`] ties them together, with a pipeline that decodes the next batch while
//!   the current one runs.
//!
//! Not here: text models (`embedkit-models`), training, other vision tasks (detection,
//! segmentation). The convolution kernels live in `embedkit-kernels`.
//!
//! ```no_run
//! use embedkit_vision::ImageModel;
//! use std::path::{Path, PathBuf};
//! let model = ImageModel::load(Path::new("models/mobilenet_v2"), None)?;
//! model.run_files(&[PathBuf::from("cat.jpg")], 8, |_, out| {
//!     println!("{:?}", model.top_k(&out.logits, 1));
//!     Ok(())
//! })?;
//! # Ok::<(), embedkit_vision::Error>(())
//! ```
#![deny(missing_docs)]

pub mod arch;
pub mod classes;
pub mod decode;
mod error;
pub mod layers;
mod model;
pub mod preprocess;
pub mod pth;
pub mod resize;
pub mod state_dict;

pub use arch::{Network, Output};
pub use error::{Error, Result};
pub use model::{ImageModel, Scored};
