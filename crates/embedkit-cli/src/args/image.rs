//! `embedkit image`: embed or classify images.

use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct ImageArgs {
    #[command(subcommand)]
    pub command: ImageCommand,
}

#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// Embed images (ResNet: pooled last stage; VGG: fc7; MobileNetV2: pooled features).
    Embed(EmbedImagesArgs),
    /// Print the most probable ImageNet classes of images.
    Classify(ClassifyArgs),
}

/// Which image model, and how images are prepared for it.
#[derive(Debug, Args)]
pub struct ImageModelArgs {
    /// Weights: a .safetensors / .pth / .pt file with a torchvision state dict, or a folder
    /// holding one.
    #[arg(long, short)]
    pub model: PathBuf,
    /// Expected architecture (resnet50, vgg16_bn, mobilenet_v2, or a family: resnet, vgg);
    /// it is inferred from the weights and checked against this.
    #[arg(long)]
    pub arch: Option<String>,
    /// Images per forward pass.
    #[arg(long, default_value_t = 16)]
    pub batch_size: usize,
    /// Shorter side after resizing.
    #[arg(long, default_value_t = 256)]
    pub resize: usize,
    /// Side of the center crop fed to the network.
    #[arg(long, default_value_t = 224)]
    pub crop: usize,
    /// Image files (PNG, JPEG, WebP, GIF, BMP).
    #[arg(required = true)]
    pub images: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct EmbedImagesArgs {
    #[command(flatten)]
    pub model: ImageModelArgs,
    /// L2-normalize the embeddings.
    #[arg(long)]
    pub normalize: bool,
    /// Write a .json array of arrays, a .npy float32 matrix, or .jsonl lines (default: JSON
    /// lines {"index", "image", "embedding"} on stdout).
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ClassifyArgs {
    #[command(flatten)]
    pub model: ImageModelArgs,
    /// Classes per image.
    #[arg(short, long, default_value_t = 5)]
    pub k: usize,
    /// Print JSON: [{"image": PATH, "top": [{"label": L, "score": P}, ...]}].
    #[arg(long)]
    pub json: bool,
}
