//! Small vector helpers on `S^{d-1}`: dot products, projections, distances, uniform draws.

use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

/// `<a, b>`.
#[inline]
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// `|a|`.
#[inline]
pub fn norm(a: &[f64]) -> f64 {
    dot(a, a).sqrt()
}

/// [`dot`] in a dimension known at compile time: the same additions in the same order (from
/// `-0.0`, as `Iterator::sum` of `f64` starts), unrolled.
#[inline(always)]
pub fn dot_fixed<const D: usize>(a: &[f64; D], b: &[f64; D]) -> f64 {
    let mut sum = -0.0;
    for k in 0..D {
        sum += a[k] * b[k];
    }
    sum
}

/// [`project_tangent`] in a dimension known at compile time (the same operations, unrolled).
#[inline(always)]
pub fn project_tangent_fixed<const D: usize>(x: &[f64; D], y: &mut [f64; D]) {
    let c = dot_fixed(x, y);
    for k in 0..D {
        y[k] -= c * x[k];
    }
}

/// Replaces `y` by its tangential part at `x`: `y - <x,y> x`.
#[inline]
pub fn project_tangent(x: &[f64], y: &mut [f64]) {
    let c = dot(x, y);
    for (yk, &xk) in y.iter_mut().zip(x) {
        *yk -= c * xk;
    }
}

/// Geodesic distance between unit vectors, accurate for nearby and for antipodal points.
#[inline]
pub fn geodesic_distance(a: &[f64], b: &[f64]) -> f64 {
    // atan2(|a × b|, a·b) through |a - b| and |a + b|: well conditioned at both ends.
    let mut diff = 0.0;
    let mut sum = 0.0;
    for (x, y) in a.iter().zip(b) {
        diff += (x - y) * (x - y);
        sum += (x + y) * (x + y);
    }
    2.0 * diff.sqrt().atan2(sum.sqrt())
}

/// A vector uniform on `S^{dim-1}` (normalized Gaussian).
pub fn random_unit_vector<R: Rng + ?Sized>(rng: &mut R, dim: usize) -> Vec<f64> {
    loop {
        let v: Vec<f64> = (0..dim).map(|_| StandardNormal.sample(&mut *rng)).collect();
        let n = norm(&v);
        if n > 1e-12 {
            return v.into_iter().map(|x| x / n).collect();
        }
    }
}

/// The angle of a point of S^1 in `[0, 2π)`.
#[inline]
pub fn angle(x: &[f64]) -> f64 {
    let a = x[1].atan2(x[0]);
    if a < 0.0 {
        a + std::f64::consts::TAU
    } else {
        a
    }
}
