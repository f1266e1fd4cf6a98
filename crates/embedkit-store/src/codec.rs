//! Vector blobs: little-endian f32, f16, or int8 with a per-vector f32 scale in front.

use crate::collection::Storage;
use half::f16;

/// Encodes `v` for storage.
pub fn encode(v: &[f32], storage: Storage) -> Vec<u8> {
    match storage {
        Storage::F32 => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        Storage::F16 => v
            .iter()
            .flat_map(|x| f16::from_f32(*x).to_le_bytes())
            .collect(),
        Storage::Int8 => {
            // Symmetric quantization: the largest magnitude maps to 127.
            let max = v.iter().fold(0f32, |m, x| m.max(x.abs()));
            let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
            let mut out = scale.to_le_bytes().to_vec();
            out.extend(
                v.iter()
                    .map(|x| ((x / scale).round().clamp(-127.0, 127.0) as i8) as u8),
            );
            out
        }
    }
}

/// Decodes a blob of `dims` components into `out` (cleared first). Returns false when the
/// blob's length does not match, which means a damaged row.
pub fn decode_into(blob: &[u8], dims: usize, storage: Storage, out: &mut Vec<f32>) -> bool {
    out.clear();
    match storage {
        Storage::F32 if blob.len() == dims * 4 => out.extend(
            blob.chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        ),
        Storage::F16 if blob.len() == dims * 2 => out.extend(
            blob.chunks_exact(2)
                .map(|b| f16::from_le_bytes([b[0], b[1]]).to_f32()),
        ),
        Storage::Int8 if blob.len() == dims + 4 => {
            let scale = f32::from_le_bytes([blob[0], blob[1], blob[2], blob[3]]);
            out.extend(blob[4..].iter().map(|&b| (b as i8) as f32 * scale));
        }
        _ => return false,
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_within_each_formats_precision() {
        let v = [0.5f32, -1.25, 3.0e-3, 0.0, 2.0];
        let mut out = Vec::new();
        assert!(decode_into(
            &encode(&v, Storage::F32),
            5,
            Storage::F32,
            &mut out
        ));
        assert_eq!(out, v);
        assert!(decode_into(
            &encode(&v, Storage::F16),
            5,
            Storage::F16,
            &mut out
        ));
        for (a, b) in out.iter().zip(&v) {
            assert!((a - b).abs() <= b.abs() * 1e-3 + 1e-6, "{a} vs {b}");
        }
        let blob = encode(&v, Storage::Int8);
        assert_eq!(blob.len(), 4 + 5);
        assert!(decode_into(&blob, 5, Storage::Int8, &mut out));
        // Step is 2.0 / 127; rounding error at most half a step.
        for (a, b) in out.iter().zip(&v) {
            assert!((a - b).abs() <= 2.0 / 127.0 / 2.0 + 1e-6, "{a} vs {b}");
        }
        assert_eq!(out[4], 2.0);
    }

    #[test]
    fn wrong_length_is_reported() {
        let mut out = Vec::new();
        assert!(!decode_into(&[0u8; 7], 2, Storage::F32, &mut out));
        assert!(!decode_into(&[0u8; 5], 2, Storage::Int8, &mut out));
    }
}
