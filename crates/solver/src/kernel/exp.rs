//! A vectorised `exp` for the pair kernels, accurate to a couple of ulp.
//!
//! `e^t = 2^k e^r` with `k = round(t / ln 2)` and `r = t - k ln 2` (Cody–Waite: `ln 2` split in a
//! high part with trailing zero bits and a low part, both subtracted with fused multiply-adds),
//! `|r| <= ln 2 / 2`. `e^r` is a near-minimax polynomial of degree 11 in Estrin's form (error
//! `1.3e-17` relative), and `2^k` is built in the exponent bits. The integer `k` comes from
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

/// Coefficients of the degree-11 polynomial for `e^r` on `[-ln 2 / 2, ln 2 / 2]`: 1 and 1, then
/// a weighted least-squares fit of `(e^r - 1 - r)` on 300 Chebyshev nodes (relative error, in
/// 50-digit arithmetic), rounded to f64. Largest relative error of the rounded polynomial,
/// evaluated exactly, on the interval: `1.3e-17`.
const COEFFICIENTS: [f64; 12] = [
    1.0,
    1.0,
    0.500_000_000_000_001_2,
    0.166_666_666_666_664_83,
    0.041_666_666_666_516_32,
    0.008_333_333_333_451_433,
    0.001_388_888_894_667_882_8,
    0.000_198_412_695_971_189_04,
    2.480_149_034_623_507e-5,
    2.755_750_728_541_229e-6,
    2.763_112_544_622_620_5e-7,
    2.502_464_520_964_93e-8,
];

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
    let p = polynomial(&COEFFICIENTS, r);
    p.mul(shifted.shift_into_exponent())
}

/// `1.5 · 2^52`: adding it rounds to an integer `k`, left in the low mantissa bits (two's
/// complement, so negative `k` too).
const SHIFTER_2: f64 = 6_755_399_441_055_744.0;
/// `2^k` flushes to zero below this (`2^-1022 = f64::MIN_POSITIVE`).
const EXP2_UNDERFLOW: f64 = -1022.0;
/// `exp2` clamps its inputs to `[-EXP2_CLAMP, EXP2_CLAMP]`, so that `k + 1023` stays in `[1, 2045]`.
const EXP2_CLAMP: f64 = 1022.0;

/// The coefficients of [`COEFFICIENTS`]' polynomial in `r = f ln 2`, as a polynomial in `f`:
/// `COEFFICIENTS[j] · (ln 2)^j`, computed in 50-digit arithmetic and rounded to f64. Largest
/// relative error against `2^f` on `[-1/2, 1/2]`, evaluated exactly: `1.5e-17`.
const COEFFICIENTS_2: [f64; 12] = [
    1.0,
    std::f64::consts::LN_2,
    0.240_226_506_959_101_3,
    0.055_504_108_664_820_966,
    0.009_618_129_107_593_772,
    0.001_333_355_814_661_740_7,
    0.000_154_035_304_574_737_84,
    1.525_273_361_637_179e-5,
    1.321_543_512_763_734_7e-6,
    1.017_815_546_829_547_3e-7,
    7.073_806_650_856_057e-9,
    4.440_664_885_680_16e-10,
];

/// `2^u` lane-wise: the same method as [`exp`] with the argument already in base 2, so that
/// the reduction `u = k + f` is exact and takes two additions instead of three fused
/// multiply-adds. The pair kernels fold `log2 e` into the coordinates that form the exponent,
/// which rounds the argument once, as forming `β (s - 1)` already does. Inputs are clamped to
/// `[-1022, 1022]`; results below `f64::MIN_POSITIVE` (inputs below `-1022`) are flushed to 0.
#[inline(always)]
pub(crate) fn exp2<L: Lanes>(u: L) -> L {
    exp2_rows::<L, 1, true>([u])[0]
}

/// `2^u` for several vectors at once (the pair kernel's rows), each as [`exp2`] computes it;
/// without `CHECKED`, the inputs must lie in `[-1022, 1022]` (not checked).
///
/// The polynomial is evaluated in Horner's scheme, one coefficient at a time across all the
/// vectors: the independent chains of the rows hide each other's latency, each coefficient is
/// loaded once for all of them, and few registers stay live, so nothing spills.
#[inline(always)]
pub(crate) fn exp2_rows<L: Lanes, const R: usize, const CHECKED: bool>(u: [L; R]) -> [L; R] {
    // Plain loops rather than `array::from_fn`: its closures are not always inlined, and
    // outside the caller's `target_feature` context each lane operation would be a call.
    let mut clamped = u;
    if CHECKED {
        for c in &mut clamped {
            *c = c.max(L::splat(-EXP2_CLAMP)).min(L::splat(EXP2_CLAMP));
        }
    }
    let shifter = L::splat(SHIFTER_2);
    let (mut shifted, mut f) = (clamped, clamped);
    for i in 0..R {
        // `k`, `u` rounded to an integer (ties to even), twice: in the low bits of `shifted` for
        // the scale, and as a number for the reduction. `f = u - k` is exact: `|f| <= 1/2`,
        // and the difference of two numbers within a factor of two of each other is exact
        // (Sterbenz). Rounding directly keeps the adding of the shifter off `f`'s chain.
        shifted[i] = clamped[i].add(shifter);
        f[i] = clamped[i].sub(clamped[i].round());
    }
    let mut p = [L::splat(COEFFICIENTS_2[11]); R];
    for j in (0..11).rev() {
        let c = L::splat(COEFFICIENTS_2[j]);
        for i in 0..R {
            p[i] = p[i].mul_add(f[i], c);
        }
    }
    for i in 0..R {
        // `p · 2^k` by an integer addition to the exponent bits (exact, like the product, and
        // off the multiply units): `p` lies in `[2^-1/2, 2^1/2]`, so the result is normal for
        // every `u` in `[-1022, 1022]` (at `k = -1022` only `f >= 0`, `p >= 1` occurs there).
        p[i] = p[i].add_to_exponent(shifted[i]);
        if CHECKED {
            p[i] = p[i].keep_where_at_least(u[i], L::splat(EXP2_UNDERFLOW));
        }
    }
    p
}

/// `Σ c_j r^j` (12 coefficients) in Estrin's scheme: short dependency chains, so that several
/// exponentials overlap.
#[inline(always)]
fn polynomial<L: Lanes>(coefficients: &[f64; 12], r: L) -> L {
    let c = |j: usize| L::splat(coefficients[j]);
    let r2 = r.mul(r);
    let r4 = r2.mul(r2);
    let r8 = r4.mul(r4);
    let p: [L; 6] = std::array::from_fn(|j| c(2 * j + 1).mul_add(r, c(2 * j)));
    let q0 = p[1].mul_add(r2, p[0]);
    let q1 = p[3].mul_add(r2, p[2]);
    let q2 = p[5].mul_add(r2, p[4]);
    let s0 = q1.mul_add(r4, q0);
    q2.mul_add(r8, s0)
}

/// The lowest argument `exp2_rows` accepts without `CHECKED`.
pub(crate) const EXP2_IN_RANGE_LOW: f64 = EXP2_UNDERFLOW;
/// The highest argument `exp2_rows` accepts without `CHECKED`.
pub(crate) const EXP2_IN_RANGE_HIGH: f64 = EXP2_CLAMP;
