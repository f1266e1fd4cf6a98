//! Runtime choice of the instruction set used by the element-wise kernels.
//!
//! Detected once and cached. `EMBEDKIT_ISA=scalar` or `EMBEDKIT_ISA=avx2` forces a path (a
//! forced path the CPU lacks falls back to scalar), so the test suite can prove every path
//! against the same references.

use std::sync::OnceLock;

/// The instruction sets the kernels are compiled for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isa {
    /// Portable code, whatever the target's baseline vector width is.
    Scalar,
    /// x86-64 AVX2 with FMA (the kernels are the same Rust code compiled with these features).
    Avx2Fma,
}

impl Isa {
    /// Lower-case name, as printed by `embedkit info` and accepted by `EMBEDKIT_ISA`.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Scalar => "scalar",
            Isa::Avx2Fma => "avx2",
        }
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

/// The instruction set in use for this process.
pub fn current() -> Isa {
    static CHOSEN: OnceLock<Isa> = OnceLock::new();
    *CHOSEN.get_or_init(|| {
        let best = if cpu_has_avx2_fma() {
            Isa::Avx2Fma
        } else {
            Isa::Scalar
        };
        match std::env::var("EMBEDKIT_ISA").as_deref() {
            Ok("scalar") => Isa::Scalar,
            Ok("avx2") if best == Isa::Avx2Fma => Isa::Avx2Fma,
            _ => best,
        }
    })
}
