//! torchvision's ResNet ("v1.5": a bottleneck's stride sits on its 3×3 convolution) with
//! basic or bottleneck blocks, any number of blocks per stage and any width (wide variants).

use super::{child_indices, Trace};
use crate::error::{Error, Result};
use crate::layers::{conv_act, global_pool, linear, Act, ConvAct, FeatureMap};
use crate::state_dict::StateDict;
use embedkit_kernels::conv::{max_pool2d, Window};
use embedkit_kernels::linear::Linear;

/// Block type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BlockKind {
    Basic,
    Bottleneck,
}

/// One residual block: its convolutions in order and the projection of the shortcut.
#[derive(Debug)]
struct Block {
    convs: Vec<ConvAct>,
    downsample: Option<ConvAct>,
}

/// A loaded ResNet.
#[derive(Debug)]
pub struct ResNet {
    kind: BlockKind,
    blocks_per_stage: Vec<usize>,
    /// Width of the first stage's 3×3 convolutions (64 standard, 128 wide).
    width: usize,
    stem: ConvAct,
    stages: Vec<Vec<Block>>,
    fc: Linear,
}

impl ResNet {
    pub(crate) fn from_state_dict(sd: &mut StateDict) -> Result<Self> {
        let kind = if sd.contains("layer1.0.conv3.weight") {
            BlockKind::Bottleneck
        } else {
            BlockKind::Basic
        };
        let stem = conv_act(sd, "conv1", Some("bn1"), 2, Act::Relu)?;
        let mut stages = Vec::new();
        let mut blocks_per_stage = Vec::new();
        let width = sd.conv_shape("layer1.0.conv1.weight")?[0];
        for s in 1..=4 {
            let layer = format!("layer{s}");
            let blocks = child_indices(sd, &layer);
            if blocks.is_empty() || blocks != (0..blocks.len()).collect::<Vec<_>>() {
                return Err(Error::arch(format!(
                    "ResNet stage {layer} has blocks {blocks:?}; expected 0, 1, ..."
                )));
            }
            blocks_per_stage.push(blocks.len());
            let mut stage = Vec::new();
            for b in blocks {
                let p = format!("{layer}.{b}");
                let stride = if s > 1 && b == 0 { 2 } else { 1 };
                // conv2 is [width, width / groups, 3, 3]: equal sides unless grouped.
                let [out, inp, _, _] = sd.conv_shape(&format!("{p}.conv2.weight"))?;
                let groups_ok = out == inp;
                if !groups_ok {
                    return Err(Error::arch(format!(
                        "{p}.conv2 is a grouped convolution (ResNeXt), which is not supported"
                    )));
                }
                let convs = match kind {
                    BlockKind::Basic => vec![
                        conv_act(
                            sd,
                            &format!("{p}.conv1"),
                            Some(&format!("{p}.bn1")),
                            stride,
                            Act::Relu,
                        )?,
                        conv_act(
                            sd,
                            &format!("{p}.conv2"),
                            Some(&format!("{p}.bn2")),
                            1,
                            Act::Relu,
                        )?,
                    ],
                    BlockKind::Bottleneck => vec![
                        conv_act(
                            sd,
                            &format!("{p}.conv1"),
                            Some(&format!("{p}.bn1")),
                            1,
                            Act::Relu,
                        )?,
                        conv_act(
                            sd,
                            &format!("{p}.conv2"),
                            Some(&format!("{p}.bn2")),
                            stride,
                            Act::Relu,
                        )?,
                        conv_act(
                            sd,
                            &format!("{p}.conv3"),
                            Some(&format!("{p}.bn3")),
                            1,
                            Act::Relu,
                        )?,
                    ],
                };
                let downsample = if sd.contains(&format!("{p}.downsample.0.weight")) {
                    Some(conv_act(
                        sd,
                        &format!("{p}.downsample.0"),
                        Some(&format!("{p}.downsample.1")),
                        stride,
                        Act::Identity,
                    )?)
                } else {
                    None
                };
                stage.push(Block { convs, downsample });
            }
            stages.push(stage);
        }
        let fc = linear(sd, "fc")?;
        let net = Self {
            kind,
            blocks_per_stage,
            width,
            stem,
            stages,
            fc,
        };
        net.check_widths()?;
        Ok(net)
    }

    /// Every convolution reads what the previous one wrote, and the shortcut matches.
    fn check_widths(&self) -> Result<()> {
        let mut c = self.stem.out_channels();
        for (s, stage) in self.stages.iter().enumerate() {
            for (b, block) in stage.iter().enumerate() {
                let out = block.convs.last().map_or(c, |l| l.out_channels());
                let shortcut = block.downsample.as_ref().map_or(c, |d| d.out_channels());
                if shortcut != out || (block.downsample.is_none() && s > 0 && b == 0) {
                    return Err(Error::arch(format!(
                        "layer{}.{b}: the shortcut does not match the block output ({shortcut} vs \
                         {out} channels, or a stride-2 block without downsample)",
                        s + 1
                    )));
                }
                c = out;
            }
        }
        if self.fc.in_features() != c {
            return Err(Error::arch(format!(
                "fc reads {} features but the last stage gives {c}",
                self.fc.in_features()
            )));
        }
        Ok(())
    }

    pub(crate) fn name(&self) -> String {
        let bps = self.blocks_per_stage.as_slice();
        let depth = match (self.kind, bps) {
            (BlockKind::Basic, [2, 2, 2, 2]) => Some(18),
            (BlockKind::Basic, [3, 4, 6, 3]) => Some(34),
            (BlockKind::Bottleneck, [3, 4, 6, 3]) => Some(50),
            (BlockKind::Bottleneck, [3, 4, 23, 3]) => Some(101),
            (BlockKind::Bottleneck, [3, 8, 36, 3]) => Some(152),
            _ => None,
        };
        match (depth, self.width) {
            (Some(d), 64) => format!("resnet{d}"),
            (Some(d), 128) if self.kind == BlockKind::Bottleneck => format!("wide_resnet{d}_2"),
            _ => format!(
                "resnet({}, blocks {bps:?}, width {})",
                match self.kind {
                    BlockKind::Basic => "basic",
                    BlockKind::Bottleneck => "bottleneck",
                },
                self.width
            ),
        }
    }

    pub(crate) fn dimensions(&self) -> usize {
        self.fc.in_features()
    }

    pub(crate) fn classes(&self) -> usize {
        self.fc.out_features()
    }

    pub(crate) fn forward(&self, x: FeatureMap, trace: &mut Trace) -> (Vec<f32>, Vec<f32>) {
        let x = self.stem.forward(&x);
        let pool = Window {
            kh: 3,
            kw: 3,
            stride: 2,
            pad: 1,
        };
        let (data, h, w) = max_pool2d(&x.data, x.n, x.h, x.w, x.c, pool);
        let mut x = FeatureMap { data, h, w, ..x };
        trace.record(|| "stem".into(), &x);
        for (s, stage) in self.stages.iter().enumerate() {
            for block in stage {
                let (last, inner) = block.convs.split_last().expect("blocks have convolutions");
                let mut y = inner[0].forward(&x);
                for conv in &inner[1..] {
                    y = conv.forward(&y);
                }
                let shortcut = match &block.downsample {
                    Some(d) => d.forward(&x),
                    None => x,
                };
                x = last.forward_add(&y, shortcut);
            }
            trace.record(|| format!("layer{}", s + 1), &x);
        }
        let pooled = global_pool(&x);
        let logits = self.fc.forward(&pooled, x.n);
        (pooled, logits)
    }
}
