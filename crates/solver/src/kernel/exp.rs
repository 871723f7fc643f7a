//! A vectorised `exp` for the pair kernels, accurate to a couple of ulp.
//!
//! `e^t = 2^k e^r` with `k = round(t / ln 2)` and `r = t - k ln 2` (Cody–Waite: `ln 2` split in a
//! high part with trailing zero bits and a low part, both subtracted with fused multiply-adds),
//! `|r| <= ln 2 / 2`. `e^r` is its Taylor polynomial of degree 13 in Horner form (truncation
//! below `4e-18` relative), and `2^k` is built in the exponent bits. The integer `k` comes from
//! the usual shift: adding `1.5 · 2^52 + 1023` rounds `t / ln 2` to an integer and leaves the
//! biased exponent `k + 1023` in the low mantissa bits.
//!
//! Domain: inputs are clamped to `[-709, 709]`. Results below `f64::MIN_POSITIVE` (inputs below
//! `-708.396…`) are flushed to `+0.0`, so the absolute error there is below `2.3e-308`; `-inf`
//! gives `0`. The kernels use `t = β(s - 1) ∈ [-2β, 0]` (shifted kernel) or `t = βs` with
//! `β <= 700` (paper kernel).

use super::lanes::Lanes;

const LOG2_E: f64 = std::f64::consts::LOG2_E;
/// `ln 2` rounded to 32 significant bits, so `k · LN2_HI` is exact for `|k| < 2^21`.
const LN2_HI: f64 = f64::from_bits(0x3FE6_2E42_FEE0_0000);
/// `ln 2 - LN2_HI`.
const LN2_LO: f64 = f64::from_bits(0x3DEA_39EF_3579_3C76);
/// `1.5 · 2^52 + 1023`: adding it rounds to an integer and biases the exponent.
const SHIFTER: f64 = 6_755_399_441_056_767.0;
/// Below this, `e^t < f64::MIN_POSITIVE`: the result is flushed to zero.
const UNDERFLOW: f64 = -708.396_418_532_264_1;
/// Inputs are clamped to `[-CLAMP, CLAMP]` so that `k + 1023` stays in `[1, 2046]`.
const CLAMP: f64 = 709.0;

/// `1/j!` for `j = 0..=13`.
const INVERSE_FACTORIALS: [f64; 14] = {
    let mut table = [1.0; 14];
    let mut j = 1;
    while j < 14 {
        table[j] = table[j - 1] / j as f64;
        j += 1;
    }
    table
};

/// `e^t` lane-wise (see the module doc for domain and accuracy).
#[inline(always)]
pub(crate) fn exp<L: Lanes>(t: L) -> L {
    let clamped = t.max(L::splat(-CLAMP)).min(L::splat(CLAMP));
    exp_in_range(clamped).keep_where_at_least(t, L::splat(UNDERFLOW))
}

/// `e^t` lane-wise for `t` in `[UNDERFLOW, CLAMP]` (not checked: outside it the result is
/// garbage). Callers that know their range save the clamp and the underflow mask.
#[inline(always)]
pub(crate) fn exp_in_range<L: Lanes>(t: L) -> L {
    let shifted = t.mul_add(L::splat(LOG2_E), L::splat(SHIFTER));
    let k = shifted.sub(L::splat(SHIFTER));
    let r = k.mul_add(L::splat(-LN2_HI), t);
    let r = k.mul_add(L::splat(-LN2_LO), r);
    // Estrin's scheme: short dependency chains, so that several exponentials overlap.
    let c = |j: usize| L::splat(INVERSE_FACTORIALS[j]);
    let r2 = r.mul(r);
    let r4 = r2.mul(r2);
    let r8 = r4.mul(r4);
    let p: [L; 7] = std::array::from_fn(|j| c(2 * j + 1).mul_add(r, c(2 * j)));
    let q0 = p[1].mul_add(r2, p[0]);
    let q1 = p[3].mul_add(r2, p[2]);
    let q2 = p[5].mul_add(r2, p[4]);
    let s0 = q1.mul_add(r4, q0);
    let s1 = p[6].mul_add(r4, q2);
    let p = s1.mul_add(r8, s0);
    p.mul(shifted.shift_into_exponent())
}

/// The lowest argument `exp_in_range` accepts.
pub(crate) const IN_RANGE_LOW: f64 = UNDERFLOW;
/// The highest argument `exp_in_range` accepts.
pub(crate) const IN_RANGE_HIGH: f64 = CLAMP;
