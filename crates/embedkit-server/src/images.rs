//! Image models behind `/v1/embeddings`: inputs are `data:image/...;base64,...` URIs, decoded
//! and preprocessed on the blocking pool (like tokenization for text), then queued to the
//! model's own thread by the same engine as text ([`crate::engine`]), which packs the images of
//! every waiting request into forward passes of at most [`MAX_BATCH_IMAGES`]. Before any image
//! is decoded, [`pixels`] reads the images' sizes from their headers, for the pixel budgets.

use crate::engine::{Batcher, Worker};
use base64::Engine as _;
use embedkit_vision::ImageModel;
use std::io::Cursor;
use std::sync::Arc;

/// Images per forward pass: a 224×224 batch of 8 keeps the convolution kernels busy (per
/// image a pass of 8 is no slower than one of 32) while the activations of a pass stay small:
/// about 75 MiB for MobileNetV2, against 250 MiB for 32.
pub const MAX_BATCH_IMAGES: usize = 8;

/// One served image model (cloned under each of its names; the clones share the model and
/// queue).
#[derive(Clone)]
pub struct ServedImageModel {
    /// The network with its preprocessing.
    pub model: Arc<ImageModel>,
    /// Its worker thread.
    pub worker: Worker<ImageBatcher>,
    /// Unix time it was loaded.
    pub created: u64,
}

/// An image network for the engine: items are preprocessed images, each costing one, at
/// most [`MAX_BATCH_IMAGES`] per pass.
pub struct ImageBatcher(pub Arc<ImageModel>);

impl Batcher for ImageBatcher {
    type Item = Vec<f32>;
    const COST_IS_TOKENS: bool = false;

    fn cost(_: &Vec<f32>) -> usize {
        1
    }

    fn budget(&self) -> usize {
        MAX_BATCH_IMAGES
    }

    /// The raw pass: every request checks its own rows for non-finite values (see
    /// `routes::embeddings`), as text requests do in `SentenceEmbedder::finish`.
    fn run(&self, batch: &[&Vec<f32>]) -> Result<Vec<Vec<f32>>, String> {
        let dim = self.0.dimensions();
        let output = self.0.forward(batch).map_err(|e| e.to_string())?;
        Ok(output
            .embedding
            .chunks_exact(dim)
            .map(<[f32]>::to_vec)
            .collect())
    }
}

/// The bytes of a `data:image/<type>[;param...];base64,<payload>` URI, or why it is not one.
pub fn decode_data_uri(uri: &str) -> Result<Vec<u8>, String> {
    let Some(rest) = uri.strip_prefix("data:") else {
        return Err(
            "this is an image model: each input must be a data:image/...;base64,... URI, not text"
                .into(),
        );
    };
    let Some((header, payload)) = rest.split_once(',') else {
        return Err("malformed data: URI (no ',' before the data)".into());
    };
    let mut parts = header.split(';');
    let media = parts.next().unwrap_or_default();
    if !media.to_ascii_lowercase().starts_with("image/") {
        return Err(format!(
            "data: URI of type {media:?}: an image (image/png, image/jpeg, ...) is needed"
        ));
    }
    if !parts.any(|p| p.eq_ignore_ascii_case("base64")) {
        return Err("data: URI without ';base64': only base64-encoded images are accepted".into());
    }
    base64::engine::general_purpose::STANDARD
        .decode(payload.trim())
        .map_err(|e| format!("bad base64 in data: URI: {e}"))
}

/// The pixels the inputs (data: URIs) hold, as the pixel budgets count them: each image's
/// width × height as its header gives them, without decoding it, plus the model's input
/// (crop × crop) per image. An image over the decoder's own limits is refused here as
/// decoding would refuse it (a 400, as for any image that cannot be decoded); one whose size
/// cannot be read is not counted, since decoding it fails on the same header before any pixel
/// is allocated, and names the error.
pub fn pixels(model: &ImageModel, inputs: &[String]) -> Result<u64, String> {
    use embedkit_vision::decode::{MAX_PIXELS, MAX_SIDE};
    let crop = model.preprocess().crop as u64;
    let mut total: u64 = 0;
    for (i, uri) in inputs.iter().enumerate() {
        let bytes = decode_data_uri(uri).map_err(|e| format!("input {i}: {e}"))?;
        let size = image::ImageReader::new(Cursor::new(&bytes))
            .with_guessed_format()
            .ok()
            .and_then(|r| r.into_dimensions().ok());
        let decoded = match size {
            Some((w, h)) if w > MAX_SIDE || h > MAX_SIDE || u64::from(w) * u64::from(h) > MAX_PIXELS => {
                return Err(embedkit_vision::Error::Image {
                    source_name: format!("input {i}"),
                    message: format!(
                        "{w}x{h} pixels is over the limit ({MAX_SIDE} per side, {MAX_PIXELS} in all)"
                    ),
                }
                .to_string())
            }
            Some((w, h)) => u64::from(w) * u64::from(h),
            None => 0,
        };
        total = total.saturating_add(decoded).saturating_add(crop * crop);
    }
    Ok(total)
}

/// Decodes and preprocesses each input (a data: URI), naming the first bad one by index.
pub fn prepare(model: &ImageModel, inputs: &[String]) -> Result<Vec<Vec<f32>>, String> {
    inputs
        .iter()
        .enumerate()
        .map(|(i, uri)| {
            let bytes = decode_data_uri(uri).map_err(|e| format!("input {i}: {e}"))?;
            let img = embedkit_vision::decode::decode(&bytes, &format!("input {i}"))
                .map_err(|e| e.to_string())?;
            Ok(model.prepare(&img))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_uris_are_parsed_or_named_wrong() {
        assert_eq!(
            decode_data_uri("data:image/png;base64,aGVsbG8=").unwrap(),
            b"hello"
        );
        assert_eq!(
            decode_data_uri("data:image/jpeg;name=a.jpg;base64, aGk=").unwrap(),
            b"hi"
        );
        let text = decode_data_uri("a red shirt").unwrap_err();
        assert!(text.contains("not text"), "{text}");
        let kind = decode_data_uri("data:text/plain;base64,aGk=").unwrap_err();
        assert!(kind.contains("text/plain"), "{kind}");
        let plain = decode_data_uri("data:image/png,abc").unwrap_err();
        assert!(plain.contains(";base64"), "{plain}");
        let bad = decode_data_uri("data:image/png;base64,@@@").unwrap_err();
        assert!(bad.contains("bad base64"), "{bad}");
        assert!(decode_data_uri("data:image/png;base64").is_err());
    }
}
