//! The AMX tile unit's block product: `tdpbf16ps` through `asm!`.
//!
//! One `tdpbf16ps` multiplies a 16 × 32 tile of A by a 32 × 16 tile of B into a 16 × 16 f32
//! tile of C: 8,192 multiply-adds per instruction, against 16 for an AVX-512 FMA. A block
//! keeps its 2 × 2 C tiles in tile registers over the whole of k.
//!
//! The instructions have no stable Rust intrinsics, so they are written with `asm!`. The
//! tile registers are invisible to the compiler (it never allocates them), which is what
//! lets the configuration, loads, products and stores live in separate `asm!` blocks.

use super::{BlockF32, BlockProduct, Line, BLOCK};
use std::arch::asm;
use std::sync::OnceLock;

/// Whether this process may run AMX bf16 code: the CPU has AMX-TILE, AMX-BF16 and
/// AVX512-BF16 (used to round A), and Linux granted the process the tile state (it must be
/// asked for, once, with `arch_prctl`, or the first tile instruction faults).
pub(crate) fn ready() -> bool {
    static READY: OnceLock<bool> = OnceLock::new();
    *READY.get_or_init(|| {
        // CPUID never faults; where leaf 7 is missing its bits mean nothing, but such a CPU
        // has no AVX-512 either, which the first test below rules out.
        let leaf7 = std::arch::x86_64::__cpuid_count(7, 0);
        let (amx_bf16, amx_tile) = ((leaf7.edx >> 22) & 1 == 1, (leaf7.edx >> 24) & 1 == 1);
        crate::isa::cpu_has_avx512()
            && std::arch::is_x86_feature_detected!("avx512bf16")
            && amx_bf16
            && amx_tile
            && request_tile_state()
    })
}

/// Asks Linux for permission to use the AMX tile data (`ARCH_REQ_XCOMP_PERM` with
/// `XFEATURE_XTILEDATA`); true when granted. A raw system call: it is the only one this crate
/// makes, not worth a dependency.
#[cfg(target_os = "linux")]
fn request_tile_state() -> bool {
    const SYS_ARCH_PRCTL: usize = 158;
    const ARCH_REQ_XCOMP_PERM: usize = 0x1023;
    const XFEATURE_XTILEDATA: usize = 18;
    let result: isize;
    // SAFETY: arch_prctl with these arguments only changes this process's permitted XSAVE
    // state; the syscall instruction clobbers rcx and r11, declared below.
    unsafe {
        asm!(
            "syscall",
            inlateout("rax") SYS_ARCH_PRCTL as isize => result,
            in("rdi") ARCH_REQ_XCOMP_PERM,
            in("rsi") XFEATURE_XTILEDATA,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    result == 0
}

#[cfg(not(target_os = "linux"))]
fn request_tile_state() -> bool {
    false
}

/// The tile configuration: palette 1, eight tiles of 16 rows × 64 bytes (tmm0-3: C,
/// tmm4-5: A, tmm6-7: B).
#[repr(C, align(64))]
struct TileConfig([u8; 64]);

static CONFIG: TileConfig = {
    let mut cfg = [0_u8; 64];
    cfg[0] = 1;
    let mut t = 0;
    while t < 8 {
        // colsb[t] (u16, little-endian) at 16 + 2t, rows[t] at 48 + t.
        cfg[16 + 2 * t] = 64;
        cfg[48 + t] = 16;
        t += 1;
    }
    TileConfig(cfg)
};

/// [`BlockProduct`] on the tile unit.
pub(super) struct Tiles;

impl BlockProduct for Tiles {
    unsafe fn begin() {
        // SAFETY: palette 1 with 8 valid tiles is supported wherever `ready()` holds (caller).
        unsafe {
            asm!("ldtilecfg [{}]", in(reg) &CONFIG.0, options(nostack, readonly, preserves_flags))
        };
    }

    unsafe fn end() {
        // Back to the initial tile state, so that context switches need not save 8 KB of
        // tiles. SAFETY: always valid after ldtilecfg (caller: after `begin`).
        unsafe { asm!("tilerelease", options(nostack, nomem, preserves_flags)) };
    }

    unsafe fn block(
        a: *const Line,
        row_lines: usize,
        b0: *const Line,
        b1: *const Line,
        _height: usize,
        out: &mut BlockF32,
    ) {
        let a_stride = row_lines * 64;
        // SAFETY: the A rows 0 .. 32 exist with `row_lines` lines each, and the B panels
        // `16 · row_lines` lines (caller); each step reads tile `kt` of each.
        unsafe {
            let a1 = a.add(16 * row_lines);
            asm!(
                "tilezero tmm0",
                "tilezero tmm1",
                "tilezero tmm2",
                "tilezero tmm3",
                options(nostack, nomem, preserves_flags)
            );
            for kt in 0..row_lines {
                asm!(
                    "tileloadd tmm4, [{a0} + {sa}*1]",
                    "tileloadd tmm5, [{a1} + {sa}*1]",
                    "tileloadd tmm6, [{b0} + {sb}*1]",
                    "tileloadd tmm7, [{b1} + {sb}*1]",
                    "tdpbf16ps tmm0, tmm4, tmm6",
                    "tdpbf16ps tmm1, tmm4, tmm7",
                    "tdpbf16ps tmm2, tmm5, tmm6",
                    "tdpbf16ps tmm3, tmm5, tmm7",
                    a0 = in(reg) a.add(kt),
                    a1 = in(reg) a1.add(kt),
                    b0 = in(reg) b0.add(kt * 16),
                    b1 = in(reg) b1.add(kt * 16),
                    sa = in(reg) a_stride,
                    sb = in(reg) 64_usize,
                    options(nostack, readonly, preserves_flags)
                );
            }
            // C tiles into `out`: 32 rows of 32 floats.
            let out = out.0.as_mut_ptr();
            asm!(
                "tilestored [{c00} + {sc}*1], tmm0",
                "tilestored [{c01} + {sc}*1], tmm1",
                "tilestored [{c10} + {sc}*1], tmm2",
                "tilestored [{c11} + {sc}*1], tmm3",
                c00 = in(reg) out,
                c01 = in(reg) out.add(16),
                c10 = in(reg) out.add(16 * BLOCK),
                c11 = in(reg) out.add(16 * BLOCK + 16),
                sc = in(reg) BLOCK * 4,
                options(nostack, preserves_flags)
            );
        }
    }
}
