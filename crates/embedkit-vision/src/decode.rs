//! Image files to 8-bit RGB as Pillow's `Image.open(f).convert("RGB")` gives them, with
//! limits checked before anything large is allocated.
//!
//! Formats: PNG, JPEG, WebP, GIF (first frame), BMP, decoded by the `image` crate. EXIF
//! orientation (JPEG, WebP) is applied so a photo is upright. Pillow's conversions are kept
//! where they differ from the `image` crate's: alpha is dropped (not blended), 16-bit
//! channels keep their high byte, 16-bit grayscale is clipped to 255.

use crate::error::{Error, Result};
use image::{DynamicImage, ImageDecoder, ImageReader};
use std::io::Cursor;
use std::path::Path;

/// Largest width or height accepted.
pub const MAX_SIDE: u32 = 16_384;
/// Largest number of pixels accepted (Pillow's decompression-bomb limit is 89 M).
pub const MAX_PIXELS: u64 = 100_000_000;
/// Largest file read.
pub const MAX_FILE_BYTES: u64 = 256 << 20;

/// A packed 8-bit RGB image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RgbImage {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// `height × width × 3` bytes, row-major.
    pub data: Vec<u8>,
}

/// Reads and decodes an image file.
pub fn open(path: &Path) -> Result<RgbImage> {
    let name = path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(image_error(
            &name,
            format!(
                "file of {} bytes is over the {MAX_FILE_BYTES}-byte limit",
                meta.len()
            ),
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    decode(&bytes, &name)
}

fn image_error(name: &str, message: impl ToString) -> Error {
    Error::Image {
        source_name: name.to_string(),
        message: message.to_string(),
    }
}

/// Decodes an encoded image held in memory; `name` is used in error messages.
pub fn decode(bytes: &[u8], name: &str) -> Result<RgbImage> {
    if bytes.is_empty() {
        return Err(image_error(name, "empty file"));
    }
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| image_error(name, e))?;
    if reader.format().is_none() {
        return Err(image_error(
            name,
            "not an image in a supported format (PNG, JPEG, WebP, GIF, BMP)",
        ));
    }
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_PIXELS * 8);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(|e| image_error(name, e))?;
    // The header's size is checked before the pixels are allocated.
    let (w, h) = decoder.dimensions();
    if w == 0 || h == 0 {
        return Err(image_error(name, format!("image has no pixels ({w}x{h})")));
    }
    if w > MAX_SIDE || h > MAX_SIDE || w as u64 * h as u64 > MAX_PIXELS {
        return Err(image_error(
            name,
            format!("{w}x{h} pixels is over the limit ({MAX_SIDE} per side, {MAX_PIXELS} in all)"),
        ));
    }
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder).map_err(|e| image_error(name, e))?;
    img.apply_orientation(orientation);
    Ok(to_rgb_like_pillow(img))
}

/// Pillow's `convert("RGB")` of what Pillow would have opened.
fn to_rgb_like_pillow(img: DynamicImage) -> RgbImage {
    let (width, height) = (img.width() as usize, img.height() as usize);
    let data: Vec<u8> = match img {
        DynamicImage::ImageRgb8(i) => i.into_raw(),
        DynamicImage::ImageRgba8(i) => i.pixels().flat_map(|p| [p[0], p[1], p[2]]).collect(),
        DynamicImage::ImageLuma8(i) => i.pixels().flat_map(|p| [p[0]; 3]).collect(),
        DynamicImage::ImageLumaA8(i) => i.pixels().flat_map(|p| [p[0]; 3]).collect(),
        // Pillow opens 16-bit grayscale as mode I;16 and converts it to L by clipping.
        DynamicImage::ImageLuma16(i) => i.pixels().flat_map(|p| [p[0].min(255) as u8; 3]).collect(),
        // 16-bit LA, RGB and RGBA open as 8-bit modes holding each sample's high byte.
        DynamicImage::ImageLumaA16(i) => i.pixels().flat_map(|p| [(p[0] >> 8) as u8; 3]).collect(),
        DynamicImage::ImageRgb16(i) => i
            .pixels()
            .flat_map(|p| p.0.map(|v| (v >> 8) as u8))
            .collect(),
        DynamicImage::ImageRgba16(i) => i
            .pixels()
            .flat_map(|p| [p[0], p[1], p[2]].map(|v| (v >> 8) as u8))
            .collect(),
        other => other.to_rgb8().into_raw(),
    };
    RgbImage {
        width,
        height,
        data,
    }
}
