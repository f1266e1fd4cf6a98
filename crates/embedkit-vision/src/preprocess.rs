//! torchvision's `ImageClassification` preset (what `ResNet50_Weights.IMAGENET1K_V2.transforms()`
//! and friends return) on decoded images: resize the shorter side with Pillow's antialiased
//! bilinear filter, center crop, scale to `[0, 1]`, normalize with the ImageNet mean and std.

use crate::decode::RgbImage;
use crate::error::{Error, Result};
use crate::resize::{resize_crop, Crop};

/// The preprocessing of a classification network.
#[derive(Debug, Clone, PartialEq)]
pub struct Preprocess {
    /// The shorter side is resized to this (torchvision: 256).
    pub resize: usize,
    /// Side of the center crop (224).
    pub crop: usize,
    /// Per-channel mean subtracted after scaling to `[0, 1]`.
    pub mean: [f32; 3],
    /// Per-channel standard deviation divided by.
    pub std: [f32; 3],
}

impl Default for Preprocess {
    fn default() -> Self {
        Self {
            resize: 256,
            crop: 224,
            mean: [0.485, 0.456, 0.406],
            std: [0.229, 0.224, 0.225],
        }
    }
}

impl Preprocess {
    /// Checks the sizes: the crop must fit in the resized image.
    pub fn validate(&self) -> Result<()> {
        if self.crop == 0 || self.crop > self.resize || self.resize > 4096 {
            return Err(Error::InvalidInput(format!(
                "resize {} and crop {}: need 0 < crop <= resize <= 4096",
                self.resize, self.crop
            )));
        }
        Ok(())
    }

    /// The size after resizing: shorter side `resize`, longer side
    /// `int(resize * long / short)` (truncated, as torchvision computes it).
    pub fn resized_size(&self, width: usize, height: usize) -> (usize, usize) {
        let (short, long) = (width.min(height), width.max(height));
        let new_long = ((self.resize * long) as f64 / short as f64) as usize;
        if width <= height {
            (self.resize, new_long)
        } else {
            (new_long, self.resize)
        }
    }

    /// Resized and center-cropped pixels (`crop × crop × 3`), before scaling: torchvision's
    /// `CenterCrop(Resize(img))`, with `top = round((h − crop) / 2)` (ties to even, as
    /// Python's `round`).
    pub fn resize_crop(&self, img: &RgbImage) -> Vec<u8> {
        let (w, h) = self.resized_size(img.width, img.height);
        let top = ((h - self.crop) as f64 / 2.0).round_ties_even() as usize;
        let left = ((w - self.crop) as f64 / 2.0).round_ties_even() as usize;
        let crop = Crop {
            x: left..left + self.crop,
            y: top..top + self.crop,
        };
        resize_crop(&img.data, (img.width, img.height), (w, h), &crop)
    }

    /// The network input for `img`: `crop × crop × 3` floats (HWC),
    /// `(v / 255 − mean) / std` in `f32` as torchvision computes it.
    pub fn apply(&self, img: &RgbImage) -> Vec<f32> {
        self.resize_crop(img)
            .chunks_exact(3)
            .flat_map(|p| [0, 1, 2].map(|c| (p[c] as f32 / 255.0 - self.mean[c]) / self.std[c]))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resized_size_truncates_the_long_side() {
        let p = Preprocess::default();
        assert_eq!(p.resized_size(451, 300), (384, 256)); // 384.85 → 384
        assert_eq!(p.resized_size(300, 451), (256, 384));
        assert_eq!(p.resized_size(512, 512), (256, 256));
        assert_eq!(p.resized_size(1, 3), (256, 768));
    }

    #[test]
    fn normalization_is_torchvision_s() {
        let p = Preprocess::default();
        let img = RgbImage {
            width: 224,
            height: 224,
            data: vec![255; 224 * 224 * 3],
        };
        let t = p.apply(&img);
        assert_eq!(t.len(), 224 * 224 * 3);
        // (1 − 0.485) / 0.229 = 2.2489083
        assert!((t[0] - 2.248_908_3).abs() < 1e-6);
        assert!(Preprocess { crop: 300, ..p }.validate().is_err());
    }
}
