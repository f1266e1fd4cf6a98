//! Dense layers: `y = x · Wᵀ + b` on row-major token matrices.
//!
//! The weight is packed for the GEMM microkernel once, here at construction, so a forward
//! call only packs its activations; one call covers every token of a packed batch (no
//! padding rows are ever multiplied) and is split over the kernels' threads by the crate's
//! `gemm` module.

#[cfg(target_arch = "x86_64")]
use crate::gemm::bf16dot::{self, Engine, PackedPairs};
use crate::gemm::int8::PackedInt8;
#[cfg(target_arch = "x86_64")]
use crate::gemm::u8dot::{self, PackedQuads};
pub use crate::gemm::Bf16;
use crate::gemm::{self, Dest, PackedWeight};
use crate::ops::Activation;

/// How a layer keeps its weight in memory. Products always accumulate in f32.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WeightFormat {
    /// 4 bytes per weight: exact.
    #[default]
    F32,
    /// 2 bytes per weight (round to nearest even): half the memory and memory traffic; exact
    /// for weights that were bf16 in the first place. On CPUs that multiply bf16 pairs (AMX or
    /// AVX512-BF16, with the AVX-512 path in use) the activations are rounded to bf16 too and
    /// the products run on those instructions; elsewhere the weights are widened to f32.
    Bf16,
    /// 1 byte per weight, activations quantized per token at run time: integer products,
    /// about a quarter of f32's memory, approximate. Layers built with
    /// [`Linear::with_bounded_input`], where the CPU has those products
    /// ([`eight_bit_activations`]), take 8-bit activations (per token and group of 64
    /// inputs) with one weight scale per output channel; the others 16-bit activations with
    /// one weight scale per output channel and group of 64 inputs.
    Int8,
}

/// What keeps a layer's input within a range that 8-bit activations resolve (see
/// [`Linear::with_bounded_input`]).
#[derive(Debug, Clone, Copy)]
pub enum BoundedInput<'a> {
    /// A normalization's output (LayerNorm, RMSNorm) whose features have magnitudes about
    /// `magnitude` (`|γ| + |β|`, one per input feature), for a layer made of layers `parts`
    /// outputs wide (fused Q and K, then V: two; a plain layer: `&[out_features]`), each
    /// smoothed for its own weights.
    Normalized {
        /// Per input feature.
        magnitude: &'a [f32],
        /// Output widths, in order, adding up to the layer's.
        parts: &'a [usize],
    },
    /// Weighted means of bounded rows (attention's context: convex combinations of V's
    /// rows, no wider than V): quantized as they are.
    Averaged,
}

/// The packed weight in its storage format.
#[derive(Debug, Clone)]
enum Packed {
    F32(PackedWeight<f32>),
    Bf16(PackedWeight<Bf16>),
    /// bf16 weights in pairs for an engine that multiplies bf16 pairs (the AMX tile unit or
    /// AVX512-BF16), whose products also round the activations to bf16.
    #[cfg(target_arch = "x86_64")]
    Pairs(PackedPairs, Engine),
    Int8(PackedInt8),
    /// int8 weights for 8-bit activation products (AVX512-VNNI).
    #[cfg(target_arch = "x86_64")]
    Quads(PackedQuads),
}

impl Packed {
    fn new(weight: &[f32], n: usize, k: usize, format: WeightFormat) -> Self {
        match format {
            WeightFormat::F32 => Packed::F32(PackedWeight::new(weight, n, k)),
            WeightFormat::Bf16 => Self::bf16(weight, n, k),
            WeightFormat::Int8 => Packed::Int8(PackedInt8::new(weight, n, k)),
        }
    }

    /// bf16 weights: in pairs where the CPU multiplies bf16 pairs (on the AVX-512 path),
    /// otherwise for the f32 kernels, which widen them as they read.
    fn bf16(weight: &[f32], n: usize, k: usize) -> Self {
        #[cfg(target_arch = "x86_64")]
        if let Some(engine) = bf16dot::engine() {
            return Packed::Pairs(PackedPairs::new(weight, n, k), engine);
        }
        Packed::Bf16(PackedWeight::new(weight, n, k))
    }

    fn format(&self) -> WeightFormat {
        match self {
            Packed::F32(_) => WeightFormat::F32,
            Packed::Bf16(_) => WeightFormat::Bf16,
            #[cfg(target_arch = "x86_64")]
            Packed::Pairs(..) => WeightFormat::Bf16,
            Packed::Int8(_) => WeightFormat::Int8,
            #[cfg(target_arch = "x86_64")]
            Packed::Quads(_) => WeightFormat::Int8,
        }
    }

    fn to_row_major(&self) -> Vec<f32> {
        match self {
            Packed::F32(w) => w.to_row_major(),
            Packed::Bf16(w) => w.to_row_major(),
            #[cfg(target_arch = "x86_64")]
            Packed::Pairs(w, _) => w.to_row_major(),
            Packed::Int8(w) => w.to_row_major(),
            #[cfg(target_arch = "x86_64")]
            Packed::Quads(w) => w.to_row_major(),
        }
    }

    fn bytes(&self) -> usize {
        match self {
            Packed::F32(w) => w.bytes(),
            Packed::Bf16(w) => w.bytes(),
            #[cfg(target_arch = "x86_64")]
            Packed::Pairs(w, _) => w.bytes(),
            Packed::Int8(w) => w.bytes(),
            #[cfg(target_arch = "x86_64")]
            Packed::Quads(w) => w.bytes(),
        }
    }

    fn matmul(&self, x: &[f32], rows: usize, bias: Option<&[f32]>, out: Dest<'_>) {
        match self {
            Packed::F32(w) => gemm::matmul(x, rows, w, bias, out),
            Packed::Bf16(w) if crate::isa::bf16_rounds_inputs() => {
                // The numerics of bf16 pair products on a CPU without them (see
                // `bf16_rounds_inputs`).
                gemm::matmul(&Bf16::round_all(x), rows, w, bias, out)
            }
            Packed::Bf16(w) => gemm::matmul(x, rows, w, bias, out),
            #[cfg(target_arch = "x86_64")]
            Packed::Pairs(w, engine) => bf16dot::matmul(*engine, x, rows, w, bias, out),
            Packed::Int8(w) => gemm::int8::matmul(x, rows, w, bias, out),
            #[cfg(target_arch = "x86_64")]
            Packed::Quads(w) => u8dot::matmul(x, rows, w, bias, out),
        }
    }
}

/// A linear layer in PyTorch's layout: `weight` is `[out_features, in_features]`, row-major.
#[derive(Debug, Clone)]
pub struct Linear {
    weight: Packed,
    bias: Option<Vec<f32>>,
    in_features: usize,
    out_features: usize,
}

/// Shape mismatch found when building a [`Linear`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeError {
    /// What was expected, in words.
    pub expected: String,
    /// What was found.
    pub found: String,
}

impl Linear {
    /// Builds an f32 layer, checking that `weight` holds `out_features × in_features` values
    /// and the bias (if any) `out_features`.
    pub fn new(
        weight: Vec<f32>,
        bias: Option<Vec<f32>>,
        out_features: usize,
        in_features: usize,
    ) -> Result<Self, ShapeError> {
        Self::with_format(weight, bias, out_features, in_features, WeightFormat::F32)
    }

    /// [`Linear::new`] keeping the weight in `format` (the bias stays f32).
    pub fn with_format(
        weight: Vec<f32>,
        bias: Option<Vec<f32>>,
        out_features: usize,
        in_features: usize,
        format: WeightFormat,
    ) -> Result<Self, ShapeError> {
        check_parts(&weight, bias.as_deref(), out_features, in_features)?;
        Ok(Self {
            weight: Packed::new(&weight, out_features, in_features, format),
            bias,
            in_features,
            out_features,
        })
    }

    /// [`Linear::with_format`] for a layer whose input is bounded as `input` says. With
    /// [`WeightFormat::Int8`], where [`eight_bit_activations`] is true, the layer quantizes
    /// its activations to 8 bits per row and group of 64 features (after smoothing a
    /// normalized input: see the `gemm::u8dot` module) and multiplies bytes; other formats
    /// and CPUs ignore `input`.
    pub fn with_bounded_input(
        weight: Vec<f32>,
        bias: Option<Vec<f32>>,
        (out_features, in_features): (usize, usize),
        format: WeightFormat,
        input: BoundedInput<'_>,
    ) -> Result<Self, ShapeError> {
        let (n, k) = (out_features, in_features);
        check_parts(&weight, bias.as_deref(), n, k)?;
        // Checked on every CPU, so a bad caller fails the same way everywhere.
        if let BoundedInput::Normalized { magnitude, parts } = input {
            if magnitude.len() != k {
                return Err(ShapeError {
                    expected: format!("{k} input magnitudes"),
                    found: format!("{}", magnitude.len()),
                });
            }
            if parts.iter().sum::<usize>() != n {
                return Err(ShapeError {
                    expected: format!("parts adding up to {n} outputs"),
                    found: format!("{parts:?}"),
                });
            }
        }
        #[cfg(target_arch = "x86_64")]
        if format == WeightFormat::Int8 && eight_bit_activations() {
            let packed = match input {
                BoundedInput::Normalized { magnitude, parts } => {
                    PackedQuads::new(&weight, n, k, parts, magnitude)
                }
                BoundedInput::Averaged => PackedQuads::unsmoothed(&weight, n, k),
            };
            return Ok(Self {
                weight: Packed::Quads(packed),
                bias,
                in_features,
                out_features,
            });
        }
        Self::with_format(weight, bias, out_features, in_features, format)
    }

    /// Stacks layers that read the same input into one (e.g. Q, K and V into a fused QKV
    /// projection): the output columns are the layers' outputs side by side.
    ///
    /// The parts' weights are unpacked and the result packed again (load time only), in the
    /// first part's format (unpacking and re-packing bf16 is exact).
    pub fn concat(parts: &[Linear]) -> Result<Self, ShapeError> {
        let in_features = parts.first().map_or(0, |p| p.in_features);
        if let Some(p) = parts.iter().find(|p| p.in_features != in_features) {
            return Err(ShapeError {
                expected: format!("{in_features} input features in every part"),
                found: format!("{}", p.in_features),
            });
        }
        #[cfg(target_arch = "x86_64")]
        if parts.iter().any(|p| matches!(p.weight, Packed::Quads(_))) {
            // Unpacking would lose the smoothing and quantize the weights a second time.
            return Err(ShapeError {
                expected: "layers without 8-bit activations (fuse those with \
                           `with_bounded_input`'s parts instead)"
                    .to_string(),
                found: "a layer built with 8-bit activations".to_string(),
            });
        }
        let out_features = parts.iter().map(|p| p.out_features).sum();
        let weight = parts.iter().flat_map(|p| p.weight.to_row_major()).collect();
        let bias = if parts.iter().any(|p| p.bias.is_some()) {
            Some(
                parts
                    .iter()
                    .flat_map(|p| match &p.bias {
                        Some(b) => b.clone(),
                        None => vec![0.0; p.out_features],
                    })
                    .collect(),
            )
        } else {
            None
        };
        let format = parts
            .first()
            .map_or(WeightFormat::F32, |p| p.weight.format());
        Self::with_format(weight, bias, out_features, in_features, format)
    }

    /// The format the weight is kept in.
    pub fn format(&self) -> WeightFormat {
        self.weight.format()
    }

    /// Bytes held by the weight and bias.
    pub fn memory_bytes(&self) -> usize {
        self.weight.bytes() + self.bias.as_ref().map_or(0, |b| b.len() * 4)
    }

    /// Input width.
    pub fn in_features(&self) -> usize {
        self.in_features
    }

    /// Output width.
    pub fn out_features(&self) -> usize {
        self.out_features
    }

    /// Returns `x · Wᵀ + b` for `x` of `rows × in_features`.
    pub fn forward(&self, x: &[f32], rows: usize) -> Vec<f32> {
        let mut out = Vec::new();
        self.forward_reusing(x, rows, None, &mut out);
        out
    }

    /// Returns `act(x · Wᵀ + b)`: [`Linear::forward`] then [`crate::ops::activate_in_place`],
    /// in one pass (each block of the output is activated while it is still in cache).
    pub fn forward_activated(&self, x: &[f32], rows: usize, act: Activation) -> Vec<f32> {
        let mut out = Vec::new();
        self.forward_reusing(x, rows, Some(act), &mut out);
        out
    }

    /// [`Linear::forward`] into `out`, replacing its contents and reusing its allocation.
    ///
    /// Why: a batch's outputs run to tens of MB (32 × 128 tokens × 1536 floats = 25 MB), which
    /// the allocator takes fresh from the kernel each time, so every page is faulted in and
    /// zeroed again; a model that reuses one buffer across its layers skips that.
    pub fn forward_into(&self, x: &[f32], rows: usize, out: &mut Vec<f32>) {
        self.forward_reusing(x, rows, None, out)
    }

    /// [`Linear::forward_activated`] into `out`, as [`Linear::forward_into`].
    pub fn forward_activated_into(
        &self,
        x: &[f32],
        rows: usize,
        act: Activation,
        out: &mut Vec<f32>,
    ) {
        self.forward_reusing(x, rows, Some(act), out)
    }

    /// The product (then `activation`) into `out`'s storage, never zeroed first.
    fn forward_reusing(
        &self,
        x: &[f32],
        rows: usize,
        activation: Option<Activation>,
        out: &mut Vec<f32>,
    ) {
        self.check_shapes(x, rows);
        let len = rows * self.out_features;
        out.clear();
        out.reserve(len);
        let fresh = &mut out.spare_capacity_mut()[..len];
        let dest = match activation {
            Some(act) => Dest::Activated(fresh, act),
            None => Dest::Overwrite(fresh),
        };
        self.weight.matmul(x, rows, self.bias.as_deref(), dest);
        // SAFETY: `Dest::Overwrite` and `Dest::Activated` initialize every one of the `len`
        // elements they are given, which are the first `len` of `out`'s capacity.
        unsafe { out.set_len(len) };
    }

    /// Adds `x · Wᵀ + b` to `out` (the residual connection fused into the product).
    pub fn forward_add(&self, x: &[f32], rows: usize, out: &mut [f32]) {
        self.check_shapes(x, rows);
        assert_eq!(
            out.len(),
            rows * self.out_features,
            "linear output is not rows x out_features"
        );
        self.weight
            .matmul(x, rows, self.bias.as_deref(), Dest::Accumulate(out));
    }

    fn check_shapes(&self, x: &[f32], rows: usize) {
        assert_eq!(
            x.len(),
            rows * self.in_features,
            "linear input is not rows x in_features"
        );
    }
}

/// Checks that `weight` holds `out_features × in_features` values and `bias` (if any)
/// `out_features`.
fn check_parts(
    weight: &[f32],
    bias: Option<&[f32]>,
    out_features: usize,
    in_features: usize,
) -> Result<(), ShapeError> {
    if weight.len() != out_features * in_features {
        return Err(ShapeError {
            expected: format!("{out_features}x{in_features} weight"),
            found: format!("{} values", weight.len()),
        });
    }
    match bias {
        Some(b) if b.len() != out_features => Err(ShapeError {
            expected: format!("{out_features} bias values"),
            found: format!("{}", b.len()),
        }),
        _ => Ok(()),
    }
}

/// Whether [`Linear::with_bounded_input`] layers in [`WeightFormat::Int8`] take 8-bit activations
/// in this process: on the AVX-512 path (which includes AVX512-VNNI), on CPUs that also
/// multiply bf16 pairs (AVX512-BF16 or AMX), whose epilogues these products share.
pub fn eight_bit_activations() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        u8dot::available()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `h += down(act(up(h)))`: a transformer's feed-forward block with its residual, `h` being
/// `rows × up.in_features()`; `inner` is scratch for the `rows × up.out_features()`
/// intermediate.
///
/// Where `down` multiplies bf16 pairs (AVX512-BF16 or AMX) and `up` too, or `up` takes 8-bit
/// activations ([`Linear::with_bounded_input`]), the intermediate never exists in f32: `up`'s
/// epilogue writes it already rounded to bf16 in the layout `down` reads,
/// which is exactly what rounding an f32 intermediate would give (the results are the same
/// bits), without writing and re-reading megabytes of f32 per batch. Elsewhere, the two
/// products as [`Linear::forward_activated_into`] and [`Linear::forward_add`].
///
/// Panics if the shapes do not chain (`up`'s outputs are `down`'s inputs, `down`'s outputs
/// `up`'s inputs) or `h` is not `rows` rows of them.
pub fn feed_forward_add(
    up: &Linear,
    down: &Linear,
    act: Activation,
    h: &mut [f32],
    rows: usize,
    inner: &mut Vec<f32>,
) {
    assert_eq!(
        up.out_features, down.in_features,
        "feed-forward layers do not chain"
    );
    assert_eq!(
        down.out_features, up.in_features,
        "feed-forward layers do not chain"
    );
    up.check_shapes(h, rows);
    #[cfg(target_arch = "x86_64")]
    {
        let (up_bias, down_bias) = (up.bias.as_deref(), down.bias.as_deref());
        match (&up.weight, &down.weight) {
            (Packed::Pairs(u, engine), Packed::Pairs(d, same)) if engine == same => {
                return bf16dot::feed_forward_add(*engine, h, rows, u, up_bias, act, d, down_bias);
            }
            (Packed::Quads(u), Packed::Pairs(d, engine)) => {
                return u8dot::feed_forward_add(h, rows, u, up_bias, act, d, *engine, down_bias);
            }
            _ => {}
        }
    }
    up.forward_activated_into(h, rows, act, inner);
    down.forward_add(inner, rows, h);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forward_matches_hand_computed_product() {
        // W = [[1,2],[3,4],[5,6]] (3 out, 2 in), b = [0.5, -1, 0]
        let l = Linear::new(
            vec![1., 2., 3., 4., 5., 6.],
            Some(vec![0.5, -1.0, 0.0]),
            3,
            2,
        )
        .unwrap();
        let y = l.forward(&[1.0, 1.0, 2.0, -1.0], 2);
        assert_eq!(y, vec![3.5, 6.0, 11.0, 0.5, 1.0, 4.0]);
        let mut acc = vec![1.0; 6];
        l.forward_add(&[1.0, 1.0, 2.0, -1.0], 2, &mut acc);
        assert_eq!(acc, vec![4.5, 7.0, 12.0, 1.5, 2.0, 5.0]);
        let relu = l.forward_activated(&[1.0, -1.0, 0.0, 0.0], 2, Activation::Relu);
        assert_eq!(relu, vec![0.0, 0.0, 0.0, 0.5, 0.0, 0.0]);
    }

    #[test]
    fn fused_activation_equals_forward_then_activate_in_every_format() {
        // Sizes with ragged edges, several k blocks and more rows than one row block.
        for &(rows, n, k) in &[(1, 37, 300), (200, 70, 800), (7, 1536, 384)] {
            let w: Vec<f32> = (0..n * k)
                .map(|i| ((i * 7919) % 1000) as f32 / 997.0 - 0.5)
                .collect();
            let b: Vec<f32> = (0..n).map(|i| (i % 7) as f32 / 7.0 - 0.4).collect();
            let x: Vec<f32> = (0..rows * k)
                .map(|i| ((i * 104_729) % 100) as f32 / 50.0 - 1.0)
                .collect();
            for format in [WeightFormat::F32, WeightFormat::Bf16, WeightFormat::Int8] {
                let l = Linear::with_format(w.clone(), Some(b.clone()), n, k, format).unwrap();
                for act in [Activation::GeluErf, Activation::Tanh] {
                    let mut want = l.forward(&x, rows);
                    crate::ops::activate_in_place(&mut want, act);
                    let got = l.forward_activated(&x, rows, act);
                    assert_eq!(got, want, "{rows}x{n}x{k} {format:?} {act:?}");
                }
            }
        }
    }

    #[test]
    fn forward_into_reuses_a_buffer_across_sizes() {
        let (n, k) = (40, 300);
        let w: Vec<f32> = (0..n * k).map(|i| ((i * 31) % 17) as f32 - 8.0).collect();
        let l = Linear::new(w, Some(vec![0.25; n]), n, k).unwrap();
        let mut out = Vec::new();
        for rows in [50, 3, 20, 0, 7] {
            let x: Vec<f32> = (0..rows * k).map(|i| ((i * 7) % 11) as f32 * 0.1).collect();
            l.forward_into(&x, rows, &mut out);
            assert_eq!(out, l.forward(&x, rows), "{rows} rows");
            l.forward_activated_into(&x, rows, Activation::GeluErf, &mut out);
            assert_eq!(out, l.forward_activated(&x, rows, Activation::GeluErf));
        }
    }

    #[test]
    fn feed_forward_gives_the_bits_of_the_two_products_in_every_format() {
        // Ragged intermediate widths and row counts, several row chunks of the pair engines.
        for &(rows, hidden, inner_width) in &[(1, 32, 64), (45, 40, 70), (300, 64, 96)] {
            let values = |len: usize, seed: usize| -> Vec<f32> {
                (0..len)
                    .map(|i| (((i + seed) * 7919) % 1000) as f32 / 997.0 - 0.5)
                    .collect()
            };
            let h0 = values(rows * hidden, 1);
            for format in [WeightFormat::F32, WeightFormat::Bf16, WeightFormat::Int8] {
                let layer = |n: usize, k: usize, seed: usize| {
                    Linear::with_format(
                        values(n * k, seed),
                        Some(values(n, seed + 1)),
                        n,
                        k,
                        format,
                    )
                    .unwrap()
                };
                let (up, down) = (layer(inner_width, hidden, 3), layer(hidden, inner_width, 5));
                let what = format!("{rows}x{hidden}x{inner_width} {format:?}");
                assert_fused_equals_separate(&up, &down, &h0, rows, &what);
            }
            // The block's int8 pair: `up` after a norm (8-bit activations where the CPU has
            // them), `down` in bf16.
            let magnitude: Vec<f32> = values(hidden, 7).iter().map(|v| v.abs() + 0.5).collect();
            let parts = [inner_width];
            let input = BoundedInput::Normalized {
                magnitude: &magnitude,
                parts: &parts,
            };
            let up = Linear::with_bounded_input(
                values(inner_width * hidden, 3),
                Some(values(inner_width, 4)),
                (inner_width, hidden),
                WeightFormat::Int8,
                input,
            )
            .unwrap();
            let down = Linear::with_format(
                values(hidden * inner_width, 5),
                Some(values(hidden, 6)),
                hidden,
                inner_width,
                WeightFormat::Bf16,
            )
            .unwrap();
            let what = format!("{rows}x{hidden}x{inner_width} after norm");
            assert_fused_equals_separate(&up, &down, &h0, rows, &what);
        }
    }

    /// [`feed_forward_add`] against the two products it fuses, one after the other.
    fn assert_fused_equals_separate(
        up: &Linear,
        down: &Linear,
        h0: &[f32],
        rows: usize,
        what: &str,
    ) {
        let mut want = h0.to_vec();
        let inner = up.forward_activated(&want, rows, Activation::GeluErf);
        down.forward_add(&inner, rows, &mut want);
        let mut got = h0.to_vec();
        feed_forward_add(
            up,
            down,
            Activation::GeluErf,
            &mut got,
            rows,
            &mut Vec::new(),
        );
        assert_eq!(got, want, "{what}");
    }

    #[test]
    fn bounded_inputs_are_checked_on_every_cpu_and_never_concatenated() {
        let (magnitude, parts) = (vec![1.0; 8], [16]);
        let wrong = BoundedInput::Normalized {
            magnitude: &magnitude,
            parts: &parts,
        };
        for format in [WeightFormat::F32, WeightFormat::Int8] {
            let layer = Linear::with_bounded_input(vec![0.5; 16 * 4], None, (16, 4), format, wrong);
            assert!(layer.is_err(), "{format:?}: 8 magnitudes for 4 inputs");
        }
        let layer = |format| {
            let input = BoundedInput::Averaged;
            Linear::with_bounded_input(vec![0.5; 64 * 64], None, (64, 64), format, input).unwrap()
        };
        let int8 = layer(WeightFormat::Int8);
        let fused = Linear::concat(&[int8.clone(), int8]);
        // Only layers that took 8-bit activations refuse (they would lose their smoothing).
        assert_eq!(fused.is_err(), eight_bit_activations());
        assert!(Linear::concat(&[layer(WeightFormat::F32), layer(WeightFormat::F32)]).is_ok());
    }

    #[test]
    fn concat_puts_outputs_side_by_side() {
        let a = Linear::new(vec![1., 0.], None, 1, 2).unwrap();
        let b = Linear::new(vec![0., 1., 1., 1.], Some(vec![1., 2.]), 2, 2).unwrap();
        let ab = Linear::concat(&[a, b]).unwrap();
        assert_eq!(ab.forward(&[3.0, 4.0], 1), vec![3.0, 5.0, 9.0]);
    }

    /// Whether the layer's weight is packed in bf16 pairs.
    fn in_pairs(layer: &Linear) -> bool {
        #[cfg(target_arch = "x86_64")]
        return matches!(layer.weight, Packed::Pairs(..));
        #[cfg(not(target_arch = "x86_64"))]
        false
    }

    #[test]
    fn bf16_layer_multiplies_the_rounded_weight_and_halves_memory() {
        let (n, k) = (37, 300);
        let w: Vec<f32> = (0..n * k)
            .map(|i| ((i * 7919) % 1000) as f32 / 997.0 - 0.5)
            .collect();
        let x: Vec<f32> = (0..3 * k)
            .map(|i| ((i * 104_729) % 100) as f32 / 50.0 - 1.0)
            .collect();
        let rounded = Bf16::round_all(&w);
        let exact = Linear::new(rounded.clone(), None, n, k).unwrap();
        let half = Linear::with_format(w.clone(), None, n, k, WeightFormat::Bf16).unwrap();
        assert_eq!(half.format(), WeightFormat::Bf16);
        // Same products, up to f32 summation order; pair products round the activations too.
        let x_seen = if crate::isa::bf16_rounds_inputs() {
            Bf16::round_all(&x)
        } else {
            x.clone()
        };
        for (a, b) in exact.forward(&x_seen, 3).iter().zip(half.forward(&x, 3)) {
            assert!((a - b).abs() <= 1e-4 * a.abs().max(1.0), "{a} vs {b}");
        }
        let full = Linear::new(w, None, n, k).unwrap();
        if in_pairs(&half) {
            // Whole 32 x 32 tiles: n and k padded to multiples of 32.
            assert_eq!(half.memory_bytes(), 64 * 320 * 2);
        } else {
            assert_eq!(half.memory_bytes() * 2, full.memory_bytes());
        }
        // Fusing keeps the format, and unpacking bf16 is exact.
        let fused = Linear::concat(&[half.clone(), half]).unwrap();
        assert_eq!(fused.format(), WeightFormat::Bf16);
        assert_eq!(fused.weight.to_row_major()[..n * k], rounded[..]);
    }

    #[test]
    fn bf16_rounds_to_nearest_even() {
        assert_eq!(Bf16::from_f32(1.0).0, 0x3F80);
        // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties go to the even mantissa (1.0).
        assert_eq!(Bf16::from_f32(1.0 + 1.0 / 256.0).0, 0x3F80);
        assert_eq!(Bf16::from_f32(1.0 + 3.0 / 256.0).0, 0x3F82);
        assert_eq!(Bf16::from_f32(-2.5).to_f32(), -2.5);
        assert!(Bf16::from_f32(f32::NAN).to_f32().is_nan());
        assert_eq!(Bf16::from_f32(f32::INFINITY).to_f32(), f32::INFINITY);
    }

    #[test]
    fn new_rejects_wrong_shapes() {
        assert!(Linear::new(vec![0.0; 5], None, 3, 2).is_err());
        assert!(Linear::new(vec![0.0; 6], Some(vec![0.0; 2]), 3, 2).is_err());
    }
}
