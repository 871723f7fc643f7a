//! Dense symmetric eigendecompositions and SVDs through `faer`, on row-major `Vec<f64>`
//! matrices. `faer` is built without its rayon feature, so these run on the calling thread and
//! their results do not depend on the thread count.

use faer::{Mat, Side};

use crate::error::SolverError;

/// Relative threshold of the spectrum: `τ = SPECTRAL_THRESHOLD · ‖H_w‖`.
pub const SPECTRAL_THRESHOLD: f64 = 1e-8;

/// Singular values (or eigenvalues) of a Newton Jacobian below this fraction of the largest are
/// treated as 0 by the pseudo-inverse steps.
pub(crate) const PSEUDO_INVERSE_CUTOFF: f64 = 1e-11;

/// Eigenvalues (ascending) and eigenvectors (column `i` of `vectors`, row-major `n × n`) of a
/// symmetric matrix.
pub(crate) struct Eigen {
    pub values: Vec<f64>,
    pub vectors: Vec<f64>,
    pub size: usize,
}

impl Eigen {
    /// Component `row` of eigenvector `i`.
    pub fn vector(&self, i: usize) -> Vec<f64> {
        (0..self.size)
            .map(|row| self.vectors[row * self.size + i])
            .collect()
    }
}

/// Thin SVD `A = U diag(S) Vᵀ` of a `rows × cols` matrix; `u` is `rows × r`, `v` is `cols × r`
/// (row-major), `r = min(rows, cols)`, singular values descending.
pub(crate) struct Svd {
    pub u: Vec<f64>,
    pub singular: Vec<f64>,
    pub v: Vec<f64>,
    pub rank_columns: usize,
}

fn failed(stage: &'static str, reason: String) -> SolverError {
    SolverError::CertifyFailed { stage, reason }
}

/// The eigendecomposition of the symmetric `size × size` matrix `matrix` (its lower triangle is
/// read; the two triangles agree to rounding anyway).
pub(crate) fn symmetric_eigen(matrix: &[f64], size: usize) -> Result<Eigen, SolverError> {
    if size == 0 {
        return Ok(Eigen {
            values: Vec::new(),
            vectors: Vec::new(),
            size,
        });
    }
    let a = Mat::from_fn(size, size, |i, j| {
        0.5 * (matrix[i * size + j] + matrix[j * size + i])
    });
    let eigen = a
        .self_adjoint_eigen(Side::Lower)
        .map_err(|e| failed("eigendecomposition", format!("{e:?}")))?;
    let s = eigen.S().column_vector();
    let u = eigen.U();
    let values: Vec<f64> = (0..size).map(|i| s[i]).collect();
    let mut vectors = vec![0.0; size * size];
    for row in 0..size {
        for col in 0..size {
            vectors[row * size + col] = u[(row, col)];
        }
    }
    Ok(Eigen {
        values,
        vectors,
        size,
    })
}

/// The thin SVD of the `rows × cols` matrix `matrix`.
pub(crate) fn svd(matrix: &[f64], rows: usize, cols: usize) -> Result<Svd, SolverError> {
    let r = rows.min(cols);
    if r == 0 {
        return Ok(Svd {
            u: Vec::new(),
            singular: Vec::new(),
            v: Vec::new(),
            rank_columns: 0,
        });
    }
    let a = Mat::from_fn(rows, cols, |i, j| matrix[i * cols + j]);
    let svd = a
        .thin_svd()
        .map_err(|e| failed("singular value decomposition", format!("{e:?}")))?;
    let s = svd.S().column_vector();
    let singular: Vec<f64> = (0..r).map(|i| s[i]).collect();
    let (uu, vv) = (svd.U(), svd.V());
    let mut u = vec![0.0; rows * r];
    for i in 0..rows {
        for k in 0..r {
            u[i * r + k] = uu[(i, k)];
        }
    }
    let mut v = vec![0.0; cols * r];
    for j in 0..cols {
        for k in 0..r {
            v[j * r + k] = vv[(j, k)];
        }
    }
    Ok(Svd {
        u,
        singular,
        v,
        rank_columns: r,
    })
}

/// An orthonormal basis (columns, row-major `rows × rank`) of the span of the columns of
/// `matrix` (`rows × cols`), keeping singular values above `relative` times the largest.
pub(crate) fn column_span(
    matrix: &[f64],
    rows: usize,
    cols: usize,
    relative: f64,
) -> Result<(Vec<f64>, usize), SolverError> {
    let svd = svd(matrix, rows, cols)?;
    let largest = svd.singular.first().copied().unwrap_or(0.0);
    if largest == 0.0 {
        return Ok((Vec::new(), 0));
    }
    let rank = svd
        .singular
        .iter()
        .filter(|&&s| s > relative * largest)
        .count();
    let r = svd.rank_columns;
    let mut basis = vec![0.0; rows * rank];
    for i in 0..rows {
        for k in 0..rank {
            basis[i * rank + k] = svd.u[i * r + k];
        }
    }
    Ok((basis, rank))
}

/// `Cᵀ W C` (`k × k`, row-major) for the `size × size` matrix `matrix` (row-major) and the `k`
/// columns of `C`, each `size` long.
pub(crate) fn congruence(matrix: &[f64], size: usize, columns: &[Vec<f64>]) -> Vec<f64> {
    let k = columns.len();
    let w = Mat::from_fn(size, size, |i, j| matrix[i * size + j]);
    let c = Mat::from_fn(size, k, |i, q| columns[q][i]);
    let product = c.as_ref().transpose() * w.as_ref() * c.as_ref();
    let mut out = vec![0.0; k * k];
    for p in 0..k {
        for q in 0..k {
            out[p * k + q] = product[(p, q)];
        }
    }
    out
}
