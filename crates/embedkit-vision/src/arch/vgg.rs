//! torchvision's VGG: 3×3 convolutions (with or without batch norm) and 2×2 max pools in
//! `features`, `AdaptiveAvgPool2d((7, 7))`, then `classifier` = Linear, ReLU, Dropout,
//! Linear, ReLU, Dropout, Linear. The embedding is fc7 after its ReLU.

use super::{child_indices, Trace};
use crate::error::{Error, Result};
use crate::layers::{conv_act, linear, Act, ConvAct, FeatureMap};
use crate::state_dict::StateDict;
use embedkit_kernels::conv::{adaptive_avg_pool2d, max_pool2d, Window};
use embedkit_kernels::linear::Linear;

/// The side of the classifier's input grid.
const GRID: usize = 7;

#[derive(Debug)]
enum Layer {
    Conv(ConvAct),
    MaxPool,
}

/// A loaded VGG.
#[derive(Debug)]
pub struct Vgg {
    layers: Vec<Layer>,
    batch_norm: bool,
    fc6: Linear,
    fc7: Linear,
    fc8: Linear,
}

impl Vgg {
    pub(crate) fn from_state_dict(sd: &mut StateDict) -> Result<Self> {
        // Module indices of `features`: conv (+ bn) + relu, and pools in the gaps between.
        let convs: Vec<usize> = child_indices(sd, "features")
            .into_iter()
            .filter(
                |i| matches!(sd.shape(&format!("features.{i}.weight")), Some(s) if s.len() == 4),
            )
            .collect();
        let Some(&first) = convs.first() else {
            return Err(Error::arch("VGG without convolutions in features"));
        };
        let batch_norm = sd.contains(&format!("features.{}.running_mean", first + 1));
        let step = if batch_norm { 3 } else { 2 };
        let mut layers = Vec::new();
        let mut expected = 0;
        for &i in &convs {
            match i.checked_sub(expected) {
                Some(0) => {}
                Some(1) => layers.push(Layer::MaxPool),
                _ => {
                    return Err(Error::arch(format!(
                        "VGG features.{i} is not where a convolution can follow the previous one"
                    )))
                }
            }
            let bn = batch_norm.then(|| format!("features.{}", i + 1));
            layers.push(Layer::Conv(conv_act(
                sd,
                &format!("features.{i}"),
                bn.as_deref(),
                1,
                Act::Relu,
            )?));
            expected = i + step;
        }
        layers.push(Layer::MaxPool); // every torchvision configuration ends with a pool
        let channels = layers
            .iter()
            .rev()
            .find_map(|l| match l {
                Layer::Conv(c) => Some(c.out_channels()),
                Layer::MaxPool => None,
            })
            .ok_or_else(|| Error::arch("VGG without convolutions"))?;
        let fc6 = fc6_hwc(sd, channels)?;
        let fc7 = linear(sd, "classifier.3")?;
        let fc8 = linear(sd, "classifier.6")?;
        if fc7.in_features() != fc6.out_features() || fc8.in_features() != fc7.out_features() {
            return Err(Error::arch("VGG classifier widths do not chain"));
        }
        Ok(Self {
            layers,
            batch_norm,
            fc6,
            fc7,
            fc8,
        })
    }

    pub(crate) fn name(&self) -> String {
        let convs = self
            .layers
            .iter()
            .filter(|l| matches!(l, Layer::Conv(_)))
            .count();
        let bn = if self.batch_norm { "_bn" } else { "" };
        // Depth counts the three classifier layers.
        format!("vgg{}{bn}", convs + 3)
    }

    pub(crate) fn dimensions(&self) -> usize {
        self.fc7.out_features()
    }

    pub(crate) fn classes(&self) -> usize {
        self.fc8.out_features()
    }

    pub(crate) fn forward(&self, mut x: FeatureMap, trace: &mut Trace) -> (Vec<f32>, Vec<f32>) {
        let pool = Window {
            kh: 2,
            kw: 2,
            stride: 2,
            pad: 0,
        };
        let mut pools = 0;
        for layer in &self.layers {
            x = match layer {
                Layer::Conv(c) => c.forward(&x),
                Layer::MaxPool => {
                    let (data, h, w) = max_pool2d(&x.data, x.n, x.h, x.w, x.c, pool);
                    let y = FeatureMap { data, h, w, ..x };
                    trace.record(|| format!("pool{pools}"), &y);
                    pools += 1;
                    y
                }
            };
        }
        let flat = if (x.h, x.w) == (GRID, GRID) {
            x.data
        } else {
            adaptive_avg_pool2d(&x.data, x.n, x.h, x.w, x.c, GRID, GRID)
        };
        let mut h = self.fc6.forward(&flat, x.n);
        Act::Relu.apply(&mut h);
        let mut fc7 = self.fc7.forward(&h, x.n);
        Act::Relu.apply(&mut fc7);
        let logits = self.fc8.forward(&fc7, x.n);
        (fc7, logits)
    }
}

/// Loads fc6 (`classifier.0`). PyTorch flattens the 7×7 grid channel-major
/// (`c·49 + y·7 + x`) and our maps are channel-minor (`(y·7 + x)·channels + c`), so its input
/// columns are permuted once, here.
fn fc6_hwc(sd: &mut StateDict, channels: usize) -> Result<Linear> {
    let cells = GRID * GRID;
    let [out, inp] = sd.linear_shape("classifier.0.weight")?;
    if inp != channels * cells {
        return Err(Error::arch(format!(
            "classifier.0 reads {inp} features; the last convolution gives {channels}x7x7"
        )));
    }
    let weight = sd.take("classifier.0.weight", &[out, inp])?;
    let bias = sd.take("classifier.0.bias", &[out])?;
    let mut permuted = vec![0.0; weight.len()];
    for (row, dst) in weight.chunks_exact(inp).zip(permuted.chunks_exact_mut(inp)) {
        for c in 0..channels {
            for p in 0..cells {
                dst[p * channels + c] = row[c * cells + p];
            }
        }
    }
    Linear::new(permuted, Some(bias), out, inp)
        .map_err(|e| Error::arch(format!("classifier.0: {e:?}")))
}
