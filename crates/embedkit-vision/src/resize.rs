//! Pillow's `Image.resize(size, BILINEAR)` on 8-bit RGB, reproduced operation for operation so
//! that embedkit sees the same pixels torchvision does (its `Resize` calls Pillow on PIL
//! images).
//!
//! Pillow's resampler (libImaging/Resample.c) is separable: a horizontal pass over only the
//! rows the vertical pass will read, then a vertical pass. The filter's support grows with the
//! downscale factor (that is the antialiasing), the weights are computed in `f64`, normalized
//! per output pixel and rounded to 22-bit fixed point; each pass accumulates in `i32` starting
//! from one half and clamps to 0..=255. General-purpose resizers (the `image` crate's, SIMD
//! ones) differ from this by a level or two on many pixels, so this is ported rather than
//! taken from a crate.

use std::ops::Range;

/// Fixed-point precision of the 8-bit passes (`32 − 8 − 2`).
const PRECISION_BITS: u32 = 22;

/// Bilinear (triangle) filter with support 1.
fn bilinear(x: f64) -> f64 {
    let x = x.abs();
    if x < 1.0 {
        1.0 - x
    } else {
        0.0
    }
}

/// Per output pixel of a window: the first input index and the fixed-point weights (`ksize`
/// each).
struct Coefficients {
    bounds: Vec<(usize, usize)>,
    ksize: usize,
    weights: Vec<i32>,
}

/// `precompute_coeffs` + `normalize_coeffs_8bpc` for resizing `in_size` to `out_size`, for
/// the output pixels `window` only (each output pixel's weights depend on its index alone).
fn coefficients(in_size: usize, out_size: usize, window: Range<usize>) -> Coefficients {
    let scale = in_size as f64 / out_size as f64;
    let filterscale = scale.max(1.0);
    let support = filterscale; // bilinear support (1.0) × filterscale
    let ksize = support.ceil() as usize * 2 + 1;
    let mut bounds = Vec::with_capacity(window.len());
    let mut weights = vec![0i32; window.len() * ksize];
    let mut k = vec![0f64; ksize];
    for (i, xx) in window.enumerate() {
        let center = (xx as f64 + 0.5) * scale;
        let ss = 1.0 / filterscale;
        // Pillow truncates with a C cast after adding 0.5.
        let xmin = ((center - support + 0.5) as i64).max(0) as usize;
        let xmax = ((center + support + 0.5) as i64).min(in_size as i64) as usize - xmin;
        let mut ww = 0.0;
        for (x, kx) in k.iter_mut().enumerate().take(xmax) {
            let w = bilinear((x as f64 + xmin as f64 - center + 0.5) * ss);
            *kx = w;
            ww += w;
        }
        for (x, kx) in k.iter().enumerate().take(xmax) {
            let v = if ww != 0.0 { kx / ww } else { *kx };
            let fixed = v * (1u32 << PRECISION_BITS) as f64;
            weights[i * ksize + x] = if v < 0.0 {
                (-0.5 + fixed) as i32
            } else {
                (0.5 + fixed) as i32
            };
        }
        bounds.push((xmin, xmax));
    }
    Coefficients {
        bounds,
        ksize,
        weights,
    }
}

fn clip8(v: i32) -> u8 {
    (v >> PRECISION_BITS).clamp(0, 255) as u8
}

/// A rectangle of the resized image: columns `x`, rows `y`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crop {
    /// Columns kept.
    pub x: Range<usize>,
    /// Rows kept.
    pub y: Range<usize>,
}

/// Resizes a packed RGB image (`w × h × 3`) to `out_w × out_h` as Pillow's bilinear resize
/// does, and returns the `crop` of the result. Only the cropped pixels are computed, so the
/// cost and memory follow the crop, not the (possibly huge) resized image; the values are
/// those of resizing everything and cropping afterwards.
///
/// Panics if `rgb` is not `w · h · 3` long, a size is zero or the crop leaves the output.
pub fn resize_crop(
    rgb: &[u8],
    (w, h): (usize, usize),
    (out_w, out_h): (usize, usize),
    crop: &Crop,
) -> Vec<u8> {
    assert_eq!(rgb.len(), w * h * 3, "resize input is not w·h·3 bytes");
    assert!(
        w > 0 && h > 0 && crop.x.end <= out_w && crop.y.end <= out_h,
        "bad resize geometry"
    );
    let cw = crop.x.len();
    // Horizontal pass (skipped by Pillow when the width does not change): every input row
    // the vertical pass reads, cropped columns only.
    let vert = (out_h != h).then(|| coefficients(h, out_h, crop.y.clone()));
    let rows = match &vert {
        Some(v) if !v.bounds.is_empty() => {
            let first = v.bounds[0].0;
            let (lmin, lmax) = v.bounds[v.bounds.len() - 1];
            first..lmin + lmax
        }
        Some(_) => 0..0,
        None => crop.y.clone(),
    };
    let mut tmp = vec![0u8; rows.len() * cw * 3];
    if out_w != w {
        let horiz = coefficients(w, out_w, crop.x.clone());
        for (y, out) in rows.clone().zip(tmp.chunks_exact_mut(cw * 3)) {
            let line = &rgb[y * w * 3..(y + 1) * w * 3];
            for (i, &(xmin, xmax)) in horiz.bounds.iter().enumerate() {
                let k = &horiz.weights[i * horiz.ksize..i * horiz.ksize + xmax];
                let mut ss = [1i32 << (PRECISION_BITS - 1); 3];
                for (x, &kx) in k.iter().enumerate() {
                    let p = &line[(x + xmin) * 3..(x + xmin) * 3 + 3];
                    for c in 0..3 {
                        ss[c] += p[c] as i32 * kx;
                    }
                }
                for c in 0..3 {
                    out[i * 3 + c] = clip8(ss[c]);
                }
            }
        }
    } else {
        for (y, out) in rows.clone().zip(tmp.chunks_exact_mut(cw * 3)) {
            out.copy_from_slice(&rgb[(y * w + crop.x.start) * 3..(y * w + crop.x.end) * 3]);
        }
    }
    let Some(vert) = vert else {
        return tmp;
    };
    let mut out = vec![0u8; cw * crop.y.len() * 3];
    for (i, (&(ymin, ymax), dst)) in vert
        .bounds
        .iter()
        .zip(out.chunks_exact_mut(cw * 3))
        .enumerate()
    {
        let k = &vert.weights[i * vert.ksize..i * vert.ksize + ymax];
        for (xc, d) in dst.iter_mut().enumerate() {
            let mut ss = 1i32 << (PRECISION_BITS - 1);
            for (y, &ky) in k.iter().enumerate() {
                ss += tmp[(y + ymin - rows.start) * cw * 3 + xc] as i32 * ky;
            }
            *d = clip8(ss);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halving_uses_the_stretched_triangle() {
        // 4 → 2: support 2, taps at distances ±0.25 and 0.75 from the centre, weights
        // ¾ ¾ ¼ normalized to 3/7 3/7 1/7 (left) and 1/7 3/7 3/7 (right):
        // (0·3 + 100·3 + 200)/7 = 71.4 and (100 + 200·3 + 40·3)/7 = 117.1.
        let row: Vec<u8> = [0u8, 100, 200, 40]
            .iter()
            .flat_map(|&v| [v, v, v])
            .collect();
        let c = coefficients(4, 2, 0..2);
        assert_eq!(c.bounds, vec![(0, 3), (1, 3)]);
        let all = Crop { x: 0..2, y: 0..1 };
        assert_eq!(
            resize_crop(&row, (4, 1), (2, 1), &all),
            vec![71, 71, 71, 117, 117, 117]
        );
        let right = Crop { x: 1..2, y: 0..1 };
        assert_eq!(
            resize_crop(&row, (4, 1), (2, 1), &right),
            vec![117, 117, 117]
        );
    }

    #[test]
    fn same_size_crops_and_constant_images_stay_constant() {
        let img: Vec<u8> = (0..45).collect();
        let all = Crop { x: 0..5, y: 0..3 };
        assert_eq!(resize_crop(&img, (5, 3), (5, 3), &all), img);
        let middle = Crop { x: 1..4, y: 1..2 };
        assert_eq!(
            resize_crop(&img, (5, 3), (5, 3), &middle),
            (18..27).collect::<Vec<u8>>()
        );
        let flat = vec![77u8; 45];
        let big = Crop { x: 0..2, y: 0..7 };
        assert!(resize_crop(&flat, (5, 3), (2, 7), &big)
            .iter()
            .all(|&v| v == 77));
    }
}
