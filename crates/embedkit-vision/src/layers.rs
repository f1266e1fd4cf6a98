//! Building blocks shared by the networks: feature maps, convolutions with their batch norm
//! folded in, activations.

use crate::error::{Error, Result};
use crate::state_dict::StateDict;
use embedkit_kernels::conv::{Conv2d, DepthwiseConv2d, Window};
use embedkit_kernels::linear::Linear;

/// torchvision's `BatchNorm2d` epsilon.
const BN_EPS: f32 = 1e-5;

/// A batch of images or activations, NHWC (`[n, h, w, c]`, row-major).
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureMap {
    /// The values.
    pub data: Vec<f32>,
    /// Batch size.
    pub n: usize,
    /// Height.
    pub h: usize,
    /// Width.
    pub w: usize,
    /// Channels.
    pub c: usize,
}

impl FeatureMap {
    /// Converts an NCHW tensor (PyTorch's layout, e.g. a `preprocessed.npy`) to NHWC.
    pub fn from_nchw(data: &[f32], n: usize, c: usize, h: usize, w: usize) -> Result<Self> {
        if data.len() != n * c * h * w {
            return Err(Error::InvalidInput(format!(
                "{} values are not a {n}x{c}x{h}x{w} tensor",
                data.len()
            )));
        }
        let mut out = vec![0.0; data.len()];
        for b in 0..n {
            for ch in 0..c {
                for p in 0..h * w {
                    out[(b * h * w + p) * c + ch] = data[(b * c + ch) * h * w + p];
                }
            }
        }
        Ok(Self {
            data: out,
            n,
            h,
            w,
            c,
        })
    }

    /// Per-image spatial mean of every channel: `n × c`.
    pub fn channel_means(&self) -> Vec<f32> {
        embedkit_kernels::conv::adaptive_avg_pool2d(
            &self.data, self.n, self.h, self.w, self.c, 1, 1,
        )
    }
}

/// Elementwise activation after a convolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Act {
    /// None (a projection before a residual sum).
    Identity,
    /// `max(x, 0)`.
    Relu,
    /// `min(max(x, 0), 6)` (MobileNet).
    Relu6,
}

impl Act {
    pub(crate) fn apply(self, x: &mut [f32]) {
        match self {
            Act::Identity => {}
            // Not `v.max(0.0)`: that turns NaN into 0 and would hide a broken model's NaN;
            // torch.relu keeps it, and so does this (NaN < 0 is false).
            Act::Relu => x.iter_mut().for_each(|v| {
                if *v < 0.0 {
                    *v = 0.0;
                }
            }),
            Act::Relu6 => x.iter_mut().for_each(|v| *v = v.clamp(0.0, 6.0)),
        }
    }
}

/// A convolution (batch norm folded in) followed by an activation.
#[derive(Debug)]
pub(crate) struct ConvAct {
    conv: Conv2d,
    act: Act,
}

impl ConvAct {
    pub(crate) fn out_channels(&self) -> usize {
        self.conv.out_channels()
    }

    pub(crate) fn forward(&self, x: &FeatureMap) -> FeatureMap {
        let (mut data, h, w) = self.conv.forward(&x.data, x.n, x.h, x.w);
        self.act.apply(&mut data);
        FeatureMap {
            data,
            n: x.n,
            h,
            w,
            c: self.conv.out_channels(),
        }
    }

    /// `act(residual + conv(x))`, reusing the residual's buffer.
    pub(crate) fn forward_add(&self, x: &FeatureMap, mut residual: FeatureMap) -> FeatureMap {
        self.conv
            .forward_add(&x.data, x.n, x.h, x.w, &mut residual.data);
        self.act.apply(&mut residual.data);
        residual
    }
}

/// A depthwise convolution (batch norm folded in) followed by an activation.
#[derive(Debug)]
pub(crate) struct DepthwiseAct {
    conv: DepthwiseConv2d,
    act: Act,
}

impl DepthwiseAct {
    pub(crate) fn forward(&self, x: &FeatureMap) -> FeatureMap {
        let (mut data, h, w) = self.conv.forward(&x.data, x.n, x.h, x.w);
        self.act.apply(&mut data);
        FeatureMap {
            data,
            n: x.n,
            h,
            w,
            c: x.c,
        }
    }
}

/// Batch norm `(x − mean) / sqrt(var + eps) · γ + β` as a per-channel `x · scale + shift`.
fn batch_norm(sd: &mut StateDict, bn: &str, channels: usize) -> Result<(Vec<f32>, Vec<f32>)> {
    let gamma = sd.take(&format!("{bn}.weight"), &[channels])?;
    let beta = sd.take(&format!("{bn}.bias"), &[channels])?;
    let mean = sd.take(&format!("{bn}.running_mean"), &[channels])?;
    let var = sd.take(&format!("{bn}.running_var"), &[channels])?;
    let scale: Vec<f32> = gamma
        .iter()
        .zip(&var)
        .map(|(g, v)| g / (v + BN_EPS).sqrt())
        .collect();
    let shift = beta
        .iter()
        .zip(&mean)
        .zip(&scale)
        .map(|((b, m), s)| b - m * s)
        .collect();
    Ok((scale, shift))
}

/// Loads `{conv}.weight` (and `{conv}.bias` if present) and, when `bn` is given, folds that
/// batch norm into it: `w' = w · scale`, `b' = b · scale + shift`. Returns the PyTorch-layout
/// weight, the bias and the shape.
fn folded(
    sd: &mut StateDict,
    conv: &str,
    bn: Option<&str>,
) -> Result<(Vec<f32>, Vec<f32>, [usize; 4])> {
    let name = format!("{conv}.weight");
    let shape = sd.conv_shape(&name)?;
    let [cout, cin, kh, kw] = shape;
    let mut weight = sd.take(&name, &shape)?;
    let bias_name = format!("{conv}.bias");
    let mut bias = if sd.contains(&bias_name) {
        sd.take(&bias_name, &[cout])?
    } else {
        vec![0.0; cout]
    };
    if let Some(bn) = bn {
        let (scale, shift) = batch_norm(sd, bn, cout)?;
        let per_out = cin * kh * kw;
        for (o, chunk) in weight.chunks_exact_mut(per_out).enumerate() {
            chunk.iter_mut().for_each(|v| *v *= scale[o]);
            bias[o] = bias[o] * scale[o] + shift[o];
        }
    }
    Ok((weight, bias, shape))
}

/// A square convolution `conv` (+ batch norm `bn`) with `stride` and "same" padding
/// (`k / 2`), as every torchvision classification network uses.
pub(crate) fn conv_act(
    sd: &mut StateDict,
    conv: &str,
    bn: Option<&str>,
    stride: usize,
    act: Act,
) -> Result<ConvAct> {
    let (weight, bias, [cout, cin, kh, kw]) = folded(sd, conv, bn)?;
    let window = Window {
        kh,
        kw,
        stride,
        pad: kh / 2,
    };
    let conv = Conv2d::new(&weight, Some(bias), cout, cin, window)
        .map_err(|e| Error::weights(sd.path(), format!("{conv}: {e:?}")))?;
    Ok(ConvAct { conv, act })
}

/// A depthwise 3×3 convolution (`[c, 1, k, k]` weight) + batch norm.
pub(crate) fn depthwise_act(
    sd: &mut StateDict,
    conv: &str,
    bn: &str,
    stride: usize,
    act: Act,
) -> Result<DepthwiseAct> {
    let (weight, bias, [c, one, kh, kw]) = folded(sd, conv, Some(bn))?;
    if one != 1 {
        return Err(Error::arch(format!(
            "{conv} is not a depthwise convolution"
        )));
    }
    let window = Window {
        kh,
        kw,
        stride,
        pad: kh / 2,
    };
    let conv = DepthwiseConv2d::new(&weight, bias, c, window)
        .map_err(|e| Error::weights(sd.path(), format!("{conv}: {e:?}")))?;
    Ok(DepthwiseAct { conv, act })
}

/// An `nn.Linear` `name` (`[out, in]` weight and a bias).
pub(crate) fn linear(sd: &mut StateDict, name: &str) -> Result<Linear> {
    let wname = format!("{name}.weight");
    let [out, inp] = sd.linear_shape(&wname)?;
    let weight = sd.take(&wname, &[out, inp])?;
    let bias = sd.take(&format!("{name}.bias"), &[out])?;
    Linear::new(weight, Some(bias), out, inp)
        .map_err(|e| Error::weights(sd.path(), format!("{name}: {e:?}")))
}

/// Global average pooling: `n × c`.
pub(crate) fn global_pool(x: &FeatureMap) -> Vec<f32> {
    x.channel_means()
}

#[cfg(test)]
mod tests {
    use super::Act;

    #[test]
    fn activations_keep_nan_as_torch_does() {
        let mut x = [f32::NAN, -1.5, 2.0, 7.0, f32::INFINITY];
        Act::Relu.apply(&mut x);
        assert!(x[0].is_nan());
        assert_eq!(x[1..], [0.0, 2.0, 7.0, f32::INFINITY]);
        let mut x = [f32::NAN, -1.5, 2.0, 7.0];
        Act::Relu6.apply(&mut x);
        assert!(x[0].is_nan());
        assert_eq!(x[1..], [0.0, 2.0, 6.0]);
    }
}
