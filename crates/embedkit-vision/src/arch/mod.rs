//! The networks, in torchvision's module layout (so torchvision `state_dict`s load as they
//! are), and the inference of which network a state dict holds.
//!
//! Each network reads its whole configuration (block type, blocks per stage, widths, number of
//! classes) from the tensor names and shapes. `--arch` is only a check: a name such as
//! `resnet50` or a family such as `vgg` that must agree with what the weights say.

mod mobilenet_v2;
mod resnet;
mod vgg;

use crate::error::{Error, Result};
use crate::layers::FeatureMap;
use crate::state_dict::StateDict;
pub use mobilenet_v2::MobileNetV2;
pub use resnet::ResNet;
pub use vgg::Vgg;

/// What one forward pass returns, rows in batch order.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    /// `n × dim` image embeddings: ResNet's global-average-pooled last stage, VGG's fc7 after
    /// its ReLU, MobileNetV2's pooled features.
    pub embedding: Vec<f32>,
    /// `n × classes` logits.
    pub logits: Vec<f32>,
    /// `(stage name, n × channels spatial means)` after each stage, only when traced:
    /// ResNet `stem`, `layer1`..`layer4`; VGG `pool0`..; MobileNetV2 `features.N`.
    pub stages: Vec<(String, Vec<f32>)>,
}

/// Records stage means when tracing.
pub(crate) struct Trace(Option<Vec<(String, Vec<f32>)>>);

impl Trace {
    pub(crate) fn record(&mut self, name: impl FnOnce() -> String, x: &FeatureMap) {
        if let Some(stages) = &mut self.0 {
            stages.push((name(), x.channel_means()));
        }
    }
}

/// A loaded network.
#[derive(Debug)]
pub enum Network {
    /// ResNet (basic or bottleneck blocks, any depth and width).
    ResNet(ResNet),
    /// VGG 11/13/16/19, with or without batch norm.
    Vgg(Vgg),
    /// MobileNetV2.
    MobileNetV2(MobileNetV2),
}

impl Network {
    /// Infers the network from `sd` and builds it (batch norms folded). `hint` (e.g.
    /// `resnet50`, `vgg16_bn`, `mobilenet_v2`, or a family `resnet` / `vgg`) must agree with
    /// the weights.
    pub fn from_state_dict(mut sd: StateDict, hint: Option<&str>) -> Result<Self> {
        let family = if sd.contains("layer1.0.conv1.weight") {
            "resnet"
        } else if sd.contains("features.0.0.weight") && sd.contains("features.1.conv.0.0.weight") {
            "mobilenet_v2"
        } else if sd.contains("features.0.weight") && sd.contains("classifier.0.weight") {
            "vgg"
        } else {
            return Err(Error::arch(format!(
                "{} does not hold a ResNet, VGG or MobileNetV2 state dict in torchvision's \
                 layout (no layer1.0.conv1.weight, features.0.weight or features.0.0.weight)",
                sd.path().display()
            )));
        };
        let net = match family {
            "resnet" => Self::ResNet(ResNet::from_state_dict(&mut sd)?),
            "vgg" => Self::Vgg(Vgg::from_state_dict(&mut sd)?),
            _ => Self::MobileNetV2(MobileNetV2::from_state_dict(&mut sd)?),
        };
        if let Some(hint) = hint {
            net.check_hint(hint)?;
        }
        Ok(net)
    }

    /// The torchvision name of the network (`resnet50`, `vgg16_bn`, `mobilenet_v2`), or a
    /// description for non-standard configurations (`resnet(basic, [1, 1, 1, 1], width 64)`).
    pub fn name(&self) -> String {
        match self {
            Self::ResNet(n) => n.name(),
            Self::Vgg(n) => n.name(),
            Self::MobileNetV2(n) => n.name(),
        }
    }

    /// Width of the embeddings.
    pub fn dimensions(&self) -> usize {
        match self {
            Self::ResNet(n) => n.dimensions(),
            Self::Vgg(n) => n.dimensions(),
            Self::MobileNetV2(n) => n.dimensions(),
        }
    }

    /// Number of classes of the classifier.
    pub fn classes(&self) -> usize {
        match self {
            Self::ResNet(n) => n.classes(),
            Self::Vgg(n) => n.classes(),
            Self::MobileNetV2(n) => n.classes(),
        }
    }

    /// Runs a batch of preprocessed images (NHWC, 3 channels).
    pub fn forward(&self, x: FeatureMap) -> Result<Output> {
        self.run(x, Trace(None))
    }

    /// [`forward`](Self::forward), also recording the spatial mean of every stage.
    pub fn forward_traced(&self, x: FeatureMap) -> Result<Output> {
        self.run(x, Trace(Some(Vec::new())))
    }

    fn run(&self, x: FeatureMap, mut trace: Trace) -> Result<Output> {
        if x.c != 3 || x.n == 0 || x.h < 32 || x.w < 32 {
            return Err(Error::InvalidInput(format!(
                "the network needs a non-empty batch of RGB images of at least 32x32, got \
                 {}x{}x{}x{}",
                x.n, x.h, x.w, x.c
            )));
        }
        let (embedding, logits) = match self {
            Self::ResNet(n) => n.forward(x, &mut trace),
            Self::Vgg(n) => n.forward(x, &mut trace),
            Self::MobileNetV2(n) => n.forward(x, &mut trace),
        };
        Ok(Output {
            embedding,
            logits,
            stages: trace.0.unwrap_or_default(),
        })
    }

    fn check_hint(&self, hint: &str) -> Result<()> {
        let name = self.name();
        let hint_l = hint.to_ascii_lowercase().replace('-', "_");
        let family = |n: &str| -> &'static str {
            if n.starts_with("resnet") || n.starts_with("wide_resnet") {
                "resnet"
            } else if n.starts_with("vgg") {
                "vgg"
            } else if n.starts_with("mobilenet_v2") || n == "mobilenetv2" {
                "mobilenet_v2"
            } else {
                ""
            }
        };
        if family(&hint_l).is_empty() {
            return Err(Error::arch(format!(
                "unknown --arch {hint:?} (supported: resnet18/34/50/101/152, \
                 wide_resnet50_2/101_2, vgg11/13/16/19[_bn], mobilenet_v2, or a family: \
                 resnet, vgg)"
            )));
        }
        let is_family_only =
            matches!(hint_l.as_str(), "resnet" | "vgg" | "mobilenetv2") || hint_l == "mobilenet_v2";
        let agrees = if is_family_only {
            family(&hint_l) == family(&name)
        } else {
            hint_l == name
        };
        if agrees {
            Ok(())
        } else {
            Err(Error::arch(format!(
                "--arch {hint} does not match the weights, which hold {name}"
            )))
        }
    }
}

/// The numbered children `prefix.0`, `prefix.1`, ... present in `sd` (as numbers, sorted).
pub(crate) fn child_indices(sd: &StateDict, prefix: &str) -> Vec<usize> {
    let mut out: Vec<usize> = sd
        .names()
        .filter_map(|n| n.strip_prefix(prefix)?.strip_prefix('.'))
        .filter_map(|rest| rest.split('.').next()?.parse().ok())
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}
