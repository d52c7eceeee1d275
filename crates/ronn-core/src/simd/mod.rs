//! SIMD feature detection and a few f32 slice primitives with runtime dispatch.
//!
//! RONN is built for a portable baseline (plain `x86_64` / `aarch64`; the repo never
//! sets `target-cpu=native`), so one binary runs on any CPU of its architecture. The
//! fast paths are compiled with `#[target_feature]` and chosen **at run time** from
//! what the CPU reports: [`SimdFeatures::detect`] asks the CPU once,
//! [`SimdFeatures::get`] caches the answer, and [`best_simd`] names the widest
//! [`SimdLevel`] that RONN has kernels for.
//!
//! | level | when | f32 lanes |
//! |---|---|---|
//! | [`SimdLevel::Avx512`] | x86_64 with AVX-512F (and a Rust 1.89+ compiler) | 16 |
//! | [`SimdLevel::Avx2Fma`] | x86_64 with AVX2 and FMA | 8 |
//! | [`SimdLevel::Sse2`] | every x86_64 CPU | 4 |
//! | [`SimdLevel::Neon`] | every aarch64 CPU | 4 |
//! | [`SimdLevel::Scalar`] | anything else; also the reference every path is tested against | 1 |
//!
//! The primitives ([`dot_product_f32`], [`add_f32`], [`relu_f32`], [`relu_f32_inplace`])
//! dispatch to the best level; the `*_with` variants force one level (and return an
//! error when this CPU lacks it), which is how the tests run every path against the
//! scalar reference. The CPU provider's f32 Relu and same-shape Add call these.
//!
//! **Lengths.** Mismatched slice lengths are reported as [`Error::ShapeMismatch`]
//! rather than truncated or panicking, since the lengths come from user tensors.
//!
//! **Results.** `add_f32` and the ReLUs are bit-for-bit identical on every level.
//! `dot_product_f32` sums in a different order per level (and fuses multiply-adds on
//! AVX2/AVX-512/NEON), so levels agree only to rounding.
//!
//! **ReLU of NaN and -0.** `relu(x)` is `if x < 0 { +0 } else { x }`, which is ONNX
//! Runtime's `max(x, 0)` with NaN propagation: `relu(NaN)` is that same NaN (payload
//! kept) and `relu(-0.0)` is `-0.0`.
//!
//! ```
//! use ronn_core::simd::{self, SimdFeatures, SimdLevel};
//!
//! let f = SimdFeatures::detect();
//! let level = simd::best_simd();
//! assert_eq!(level, f.best_simd());
//! assert!(level.is_available());
//! println!("running f32 kernels with {level} ({} lanes)", level.f32_lanes());
//!
//! let a = [1.0f32, 2.0, 3.0, 4.0, 5.0];
//! let b = [1.0f32, 1.0, 1.0, 1.0, 2.0];
//! assert_eq!(simd::dot_product_f32(&a, &b)?, 20.0);
//! // The scalar path is always there and is the reference.
//! assert_eq!(simd::dot_product_f32_with(SimdLevel::Scalar, &a, &b)?, 20.0);
//! // Mismatched lengths are an error, not a panic.
//! assert!(simd::dot_product_f32(&a, &b[..3]).is_err());
//! # Ok::<(), ronn_core::Error>(())
//! ```

use crate::{Error, Result};
use std::cmp::Ordering;
use std::fmt;
use std::sync::OnceLock;

#[cfg(target_arch = "aarch64")]
mod aarch64;
mod fastmath;
mod map;
mod scalar;
#[cfg(test)]
mod tests;
#[cfg(target_arch = "x86_64")]
mod x86;

/// CPU features relevant to RONN's kernels, as reported by the running CPU.
///
/// Flags of the other architecture are always `false`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SimdFeatures {
    pub sse2: bool,
    pub sse3: bool,
    pub ssse3: bool,
    pub sse4_1: bool,
    pub sse4_2: bool,
    pub avx: bool,
    pub avx2: bool,
    pub fma: bool,
    pub f16c: bool,
    pub avx512f: bool,
    pub avx512bw: bool,
    pub avx512vl: bool,
    pub avx512dq: bool,
    pub avx512vnni: bool,
    /// aarch64 Advanced SIMD (always present on aarch64 Linux/macOS/Windows).
    pub neon: bool,
    /// aarch64 `SDOT`/`UDOT`.
    pub dotprod: bool,
    /// aarch64 half-precision arithmetic.
    pub fp16: bool,
}

impl SimdFeatures {
    /// Asks the CPU (and OS) which features are usable. Costs a few `cpuid`s; use
    /// [`SimdFeatures::get`] for the cached answer.
    pub fn detect() -> SimdFeatures {
        #[allow(unused_mut)]
        let mut f = SimdFeatures::default();
        #[cfg(target_arch = "x86_64")]
        {
            f.sse2 = std::is_x86_feature_detected!("sse2");
            f.sse3 = std::is_x86_feature_detected!("sse3");
            f.ssse3 = std::is_x86_feature_detected!("ssse3");
            f.sse4_1 = std::is_x86_feature_detected!("sse4.1");
            f.sse4_2 = std::is_x86_feature_detected!("sse4.2");
            f.avx = std::is_x86_feature_detected!("avx");
            f.avx2 = std::is_x86_feature_detected!("avx2");
            f.fma = std::is_x86_feature_detected!("fma");
            f.f16c = std::is_x86_feature_detected!("f16c");
            f.avx512f = std::is_x86_feature_detected!("avx512f");
            f.avx512bw = std::is_x86_feature_detected!("avx512bw");
            f.avx512vl = std::is_x86_feature_detected!("avx512vl");
            f.avx512dq = std::is_x86_feature_detected!("avx512dq");
            f.avx512vnni = std::is_x86_feature_detected!("avx512vnni");
        }
        #[cfg(target_arch = "aarch64")]
        {
            f.neon = std::arch::is_aarch64_feature_detected!("neon");
            f.dotprod = std::arch::is_aarch64_feature_detected!("dotprod");
            f.fp16 = std::arch::is_aarch64_feature_detected!("fp16");
        }
        f
    }

    /// The features of this CPU, detected on first use and cached for the process.
    pub fn get() -> &'static SimdFeatures {
        static FEATURES: OnceLock<SimdFeatures> = OnceLock::new();
        FEATURES.get_or_init(SimdFeatures::detect)
    }

    /// The widest level these features allow that RONN has kernels for.
    pub fn best_simd(&self) -> SimdLevel {
        [SimdLevel::Avx512, SimdLevel::Avx2Fma, SimdLevel::Sse2, SimdLevel::Neon]
            .into_iter()
            .find(|&l| self.supports(l))
            .unwrap_or(SimdLevel::Scalar)
    }

    /// Whether kernels of `level` can run with these features (and were compiled in).
    pub fn supports(&self, level: SimdLevel) -> bool {
        match level {
            SimdLevel::Scalar => true,
            SimdLevel::Sse2 => cfg!(target_arch = "x86_64") && self.sse2,
            SimdLevel::Avx2Fma => cfg!(target_arch = "x86_64") && self.avx && self.avx2 && self.fma,
            SimdLevel::Avx512 => cfg!(all(target_arch = "x86_64", ronn_avx512)) && self.avx512f,
            SimdLevel::Neon => cfg!(target_arch = "aarch64") && self.neon,
        }
    }

    /// Every level these features support, narrowest ([`SimdLevel::Scalar`]) first.
    pub fn available_levels(&self) -> Vec<SimdLevel> {
        SimdLevel::ALL.into_iter().filter(|&l| self.supports(l)).collect()
    }
}

/// The best SIMD level of this CPU (cached): `SimdFeatures::get().best_simd()`.
pub fn best_simd() -> SimdLevel {
    static BEST: OnceLock<SimdLevel> = OnceLock::new();
    *BEST.get_or_init(|| SimdFeatures::get().best_simd())
}

/// A family of kernels, one per instruction set RONN targets.
///
/// Ordered by width within one architecture (`Scalar < Sse2 < Avx2Fma < Avx512`,
/// `Scalar < Neon`); NEON and the x86 levels are not comparable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SimdLevel {
    /// Portable Rust, no intrinsics: the reference.
    Scalar,
    /// x86_64 SSE2 (128-bit).
    Sse2,
    /// x86_64 AVX2 with FMA (256-bit).
    Avx2Fma,
    /// x86_64 AVX-512F (512-bit, masked tails).
    Avx512,
    /// aarch64 NEON (128-bit).
    Neon,
}

impl SimdLevel {
    /// Every level, in declaration order.
    pub const ALL: [SimdLevel; 5] =
        [SimdLevel::Scalar, SimdLevel::Sse2, SimdLevel::Avx2Fma, SimdLevel::Avx512, SimdLevel::Neon];

    /// A short lowercase name: `scalar`, `sse2`, `avx2+fma`, `avx512`, `neon`.
    pub fn name(self) -> &'static str {
        match self {
            SimdLevel::Scalar => "scalar",
            SimdLevel::Sse2 => "sse2",
            SimdLevel::Avx2Fma => "avx2+fma",
            SimdLevel::Avx512 => "avx512",
            SimdLevel::Neon => "neon",
        }
    }

    /// How many f32 one register of this level holds.
    pub fn f32_lanes(self) -> usize {
        match self {
            SimdLevel::Scalar => 1,
            SimdLevel::Sse2 | SimdLevel::Neon => 4,
            SimdLevel::Avx2Fma => 8,
            SimdLevel::Avx512 => 16,
        }
    }

    /// Whether this CPU can run this level's kernels.
    pub fn is_available(self) -> bool {
        SimdFeatures::get().supports(self)
    }

    /// (architecture family, rank within it); Scalar belongs to every family.
    fn rank(self) -> (Option<u8>, u8) {
        match self {
            SimdLevel::Scalar => (None, 0),
            SimdLevel::Sse2 => (Some(0), 1),
            SimdLevel::Avx2Fma => (Some(0), 2),
            SimdLevel::Avx512 => (Some(0), 3),
            SimdLevel::Neon => (Some(1), 1),
        }
    }
}

impl PartialOrd for SimdLevel {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        let ((fa, ra), (fb, rb)) = (self.rank(), other.rank());
        match (fa, fb) {
            (Some(x), Some(y)) if x != y => None,
            _ => Some(ra.cmp(&rb)),
        }
    }
}

impl fmt::Display for SimdLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `level` if this CPU supports it, else an error naming it.
fn require(level: SimdLevel) -> Result<SimdLevel> {
    if level.is_available() {
        Ok(level)
    } else {
        Err(Error::UnsupportedOp(format!("SIMD level {level} is not available on this CPU")))
    }
}

pub use fastmath::{exp_f32, sigmoid_f32};
pub use map::{map_f32, with_best_simd};

fn same_len(what: &str, a: usize, b: usize) -> Result<()> {
    if a != b {
        return Err(Error::ShapeMismatch(format!("{what}: slice lengths {a} and {b} differ")));
    }
    Ok(())
}

/// `Σ a[i]·b[i]` with the best SIMD level.
///
/// Errors with [`Error::ShapeMismatch`] when the lengths differ. The summation order
/// depends on the level, so results differ between CPUs by rounding.
pub fn dot_product_f32(a: &[f32], b: &[f32]) -> Result<f32> {
    same_len("dot_product_f32", a.len(), b.len())?;
    Ok(dot_at(best_simd(), a, b))
}

/// [`dot_product_f32`] on a chosen level; errors when this CPU lacks it.
pub fn dot_product_f32_with(level: SimdLevel, a: &[f32], b: &[f32]) -> Result<f32> {
    let level = require(level)?;
    same_len("dot_product_f32", a.len(), b.len())?;
    Ok(dot_at(level, a, b))
}

/// `out[i] = a[i] + b[i]` with the best SIMD level.
///
/// Errors with [`Error::ShapeMismatch`] (and leaves `out` untouched) unless all three
/// lengths are equal.
pub fn add_f32(a: &[f32], b: &[f32], out: &mut [f32]) -> Result<()> {
    same_len("add_f32", a.len(), b.len())?;
    same_len("add_f32 output", a.len(), out.len())?;
    add_at(best_simd(), a, b, out);
    Ok(())
}

/// [`add_f32`] on a chosen level; errors when this CPU lacks it.
pub fn add_f32_with(level: SimdLevel, a: &[f32], b: &[f32], out: &mut [f32]) -> Result<()> {
    let level = require(level)?;
    same_len("add_f32", a.len(), b.len())?;
    same_len("add_f32 output", a.len(), out.len())?;
    add_at(level, a, b, out);
    Ok(())
}

/// `out[i] = max(x[i], 0)` with NaN propagation, with the best SIMD level.
///
/// `relu(NaN)` is the same NaN and `relu(-0.0)` is `-0.0` (see the module docs).
/// Errors with [`Error::ShapeMismatch`] unless the lengths are equal.
pub fn relu_f32(x: &[f32], out: &mut [f32]) -> Result<()> {
    same_len("relu_f32", x.len(), out.len())?;
    relu_at(best_simd(), x.as_ptr(), out.as_mut_ptr(), x.len());
    Ok(())
}

/// [`relu_f32`] on a chosen level; errors when this CPU lacks it.
pub fn relu_f32_with(level: SimdLevel, x: &[f32], out: &mut [f32]) -> Result<()> {
    let level = require(level)?;
    same_len("relu_f32", x.len(), out.len())?;
    relu_at(level, x.as_ptr(), out.as_mut_ptr(), x.len());
    Ok(())
}

/// [`relu_f32`] in place.
pub fn relu_f32_inplace(x: &mut [f32]) {
    let n = x.len();
    let p = x.as_mut_ptr();
    relu_at(best_simd(), p, p, n);
}

/// [`relu_f32_inplace`] on a chosen level; errors when this CPU lacks it.
pub fn relu_f32_inplace_with(level: SimdLevel, x: &mut [f32]) -> Result<()> {
    let level = require(level)?;
    let n = x.len();
    let p = x.as_mut_ptr();
    relu_at(level, p, p, n);
    Ok(())
}

// The `*_at` functions are the dispatch points. Their callers guarantee that `level`
// is supported by this CPU (it comes from `best_simd()` or passed `require`) and that
// the slice lengths agree.

fn dot_at(level: SimdLevel, a: &[f32], b: &[f32]) -> f32 {
    debug_assert!(level.is_available() && a.len() == b.len());
    match level {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the caller checked that the CPU has SSE2.
        SimdLevel::Sse2 => unsafe { x86::dot_sse2(a, b) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the caller checked that the CPU has AVX2 and FMA.
        SimdLevel::Avx2Fma => unsafe { x86::dot_avx2(a, b) },
        #[cfg(all(target_arch = "x86_64", ronn_avx512))]
        // SAFETY: the caller checked that the CPU has AVX-512F.
        SimdLevel::Avx512 => unsafe { x86::dot_avx512(a, b) },
        #[cfg(target_arch = "aarch64")]
        // SAFETY: the caller checked that the CPU has NEON.
        SimdLevel::Neon => unsafe { aarch64::dot_neon(a, b) },
        _ => scalar::dot(a, b),
    }
}

fn add_at(level: SimdLevel, a: &[f32], b: &[f32], out: &mut [f32]) {
    debug_assert!(level.is_available() && a.len() == b.len() && a.len() == out.len());
    match level {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the caller checked that the CPU has SSE2.
        SimdLevel::Sse2 => unsafe { x86::add_sse2(a, b, out) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the caller checked that the CPU has AVX2 and FMA.
        SimdLevel::Avx2Fma => unsafe { x86::add_avx2(a, b, out) },
        #[cfg(all(target_arch = "x86_64", ronn_avx512))]
        // SAFETY: the caller checked that the CPU has AVX-512F.
        SimdLevel::Avx512 => unsafe { x86::add_avx512(a, b, out) },
        #[cfg(target_arch = "aarch64")]
        // SAFETY: the caller checked that the CPU has NEON.
        SimdLevel::Neon => unsafe { aarch64::add_neon(a, b, out) },
        _ => scalar::add(a, b, out),
    }
}

/// ReLU of `n` floats from `src` to `dst`. Both come from live slices of length `n`
/// (`src == dst` for the in-place form; otherwise a `&` and a `&mut`, so disjoint).
fn relu_at(level: SimdLevel, src: *const f32, dst: *mut f32, n: usize) {
    debug_assert!(level.is_available());
    match level {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the caller checked SSE2; src/dst are valid for n elements and either
        // equal or disjoint, as `relu_sse2` requires.
        SimdLevel::Sse2 => unsafe { x86::relu_sse2(src, dst, n) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above, with AVX2 checked.
        SimdLevel::Avx2Fma => unsafe { x86::relu_avx2(src, dst, n) },
        #[cfg(all(target_arch = "x86_64", ronn_avx512))]
        // SAFETY: as above, with AVX-512F checked.
        SimdLevel::Avx512 => unsafe { x86::relu_avx512(src, dst, n) },
        #[cfg(target_arch = "aarch64")]
        // SAFETY: as above, with NEON checked.
        SimdLevel::Neon => unsafe { aarch64::relu_neon(src, dst, n) },
        // SAFETY: src/dst are valid for n elements and equal or disjoint.
        _ => unsafe { scalar::relu_raw(src, dst, n) },
    }
}
