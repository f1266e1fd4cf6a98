//! sentence-transformers' `Dense` module: a linear layer plus activation after pooling.

use crate::error::{Error, Result};
use crate::folder::read_json;
use crate::weights::WeightFile;
use embedkit_kernels::linear::Linear;
use embedkit_kernels::ops::{self, Activation};
use serde::Deserialize;
use std::path::Path;

#[derive(Deserialize)]
struct DenseConfig {
    in_features: usize,
    out_features: usize,
    #[serde(default = "default_activation")]
    activation_function: String,
}

fn default_activation() -> String {
    "torch.nn.modules.activation.Tanh".into()
}

/// A loaded `Dense` module.
pub struct Dense {
    linear: Linear,
    activation: Activation,
}

impl Dense {
    /// Loads `config.json` and the weights (`model.safetensors` or `pytorch_model.bin`) from a
    /// `2_Dense`-style folder.
    pub fn load(dir: &Path) -> Result<Self> {
        let config_path = dir.join("config.json");
        let cfg: DenseConfig = read_json(&config_path)?;
        let activation = match cfg.activation_function.rsplit('.').next().unwrap_or("") {
            "Tanh" => Activation::Tanh,
            "Identity" => Activation::Identity,
            "ReLU" => Activation::Relu,
            "GELU" => Activation::GeluErf,
            "SiLU" => Activation::Silu,
            other => {
                return Err(Error::config(
                    config_path,
                    format!("unsupported Dense activation {other}"),
                ))
            }
        };
        let w = WeightFile::open_folder(dir, &["", "linear."])?;
        let linear = w.linear("linear", cfg.out_features, cfg.in_features)?;
        Ok(Self { linear, activation })
    }

    /// Output width.
    pub fn out_features(&self) -> usize {
        self.linear.out_features()
    }

    /// Applies the layer to one pooled vector.
    pub fn forward(&self, x: &[f32]) -> Result<Vec<f32>> {
        if x.len() != self.linear.in_features() {
            return Err(Error::InvalidInput(format!(
                "Dense module expects {} inputs, pooling gives {}",
                self.linear.in_features(),
                x.len()
            )));
        }
        let mut y = self.linear.forward(x, 1);
        ops::activate_in_place(&mut y, self.activation);
        Ok(y)
    }
}
