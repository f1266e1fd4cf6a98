//! 2-D convolutions on NHWC activations (`[batch, height, width, channels]`, row-major), as
//! the convolutional image networks need them.
//!
//! * [`Conv2d`] is im2col followed by the packed GEMM of [`Linear`]: each output pixel's
//!   receptive field becomes one row of `kh · kw · cin` values, so the product is one
//!   `pixels × (kh·kw·cin)` by `(kh·kw·cin) × cout` matrix multiplication for the whole batch.
//!   In NHWC a field row is `kh · kw` contiguous channel runs, so building it is a few
//!   `memcpy`s. 1×1 convolutions with stride 1 need no im2col at all.
//! * [`DepthwiseConv2d`] (one filter per channel, MobileNet) is a direct loop: it has no
//!   reduction over channels for a GEMM to exploit, and the channel loop vectorizes.

use crate::linear::{Linear, ShapeError};
use rayon::prelude::*;

/// Geometry of a convolution window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Kernel height.
    pub kh: usize,
    /// Kernel width.
    pub kw: usize,
    /// Stride (both directions).
    pub stride: usize,
    /// Zero padding (both directions, both sides).
    pub pad: usize,
}

impl Window {
    /// Output height and width for an `h × w` input, as PyTorch computes them
    /// (`floor((h + 2·pad − kh) / stride) + 1`), or `None` when the input is too small.
    pub fn output_size(&self, h: usize, w: usize) -> Option<(usize, usize)> {
        let (ph, pw) = (h + 2 * self.pad, w + 2 * self.pad);
        if ph < self.kh || pw < self.kw || self.stride == 0 {
            return None;
        }
        Some((
            (ph - self.kh) / self.stride + 1,
            (pw - self.kw) / self.stride + 1,
        ))
    }
}

/// A dense convolution (`groups = 1`) with a bias, e.g. a convolution with its batch norm
/// folded in.
#[derive(Debug, Clone)]
pub struct Conv2d {
    linear: Linear,
    window: Window,
    cin: usize,
}

impl Conv2d {
    /// Builds a convolution from a weight in PyTorch's layout `[cout, cin, kh, kw]`.
    pub fn new(
        weight: &[f32],
        bias: Option<Vec<f32>>,
        cout: usize,
        cin: usize,
        window: Window,
    ) -> Result<Self, ShapeError> {
        let (kh, kw) = (window.kh, window.kw);
        if weight.len() != cout * cin * kh * kw {
            return Err(ShapeError {
                expected: format!("{cout}x{cin}x{kh}x{kw} convolution weight"),
                found: format!("{} values", weight.len()),
            });
        }
        // [cout, cin, kh, kw] → [cout, kh, kw, cin]: the order of an im2col row.
        let mut permuted = vec![0.0; weight.len()];
        for o in 0..cout {
            for i in 0..cin {
                for y in 0..kh {
                    for x in 0..kw {
                        permuted[((o * kh + y) * kw + x) * cin + i] =
                            weight[((o * cin + i) * kh + y) * kw + x];
                    }
                }
            }
        }
        Ok(Self {
            linear: Linear::new(permuted, bias, cout, cin * kh * kw)?,
            window,
            cin,
        })
    }

    /// Input channels.
    pub fn in_channels(&self) -> usize {
        self.cin
    }

    /// Output channels.
    pub fn out_channels(&self) -> usize {
        self.linear.out_features()
    }

    /// The window geometry.
    pub fn window(&self) -> Window {
        self.window
    }

    /// Convolves `n` images of `h × w × cin`; returns `n × oh × ow × cout` and `(oh, ow)`.
    ///
    /// Panics if `x` is not `n · h · w · cin` long or the input is smaller than the kernel
    /// (the networks check sizes before running).
    pub fn forward(&self, x: &[f32], n: usize, h: usize, w: usize) -> (Vec<f32>, usize, usize) {
        let (oh, ow) = self.out_size(x, n, h, w);
        let out = match self.im2col(x, n, h, w, oh, ow) {
            Some(cols) => self.linear.forward(&cols, n * oh * ow),
            None => self.linear.forward(x, n * h * w),
        };
        (out, oh, ow)
    }

    /// Adds the convolution of `x` to `out` (`n × oh × ow × cout`): a residual connection
    /// fused into the product.
    pub fn forward_add(&self, x: &[f32], n: usize, h: usize, w: usize, out: &mut [f32]) {
        let (oh, ow) = self.out_size(x, n, h, w);
        match self.im2col(x, n, h, w, oh, ow) {
            Some(cols) => self.linear.forward_add(&cols, n * oh * ow, out),
            None => self.linear.forward_add(x, n * h * w, out),
        }
    }

    fn out_size(&self, x: &[f32], n: usize, h: usize, w: usize) -> (usize, usize) {
        assert_eq!(x.len(), n * h * w * self.cin, "conv input is not n·h·w·cin");
        self.window
            .output_size(h, w)
            .expect("convolution input smaller than its kernel")
    }

    /// The im2col matrix, or `None` for a 1×1 stride-1 unpadded convolution (the input
    /// already is that matrix).
    fn im2col(
        &self,
        x: &[f32],
        n: usize,
        h: usize,
        w: usize,
        oh: usize,
        ow: usize,
    ) -> Option<Vec<f32>> {
        let Window {
            kh,
            kw,
            stride,
            pad,
        } = self.window;
        if kh == 1 && kw == 1 && stride == 1 && pad == 0 {
            return None;
        }
        let c = self.cin;
        let row = kh * kw * c;
        let mut cols = vec![0.0; n * oh * ow * row];
        // One task per output image row: `ow` field rows.
        cols.par_chunks_mut(ow * row)
            .enumerate()
            .for_each(|(task, out)| {
                let (b, oy) = (task / oh, task % oh);
                let image = &x[b * h * w * c..(b + 1) * h * w * c];
                for ox in 0..ow {
                    let field = &mut out[ox * row..(ox + 1) * row];
                    for ky in 0..kh {
                        let iy = (oy * stride + ky) as isize - pad as isize;
                        if iy < 0 || iy >= h as isize {
                            continue; // stays zero: padding
                        }
                        for kx in 0..kw {
                            let ix = (ox * stride + kx) as isize - pad as isize;
                            if ix < 0 || ix >= w as isize {
                                continue;
                            }
                            let src = (iy as usize * w + ix as usize) * c;
                            let dst = (ky * kw + kx) * c;
                            field[dst..dst + c].copy_from_slice(&image[src..src + c]);
                        }
                    }
                }
            });
        Some(cols)
    }
}

/// A depthwise convolution (`groups = channels`, one `kh × kw` filter per channel) with a bias.
#[derive(Debug, Clone)]
pub struct DepthwiseConv2d {
    /// `[kh, kw, c]`: the filter taps of all channels side by side.
    weight: Vec<f32>,
    bias: Vec<f32>,
    window: Window,
    channels: usize,
}

impl DepthwiseConv2d {
    /// Builds the layer from a weight in PyTorch's layout `[c, 1, kh, kw]` and `c` biases.
    pub fn new(
        weight: &[f32],
        bias: Vec<f32>,
        channels: usize,
        window: Window,
    ) -> Result<Self, ShapeError> {
        let taps = window.kh * window.kw;
        if weight.len() != channels * taps || bias.len() != channels {
            return Err(ShapeError {
                expected: format!(
                    "{channels}x1x{}x{} depthwise weight and {channels} biases",
                    window.kh, window.kw
                ),
                found: format!("{} weights, {} biases", weight.len(), bias.len()),
            });
        }
        let mut permuted = vec![0.0; weight.len()];
        for ch in 0..channels {
            for t in 0..taps {
                permuted[t * channels + ch] = weight[ch * taps + t];
            }
        }
        Ok(Self {
            weight: permuted,
            bias,
            window,
            channels,
        })
    }

    /// Channels in and out.
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Convolves `n` images of `h × w × c`; returns `n × oh × ow × c` and `(oh, ow)`.
    ///
    /// Panics on a length mismatch or an input smaller than the kernel.
    pub fn forward(&self, x: &[f32], n: usize, h: usize, w: usize) -> (Vec<f32>, usize, usize) {
        let c = self.channels;
        assert_eq!(x.len(), n * h * w * c, "depthwise input is not n·h·w·c");
        let Window {
            kh,
            kw,
            stride,
            pad,
        } = self.window;
        let (oh, ow) = self
            .window
            .output_size(h, w)
            .expect("convolution input smaller than its kernel");
        let mut out = vec![0.0; n * oh * ow * c];
        out.par_chunks_mut(ow * c)
            .enumerate()
            .for_each(|(task, out_row)| {
                let (b, oy) = (task / oh, task % oh);
                let image = &x[b * h * w * c..(b + 1) * h * w * c];
                for (ox, acc) in out_row.chunks_exact_mut(c).enumerate() {
                    acc.copy_from_slice(&self.bias);
                    for ky in 0..kh {
                        let iy = (oy * stride + ky) as isize - pad as isize;
                        if iy < 0 || iy >= h as isize {
                            continue;
                        }
                        for kx in 0..kw {
                            let ix = (ox * stride + kx) as isize - pad as isize;
                            if ix < 0 || ix >= w as isize {
                                continue;
                            }
                            let src = (iy as usize * w + ix as usize) * c;
                            let taps = &self.weight[(ky * kw + kx) * c..(ky * kw + kx + 1) * c];
                            for ((a, &v), &t) in acc.iter_mut().zip(&image[src..src + c]).zip(taps)
                            {
                                *a += v * t;
                            }
                        }
                    }
                }
            });
        (out, oh, ow)
    }
}

/// Max pooling over `k × k` windows, PyTorch's `MaxPool2d(k, stride, pad)` (padding never
/// wins, `ceil_mode=False`). Returns the output and its size; panics if the input is smaller
/// than the window.
pub fn max_pool2d(
    x: &[f32],
    n: usize,
    h: usize,
    w: usize,
    c: usize,
    window: Window,
) -> (Vec<f32>, usize, usize) {
    assert_eq!(x.len(), n * h * w * c, "pool input is not n·h·w·c");
    let (oh, ow) = window
        .output_size(h, w)
        .expect("pooling input smaller than its window");
    let mut out = vec![f32::NEG_INFINITY; n * oh * ow * c];
    out.par_chunks_mut(ow * c)
        .enumerate()
        .for_each(|(task, out_row)| {
            let (b, oy) = (task / oh, task % oh);
            let image = &x[b * h * w * c..(b + 1) * h * w * c];
            for (ox, acc) in out_row.chunks_exact_mut(c).enumerate() {
                for ky in 0..window.kh {
                    let iy = (oy * window.stride + ky) as isize - window.pad as isize;
                    if iy < 0 || iy >= h as isize {
                        continue;
                    }
                    for kx in 0..window.kw {
                        let ix = (ox * window.stride + kx) as isize - window.pad as isize;
                        if ix < 0 || ix >= w as isize {
                            continue;
                        }
                        let src = (iy as usize * w + ix as usize) * c;
                        for (a, &v) in acc.iter_mut().zip(&image[src..src + c]) {
                            *a = a.max(v);
                        }
                    }
                }
            }
        });
    (out, oh, ow)
}

/// PyTorch's `AdaptiveAvgPool2d((oh, ow))`: output cell `(i, j)` averages input rows
/// `floor(i·h/oh) .. ceil((i+1)·h/oh)` and the same for columns. `(1, 1)` is global
/// average pooling.
pub fn adaptive_avg_pool2d(
    x: &[f32],
    n: usize,
    h: usize,
    w: usize,
    c: usize,
    oh: usize,
    ow: usize,
) -> Vec<f32> {
    assert_eq!(x.len(), n * h * w * c, "pool input is not n·h·w·c");
    let mut out = vec![0.0; n * oh * ow * c];
    for b in 0..n {
        let image = &x[b * h * w * c..(b + 1) * h * w * c];
        for i in 0..oh {
            let (y0, y1) = (i * h / oh, ((i + 1) * h).div_ceil(oh));
            for j in 0..ow {
                let (x0, x1) = (j * w / ow, ((j + 1) * w).div_ceil(ow));
                let acc = &mut out[((b * oh + i) * ow + j) * c..((b * oh + i) * ow + j + 1) * c];
                for y in y0..y1 {
                    for xx in x0..x1 {
                        let src = (y * w + xx) * c;
                        for (a, &v) in acc.iter_mut().zip(&image[src..src + c]) {
                            *a += v;
                        }
                    }
                }
                let count = ((y1 - y0) * (x1 - x0)) as f32;
                acc.iter_mut().for_each(|a| *a /= count);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Direct NCHW-indexed convolution, the definition, for comparison.
    #[allow(clippy::too_many_arguments)]
    fn reference_conv(
        x: &[f32],
        h: usize,
        w: usize,
        cin: usize,
        weight: &[f32],
        bias: &[f32],
        cout: usize,
        win: Window,
    ) -> Vec<f32> {
        let (oh, ow) = win.output_size(h, w).unwrap();
        let mut out = vec![0.0; oh * ow * cout];
        for oy in 0..oh {
            for ox in 0..ow {
                for o in 0..cout {
                    let mut s = bias[o] as f64;
                    for i in 0..cin {
                        for ky in 0..win.kh {
                            for kx in 0..win.kw {
                                let iy = (oy * win.stride + ky) as isize - win.pad as isize;
                                let ix = (ox * win.stride + kx) as isize - win.pad as isize;
                                if iy < 0 || ix < 0 || iy >= h as isize || ix >= w as isize {
                                    continue;
                                }
                                let v = x[(iy as usize * w + ix as usize) * cin + i] as f64;
                                let k = weight[((o * cin + i) * win.kh + ky) * win.kw + kx] as f64;
                                s += v * k;
                            }
                        }
                    }
                    out[(oy * ow + ox) * cout + o] = s as f32;
                }
            }
        }
        out
    }

    fn values(len: usize, seed: u32) -> Vec<f32> {
        (0..len)
            .map(|i| {
                (((i as u32).wrapping_mul(2654435761).wrapping_add(seed) >> 16) % 200) as f32
                    / 100.0
                    - 1.0
            })
            .collect()
    }

    #[test]
    fn conv_matches_the_definition() {
        for (k, stride, pad) in [(3, 1, 1), (3, 2, 1), (7, 2, 3), (1, 1, 0), (1, 2, 0)] {
            let (h, w, cin, cout) = (9, 7, 5, 6);
            let win = Window {
                kh: k,
                kw: k,
                stride,
                pad,
            };
            let x = values(h * w * cin, 1);
            let weight = values(cout * cin * k * k, 2);
            let bias = values(cout, 3);
            let conv = Conv2d::new(&weight, Some(bias.clone()), cout, cin, win).unwrap();
            let (y, oh, ow) = conv.forward(&x, 1, h, w);
            assert_eq!((oh, ow), win.output_size(h, w).unwrap());
            let want = reference_conv(&x, h, w, cin, &weight, &bias, cout, win);
            for (a, b) in y.iter().zip(&want) {
                assert!((a - b).abs() < 1e-4, "k{k} s{stride} p{pad}: {a} vs {b}");
            }
            let mut acc = vec![1.0; y.len()];
            conv.forward_add(&x, 1, h, w, &mut acc);
            for (a, b) in acc.iter().zip(&y) {
                assert!((a - 1.0 - b).abs() < 1e-4);
            }
        }
    }

    #[test]
    fn depthwise_matches_the_definition_per_channel() {
        let (h, w, c) = (6, 5, 4);
        let win = Window {
            kh: 3,
            kw: 3,
            stride: 2,
            pad: 1,
        };
        let x = values(h * w * c, 4);
        let weight = values(c * 9, 5);
        let bias = values(c, 6);
        let (y, oh, ow) = DepthwiseConv2d::new(&weight, bias.clone(), c, win)
            .unwrap()
            .forward(&x, 1, h, w);
        // A depthwise convolution is a dense one whose weight is zero across channels.
        let mut dense = vec![0.0; c * c * 9];
        for ch in 0..c {
            dense[(ch * c + ch) * 9..(ch * c + ch + 1) * 9]
                .copy_from_slice(&weight[ch * 9..(ch + 1) * 9]);
        }
        let want = reference_conv(&x, h, w, c, &dense, &bias, c, win);
        assert_eq!(y.len(), oh * ow * c);
        for (a, b) in y.iter().zip(&want) {
            assert!((a - b).abs() < 1e-5);
        }
    }

    #[test]
    fn pools_match_hand_computed_values() {
        // One 4×4 single-channel image 0..15.
        let x: Vec<f32> = (0..16).map(|v| v as f32).collect();
        let win = Window {
            kh: 3,
            kw: 3,
            stride: 2,
            pad: 1,
        };
        let (y, oh, ow) = max_pool2d(&x, 1, 4, 4, 1, win);
        assert_eq!((oh, ow), (2, 2));
        assert_eq!(y, vec![5.0, 7.0, 13.0, 15.0]);
        assert_eq!(adaptive_avg_pool2d(&x, 1, 4, 4, 1, 1, 1), vec![7.5]);
        // 4 → 3 cells: rows 0..2, 1..3, 2..4 (overlapping, as PyTorch does).
        let y = adaptive_avg_pool2d(&x, 1, 4, 4, 1, 3, 1);
        assert_eq!(y, vec![3.5, 7.5, 11.5]);
    }
}
