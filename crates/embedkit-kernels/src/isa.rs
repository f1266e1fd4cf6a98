//! Runtime choice of the instruction set used by the kernels.
//!
//! Detected once and cached. `EMBEDKIT_ISA=scalar`, `EMBEDKIT_ISA=avx2` or
//! `EMBEDKIT_ISA=avx512` forces a path (a forced path the CPU lacks falls back to the best
//! one it has below it), so the test suite can prove every path against the same references.

use std::sync::OnceLock;

/// The instruction sets the kernels are compiled for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isa {
    /// Portable code, whatever the target's baseline vector width is.
    Scalar,
    /// x86-64 AVX2 with FMA (the kernels are the same Rust code compiled with these features).
    Avx2Fma,
    /// x86-64 AVX-512 (F, BW, VL, VNNI) on top of AVX2 + FMA: 16-float registers for the
    /// matrix products, `vpdpwssd` for the int8 ones. Kernels without a 512-bit version run
    /// their AVX2 code, which every such CPU also has.
    Avx512,
}

impl Isa {
    /// Lower-case name, as printed by `embedkit info` and accepted by `EMBEDKIT_ISA`.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Scalar => "scalar",
            Isa::Avx2Fma => "avx2",
            Isa::Avx512 => "avx512",
        }
    }

    /// Whether this path may run AVX2 + FMA code (checked against the CPU, so a value a test
    /// passes explicitly is safe whatever the machine).
    pub(crate) fn runs_avx2(self) -> bool {
        matches!(self, Isa::Avx2Fma | Isa::Avx512) && cpu_has_avx2_fma()
    }

    /// Whether this path may run the AVX-512 code (checked against the CPU).
    pub(crate) fn runs_avx512(self) -> bool {
        self == Isa::Avx512 && cpu_has_avx512()
    }
}

/// Whether this CPU has AVX2 and FMA (std caches the detection, so this is cheap).
pub(crate) fn cpu_has_avx2_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Whether this CPU has everything [`Isa::Avx512`] uses (Ice Lake, Sapphire Rapids and later
/// Xeons; AMD Zen 4 and later).
pub fn cpu_has_avx512() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        cpu_has_avx2_fma()
            && std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512vl")
            && std::arch::is_x86_feature_detected!("avx512vnni")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// The instructions that multiply bf16 layers' pairs in this process, if any: `amx` (the
/// AMX tile unit) or `avx512bf16`, on the AVX-512 path where the CPU (and, for AMX, the OS)
/// offers them. Elsewhere bf16 weights are widened to f32 inside the f32 kernels.
pub fn bf16_pair_products() -> Option<&'static str> {
    #[cfg(target_arch = "x86_64")]
    {
        crate::gemm::bf16dot::engine().map(|engine| engine.name())
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        None
    }
}

/// Whether bf16 layers round their inputs to bf16 too: always where the CPU multiplies bf16
/// pairs ([`bf16_pair_products`]), and on any CPU with `EMBEDKIT_BF16_ROUND_INPUTS=1`, which
/// reproduces (slower) what such a machine computes, to check a model's quality in that mode
/// anywhere.
pub fn bf16_rounds_inputs() -> bool {
    static ASKED: OnceLock<bool> = OnceLock::new();
    bf16_pair_products().is_some()
        || *ASKED
            .get_or_init(|| std::env::var("EMBEDKIT_BF16_ROUND_INPUTS").is_ok_and(|v| v == "1"))
}

/// The kernels this process runs, for people and benchmark logs: the instruction set's name,
/// with `+amx` or `+avx512bf16` when bf16 products use those instructions.
pub fn describe() -> String {
    let name = current().name();
    match bf16_pair_products() {
        Some(pairs) => format!("{name}+{pairs}"),
        None => name.to_string(),
    }
}

/// The instruction set in use for this process.
pub fn current() -> Isa {
    static CHOSEN: OnceLock<Isa> = OnceLock::new();
    *CHOSEN.get_or_init(|| {
        let best = if cpu_has_avx512() {
            Isa::Avx512
        } else if cpu_has_avx2_fma() {
            Isa::Avx2Fma
        } else {
            Isa::Scalar
        };
        let forced = match std::env::var("EMBEDKIT_ISA").as_deref() {
            Ok("scalar") => Isa::Scalar,
            Ok("avx2") => Isa::Avx2Fma,
            _ => best,
        };
        // Never above what the CPU has.
        match forced {
            Isa::Avx512 if best == Isa::Avx512 => Isa::Avx512,
            Isa::Avx512 | Isa::Avx2Fma if best != Isa::Scalar => Isa::Avx2Fma,
            _ => Isa::Scalar,
        }
    })
}
