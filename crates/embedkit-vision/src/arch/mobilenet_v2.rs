//! torchvision's MobileNetV2: a 3×3 stem, 17 inverted residual blocks (1×1 expansion, 3×3
//! depthwise, 1×1 linear projection, residual when shapes allow), a 1×1 convolution to 1280
//! channels, global average pooling (the embedding) and one linear classifier.

use super::{child_indices, Trace};
use crate::error::{Error, Result};
use crate::layers::{
    conv_act, depthwise_act, global_pool, linear, Act, ConvAct, DepthwiseAct, FeatureMap,
};
use crate::state_dict::StateDict;
use embedkit_kernels::linear::Linear;

/// Strides of the seven block groups (torchvision's `inverted_residual_setting`); a group is
/// a run of blocks with the same output width, and only its first block strides.
const GROUP_STRIDES: [usize; 7] = [1, 2, 2, 2, 1, 2, 1];

#[derive(Debug)]
struct Block {
    expand: Option<ConvAct>,
    depthwise: DepthwiseAct,
    project: ConvAct,
    residual: bool,
}

/// A loaded MobileNetV2.
#[derive(Debug)]
pub struct MobileNetV2 {
    stem: ConvAct,
    blocks: Vec<Block>,
    head: ConvAct,
    classifier: Linear,
}

impl MobileNetV2 {
    pub(crate) fn from_state_dict(sd: &mut StateDict) -> Result<Self> {
        let features = child_indices(sd, "features");
        let last = *features.last().expect("features.0 exists");
        if features != (0..=last).collect::<Vec<_>>() || last < 2 {
            return Err(Error::arch(format!(
                "MobileNetV2 features are {features:?}; expected 0..N"
            )));
        }
        let stem = conv_act(sd, "features.0.0", Some("features.0.1"), 2, Act::Relu6)?;
        let mut c = stem.out_channels();
        let mut blocks = Vec::new();
        let mut group = 0;
        let mut group_width = None;
        for i in 1..last {
            let p = format!("features.{i}.conv");
            let expanded = sd.contains(&format!("{p}.3.weight"));
            let proj = if expanded { 2 } else { 1 };
            let [out, _, _, _] = sd.conv_shape(&format!("{p}.{proj}.weight"))?;
            if group_width.is_some_and(|w| w != out) {
                group += 1;
            }
            let first_in_group = group_width != Some(out);
            group_width = Some(out);
            let stride = match GROUP_STRIDES.get(group) {
                Some(&s) if first_in_group => s,
                Some(_) => 1,
                None => {
                    return Err(Error::arch(
                        "MobileNetV2 with more than the 7 standard block groups",
                    ))
                }
            };
            let expand = if expanded {
                Some(conv_act(
                    sd,
                    &format!("{p}.0.0"),
                    Some(&format!("{p}.0.1")),
                    1,
                    Act::Relu6,
                )?)
            } else {
                None
            };
            let dw = if expanded { 1 } else { 0 };
            let depthwise = depthwise_act(
                sd,
                &format!("{p}.{dw}.0"),
                &format!("{p}.{dw}.1"),
                stride,
                Act::Relu6,
            )?;
            let project = conv_act(
                sd,
                &format!("{p}.{proj}"),
                Some(&format!("{p}.{}", proj + 1)),
                1,
                Act::Identity,
            )?;
            blocks.push(Block {
                expand,
                depthwise,
                project,
                residual: stride == 1 && c == out,
            });
            c = out;
        }
        if group + 1 != GROUP_STRIDES.len() {
            return Err(Error::arch(format!(
                "MobileNetV2 has {} block groups; the standard network has 7",
                group + 1
            )));
        }
        let head = conv_act(
            sd,
            &format!("features.{last}.0"),
            Some(&format!("features.{last}.1")),
            1,
            Act::Relu6,
        )?;
        let classifier = linear(sd, "classifier.1")?;
        if classifier.in_features() != head.out_channels() {
            return Err(Error::arch("classifier.1 does not read the last features"));
        }
        Ok(Self {
            stem,
            blocks,
            head,
            classifier,
        })
    }

    pub(crate) fn name(&self) -> String {
        "mobilenet_v2".into()
    }

    pub(crate) fn dimensions(&self) -> usize {
        self.head.out_channels()
    }

    pub(crate) fn classes(&self) -> usize {
        self.classifier.out_features()
    }

    pub(crate) fn forward(&self, x: FeatureMap, trace: &mut Trace) -> (Vec<f32>, Vec<f32>) {
        let mut x = self.stem.forward(&x);
        trace.record(|| "features.0".into(), &x);
        for (i, block) in self.blocks.iter().enumerate() {
            let hidden = match &block.expand {
                Some(e) => block.depthwise.forward(&e.forward(&x)),
                None => block.depthwise.forward(&x),
            };
            x = if block.residual {
                block.project.forward_add(&hidden, x)
            } else {
                block.project.forward(&hidden)
            };
            trace.record(|| format!("features.{}", i + 1), &x);
        }
        let x = self.head.forward(&x);
        let pooled = global_pool(&x);
        let logits = self.classifier.forward(&pooled, x.n);
        (pooled, logits)
    }
}
