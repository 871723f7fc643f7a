//! Four-lane f64 vectors for the pair kernels: one trait, [`Lanes`], with a portable
//! implementation ([`Portable`], plain arrays and `f64::mul_add`) and an AVX2 + FMA one
//! ([`Avx2`], x86-64 only).
//!
//! Both implementations perform the same IEEE operations in the same order (every multiply-add
//! is fused, horizontal sums add `(l0 + l1) + (l2 + l3)`), so a kernel written once over
//! `Lanes` gives the same bits on either: the AVX2 path is only faster.

/// Number of f64 lanes in every implementation.
pub(crate) const WIDTH: usize = 4;

/// A vector of [`WIDTH`] f64 lanes.
///
/// Every method is lane-wise unless said otherwise; `mul_add` is fused (one rounding).
pub(crate) trait Lanes: Copy {
    /// All lanes equal to `value`.
    fn splat(value: f64) -> Self;
    /// Loads `values[..WIDTH]`.
    fn load(values: &[f64]) -> Self;
    /// Stores into `values[..WIDTH]`.
    fn store(self, values: &mut [f64]);
    /// `self + other`.
    fn add(self, other: Self) -> Self;
    /// `self - other`.
    fn sub(self, other: Self) -> Self;
    /// `self * other`.
    fn mul(self, other: Self) -> Self;
    /// `self * factor + addend`, rounded once.
    fn mul_add(self, factor: Self, addend: Self) -> Self;
    /// Rounded to the nearest integer, ties to even (the default IEEE rounding).
    fn round(self) -> Self;
    /// The larger of `self` and `other` (inputs are finite).
    fn max(self, other: Self) -> Self;
    /// The smaller of `self` and `other` (inputs are finite).
    fn min(self, other: Self) -> Self;
    /// `self` where `test >= threshold`, else `+0.0`.
    fn keep_where_at_least(self, test: Self, threshold: Self) -> Self;
    /// Shifts each lane's bit pattern left by 52 and reinterprets it as f64: for a lane holding
    /// `1.5 · 2^52 + e` with `e` in `[1, 2046]` this is `2^(e - 1023)`.
    fn shift_into_exponent(self) -> Self;
    /// Adds `shifted`'s bit pattern, shifted left by 52, to `self`'s as 64-bit integers: for a
    /// lane of `shifted` holding `1.5 · 2^52 + k` this multiplies `self` by `2^k`, exactly,
    /// when the result is a normal number (the caller's to ensure).
    fn add_to_exponent(self, shifted: Self) -> Self;
    /// `(l0 + l1) + (l2 + l3)`.
    fn sum(self) -> f64;
}

/// The portable implementation: plain arrays, `f64::mul_add` (a hardware FMA where the target
/// has one, a correctly rounded software one otherwise).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Portable(pub [f64; WIDTH]);

impl Portable {
    #[inline(always)]
    fn map2(self, other: Self, f: impl Fn(f64, f64) -> f64) -> Self {
        let (a, b) = (self.0, other.0);
        Portable([f(a[0], b[0]), f(a[1], b[1]), f(a[2], b[2]), f(a[3], b[3])])
    }
}

impl Lanes for Portable {
    #[inline(always)]
    fn splat(value: f64) -> Self {
        Portable([value; WIDTH])
    }

    #[inline(always)]
    fn load(values: &[f64]) -> Self {
        Portable([values[0], values[1], values[2], values[3]])
    }

    #[inline(always)]
    fn store(self, values: &mut [f64]) {
        values[..WIDTH].copy_from_slice(&self.0);
    }

    #[inline(always)]
    fn add(self, other: Self) -> Self {
        self.map2(other, |a, b| a + b)
    }

    #[inline(always)]
    fn sub(self, other: Self) -> Self {
        self.map2(other, |a, b| a - b)
    }

    #[inline(always)]
    fn mul(self, other: Self) -> Self {
        self.map2(other, |a, b| a * b)
    }

    #[inline(always)]
    fn mul_add(self, factor: Self, addend: Self) -> Self {
        let (a, b, c) = (self.0, factor.0, addend.0);
        Portable([
            a[0].mul_add(b[0], c[0]),
            a[1].mul_add(b[1], c[1]),
            a[2].mul_add(b[2], c[2]),
            a[3].mul_add(b[3], c[3]),
        ])
    }

    #[inline(always)]
    fn round(self) -> Self {
        Portable(self.0.map(f64::round_ties_even))
    }

    #[inline(always)]
    fn max(self, other: Self) -> Self {
        self.map2(other, |a, b| if a > b { a } else { b })
    }

    #[inline(always)]
    fn min(self, other: Self) -> Self {
        self.map2(other, |a, b| if a < b { a } else { b })
    }

    #[inline(always)]
    fn keep_where_at_least(self, test: Self, threshold: Self) -> Self {
        let mut out = self.0;
        for ((o, t), h) in out.iter_mut().zip(test.0).zip(threshold.0) {
            if t.is_nan() || t < h {
                *o = 0.0;
            }
        }
        Portable(out)
    }

    #[inline(always)]
    fn shift_into_exponent(self) -> Self {
        Portable(self.0.map(|v| f64::from_bits(v.to_bits() << 52)))
    }

    #[inline(always)]
    fn add_to_exponent(self, shifted: Self) -> Self {
        let mut out = self.0;
        for (o, s) in out.iter_mut().zip(shifted.0) {
            *o = f64::from_bits(o.to_bits().wrapping_add(s.to_bits() << 52));
        }
        Portable(out)
    }

    #[inline(always)]
    fn sum(self) -> f64 {
        let l = self.0;
        (l[0] + l[1]) + (l[2] + l[3])
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) use avx2::Avx2;

#[cfg(target_arch = "x86_64")]
mod avx2 {
    //! The AVX2 + FMA implementation.
    //!
    //! Soundness rests on one rule: generic kernels are instantiated with [`Avx2`] only inside
    //! functions compiled with `#[target_feature(enable = "avx2,fma")]`, and those are called
    //! only after `is_x86_feature_detected!` confirmed both features (see `kernel::Backend`).
    //! The methods below are `#[inline(always)]`, so they are compiled into those functions.

    use std::arch::x86_64::*;

    use super::{Lanes, WIDTH};

    /// Four f64 lanes in an AVX register.
    #[derive(Debug, Clone, Copy)]
    pub(crate) struct Avx2(__m256d);

    impl Lanes for Avx2 {
        #[inline(always)]
        fn splat(value: f64) -> Self {
            // SAFETY: AVX is available wherever `Avx2` values exist (module doc).
            Avx2(unsafe { _mm256_set1_pd(value) })
        }

        #[inline(always)]
        fn load(values: &[f64]) -> Self {
            assert!(values.len() >= WIDTH);
            // SAFETY: the slice holds at least four f64 (checked above); unaligned load; AVX is
            // available (module doc).
            Avx2(unsafe { _mm256_loadu_pd(values.as_ptr()) })
        }

        #[inline(always)]
        fn store(self, values: &mut [f64]) {
            assert!(values.len() >= WIDTH);
            // SAFETY: the slice holds at least four f64 (checked above); unaligned store; AVX is
            // available (module doc).
            unsafe { _mm256_storeu_pd(values.as_mut_ptr(), self.0) }
        }

        #[inline(always)]
        fn add(self, other: Self) -> Self {
            // SAFETY: AVX is available (module doc).
            Avx2(unsafe { _mm256_add_pd(self.0, other.0) })
        }

        #[inline(always)]
        fn sub(self, other: Self) -> Self {
            // SAFETY: AVX is available (module doc).
            Avx2(unsafe { _mm256_sub_pd(self.0, other.0) })
        }

        #[inline(always)]
        fn mul(self, other: Self) -> Self {
            // SAFETY: AVX is available (module doc).
            Avx2(unsafe { _mm256_mul_pd(self.0, other.0) })
        }

        #[inline(always)]
        fn mul_add(self, factor: Self, addend: Self) -> Self {
            // SAFETY: FMA is available (module doc).
            Avx2(unsafe { _mm256_fmadd_pd(self.0, factor.0, addend.0) })
        }

        #[inline(always)]
        fn round(self) -> Self {
            // SAFETY: AVX is available (module doc).
            Avx2(unsafe {
                _mm256_round_pd::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(self.0)
            })
        }

        #[inline(always)]
        fn max(self, other: Self) -> Self {
            // SAFETY: AVX is available (module doc).
            Avx2(unsafe { _mm256_max_pd(self.0, other.0) })
        }

        #[inline(always)]
        fn min(self, other: Self) -> Self {
            // SAFETY: AVX is available (module doc).
            Avx2(unsafe { _mm256_min_pd(self.0, other.0) })
        }

        #[inline(always)]
        fn keep_where_at_least(self, test: Self, threshold: Self) -> Self {
            // SAFETY: AVX is available (module doc).
            Avx2(unsafe {
                let mask = _mm256_cmp_pd::<_CMP_GE_OQ>(test.0, threshold.0);
                _mm256_and_pd(mask, self.0)
            })
        }

        #[inline(always)]
        fn shift_into_exponent(self) -> Self {
            // SAFETY: AVX2 is available (module doc).
            Avx2(unsafe {
                _mm256_castsi256_pd(_mm256_slli_epi64::<52>(_mm256_castpd_si256(self.0)))
            })
        }

        #[inline(always)]
        fn add_to_exponent(self, shifted: Self) -> Self {
            // SAFETY: AVX2 is available (module doc).
            Avx2(unsafe {
                let scale = _mm256_slli_epi64::<52>(_mm256_castpd_si256(shifted.0));
                _mm256_castsi256_pd(_mm256_add_epi64(_mm256_castpd_si256(self.0), scale))
            })
        }

        #[inline(always)]
        fn sum(self) -> f64 {
            let mut lanes = [0.0; WIDTH];
            self.store(&mut lanes);
            (lanes[0] + lanes[1]) + (lanes[2] + lanes[3])
        }
    }
}
