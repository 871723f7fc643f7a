//! The spectrum of a state of atoms (MODEL.md §9): the mass-weighted Hessian of the objective,
//! its eigenvalues, the symmetry (rotation) directions taken out exactly, the smallest eigenvalue
//! off them and its eigenvector.

use crate::error::SolverError;
use crate::field::Dynamics;
use crate::state::State;

use super::calculus::{coordinates, tangent_basis};
use super::linalg::{column_span, congruence, svd, symmetric_eigen, SPECTRAL_THRESHOLD};
use super::newton;

/// The spectrum and what it says.
pub(crate) struct Spectrum {
    pub eigenvalues: Vec<f64>,
    pub lambda_min: Option<f64>,
    pub hessian_norm: f64,
    pub threshold: f64,
    pub zero_modes: usize,
    /// Eigenvector (solve coordinates) of the most negative eigenvalue off the symmetry modes.
    pub most_negative: Option<(f64, Vec<f64>)>,
}

/// The orthonormal basis (solve coordinates, `N × r` row-major) of the symmetry directions: the
/// mass-weighted tangent coordinates `√m_a U_a Ω x_a` of the rotations `Ω` fixing every active
/// neuron's direction.
fn symmetry_basis(dynamics: &Dynamics, atoms: &State) -> Result<(Vec<f64>, usize), SolverError> {
    let dim = atoms.dim;
    let tangent = dim - 1;
    let perceptron = &dynamics.perceptron;
    // Orthonormal basis of the complement of span{a_j : s_j ≠ 0}.
    let active: Vec<usize> = if perceptron.is_off() {
        Vec::new()
    } else {
        (0..perceptron.width())
            .filter(|&j| perceptron.weights[j] != 0.0)
            .collect()
    };
    let complement: Vec<Vec<f64>> = if active.is_empty() {
        (0..dim)
            .map(|i| (0..dim).map(|k| if k == i { 1.0 } else { 0.0 }).collect())
            .collect()
    } else {
        // Columns of V (d × d via the square Gram matrix AᵀA) with zero singular value.
        let mut gram = vec![0.0; dim * dim];
        for &j in &active {
            let a = perceptron.direction(j);
            for p in 0..dim {
                for q in 0..dim {
                    gram[p * dim + q] += a[p] * a[q];
                }
            }
        }
        let decomposition = svd(&gram, dim, dim)?;
        let largest = decomposition.singular[0];
        (0..dim)
            .filter(|&k| decomposition.singular[k] <= 1e-12 * largest)
            .map(|k| (0..dim).map(|p| decomposition.v[p * dim + k]).collect())
            .collect()
    };
    let c = complement.len();
    let generators: Vec<(usize, usize)> = (0..c)
        .flat_map(|p| (p + 1..c).map(move |q| (p, q)))
        .collect();
    if generators.is_empty() {
        return Ok((Vec::new(), 0));
    }
    let size = atoms.len() * tangent;
    let columns = generators.len();
    let mut fields = vec![0.0; size * columns];
    for a in 0..atoms.len() {
        let x = atoms.position(a);
        let basis = tangent_basis(x);
        let root = atoms.masses[a].sqrt();
        for (g, &(p, q)) in generators.iter().enumerate() {
            // Ω x = c_p <c_q, x> − c_q <c_p, x>.
            let (cp, cq) = (&complement[p], &complement[q]);
            let (xp, xq) = (crate::sphere::dot(cp, x), crate::sphere::dot(cq, x));
            let omega_x: Vec<f64> = (0..dim).map(|k| cp[k] * xq - cq[k] * xp).collect();
            let coords = coordinates(&basis, dim, &omega_x);
            for i in 0..tangent {
                fields[(a * tangent + i) * columns + g] = root * coords[i];
            }
        }
    }
    column_span(&fields, size, columns, 1e-8)
}

/// The mass-weighted objective Hessian's spectrum, zero modes and most negative direction.
///
/// The symmetry directions are taken out exactly rather than by a threshold: off a stationary
/// point their eigenvalues are of the order of the residual, which may exceed `τ` when the
/// Hessian is small against the field scale (weakly interacting atoms). `lambda_min` is the
/// smallest eigenvalue of the Hessian restricted to the orthogonal complement of their span (the
/// complement is invariant at a stationary point, where the span is in the kernel), and
/// `zero_modes` the span's dimension.
pub(crate) fn spectrum(dynamics: &Dynamics, atoms: &State) -> Result<Spectrum, SolverError> {
    let size = atoms.len() * (atoms.dim - 1);
    let weighted = newton::jacobian(dynamics, atoms)?;
    let eigen = symmetric_eigen(&weighted, size)?;
    if let Some(bad) = eigen.values.iter().find(|v| !v.is_finite()) {
        return Err(SolverError::CertifyFailed {
            stage: "spectrum",
            reason: format!("non-finite eigenvalue {bad}"),
        });
    }
    let hessian_norm = eigen.values.iter().map(|v| v.abs()).fold(0.0, f64::max);
    let threshold = SPECTRAL_THRESHOLD * hessian_norm;
    let (symmetry, rank) = symmetry_basis(dynamics, atoms)?;
    let (lambda_min, direction) = if rank == 0 {
        (eigen.values.first().copied(), eigen.vector(0))
    } else if rank >= size {
        (None, Vec::new())
    } else {
        // An orthonormal basis C of the complement: eigenvectors of I − R Rᵀ of eigenvalue 1.
        let mut projector = vec![0.0; size * size];
        for i in 0..size {
            for j in 0..size {
                let inner: f64 = (0..rank)
                    .map(|k| symmetry[i * rank + k] * symmetry[j * rank + k])
                    .sum();
                projector[i * size + j] = if i == j { 1.0 } else { 0.0 } - inner;
            }
        }
        let split = symmetric_eigen(&projector, size)?;
        let kept = size - rank;
        // Ascending: the last `kept` eigenvalues are the ones (the first `rank` are zeros).
        let basis: Vec<Vec<f64>> = (rank..size).map(|i| split.vector(i)).collect();
        let inner = symmetric_eigen(&congruence(&weighted, size, &basis), kept)?;
        let coefficients = inner.vector(0);
        let direction: Vec<f64> = (0..size)
            .map(|i| basis.iter().zip(&coefficients).map(|(c, a)| a * c[i]).sum())
            .collect();
        (inner.values.first().copied(), direction)
    };
    let most_negative = lambda_min
        .filter(|&l| l < -threshold)
        .map(|l| (l, direction));
    Ok(Spectrum {
        eigenvalues: eigen.values,
        lambda_min,
        hessian_norm,
        threshold,
        zero_modes: rank,
        most_negative,
    })
}
