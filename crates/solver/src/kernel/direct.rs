//! The direct pair kernel: every pair `(i, j)` once, in cache-sized tiles, four lanes at a time.
//!
//! Particles are cut into tiles of `T` particles (a multiple of the lane width, the last one
//! padded with massless particles), stored coordinate-major inside each tile. A *block* is a pair
//! of tiles `(I, J)`, `I < J`: for each particle `i` of `I` (broadcast) and four particles `j` of
//! `J` at a time (lanes), it evaluates `w_ij` once and adds `m_j w_ij (x_j, 1)` to `i`'s sums
//! (lane accumulators, reduced at the end of the row) and `m_i w_ij (x_i, 1)` to `j`'s sums
//! (in place, lane-wise). A diagonal block `(I, I)` adds only to its rows, over all `j` of `I`
//! including `i` itself. Nothing of size `n × n` is ever stored.
//!
//! Determinism: the blocks are scheduled in rounds of a round-robin tournament (the circle
//! method): within a round every tile appears in at most one block, so the blocks of a round
//! run in parallel without sharing any sums, and every tile receives its contributions in the
//! same order (diagonal first, then round by round) whatever the number of threads. The tiling
//! depends on `n` only. So the sums are the same bits for any thread count, and — the kernel
//! being written once over [`Lanes`] — on the portable and the AVX2 backends.
//!
//! Coordinates are padded with zeros to a supported width (`2, 3, 4, 8, 16, 32, 64`): a zero
//! coordinate adds an exact `0 · 0` to the inner product. Wider particles use the scalar path.

use rayon::prelude::*;

use super::exp::exp;
use super::lanes::{Lanes, WIDTH};
use super::{run_on, Backend, LaneTask};
use crate::field::Par;

/// The largest dimension the tiled kernel handles.
pub(crate) const MAX_DIM: usize = 64;

/// The padded dimension used for `dim`.
fn padded_dim(dim: usize) -> usize {
    match dim {
        0..=4 => dim,
        5..=8 => 8,
        9..=16 => 16,
        17..=32 => 32,
        _ => 64,
    }
}

/// Particles per tile, from `n` only (never from the thread count): small tiles for small `n` so
/// that a round has enough blocks to share, larger ones to amortize the rounds.
fn tile_size(n: usize) -> usize {
    match n {
        0..=1536 => 64,
        1537..=8192 => 128,
        _ => 256,
    }
}

/// The particles cut into tiles.
struct Tiles {
    /// Padded dimension.
    dim: usize,
    /// Particles per tile.
    size: usize,
    /// Number of particles.
    n: usize,
    /// Number of tiles.
    count: usize,
    /// Tile-major; inside tile `t`, coordinate `c` of particle `p` at `t·size·dim + c·size + p`.
    coords: Vec<f64>,
    /// Masses, padded with zeros.
    masses: Vec<f64>,
}

impl Tiles {
    fn new(dim: usize, positions: &[f64], masses: &[f64]) -> Tiles {
        let n = masses.len();
        let padded = padded_dim(dim);
        let size = tile_size(n);
        let count = n.div_ceil(size);
        let mut coords = vec![0.0; count * size * padded];
        let mut padded_masses = vec![0.0; count * size];
        for (i, (x, &m)) in positions.chunks_exact(dim).zip(masses).enumerate() {
            let (tile, local) = (i / size, i % size);
            let base = tile * size * padded;
            for (c, &xc) in x.iter().enumerate() {
                coords[base + c * size + local] = xc;
            }
            padded_masses[i] = m;
        }
        Tiles {
            dim: padded,
            size,
            n,
            count,
            coords,
            masses: padded_masses,
        }
    }

    fn view(&self, tile: usize) -> TileView<'_> {
        let per_tile = self.size * self.dim;
        TileView {
            coords: &self.coords[tile * per_tile..(tile + 1) * per_tile],
            masses: &self.masses[tile * self.size..(tile + 1) * self.size],
            valid: self.size.min(self.n - tile * self.size),
        }
    }
}

/// One tile's data.
#[derive(Clone, Copy)]
struct TileView<'a> {
    coords: &'a [f64],
    masses: &'a [f64],
    /// Real (unpadded) particles.
    valid: usize,
}

/// The weight `exp(beta · s + offset)`: `offset = -beta` for the shifted kernel, 0 for the
/// paper kernel.
#[derive(Clone, Copy)]
pub(crate) struct Weight {
    /// β.
    pub beta: f64,
    /// Added to `β s` before the exponential.
    pub offset: f64,
}

/// One block: rows of one tile against the columns of another (or the same) tile. Sums of a tile
/// are laid out like its coordinates, the weight sum last (component `dim`, or 0 when only
/// weights are summed).
#[inline(always)]
fn block<L: Lanes, const D: usize, const COORDS: bool, const SYMMETRIC: bool>(
    weight: Weight,
    size: usize,
    rows: TileView<'_>,
    cols: TileView<'_>,
    row_sums: &mut [f64],
    col_sums: &mut [f64],
) {
    let beta = L::splat(weight.beta);
    let offset = L::splat(weight.offset);
    let weight_slot = if COORDS { D * size } else { 0 };
    let col_coords: [&[f64]; D] = std::array::from_fn(|c| &cols.coords[c * size..(c + 1) * size]);
    let (col_weights, col_rest) = {
        let (rest, weights) = col_sums.split_at_mut(if SYMMETRIC { weight_slot } else { 0 });
        (weights, rest)
    };
    for i in 0..rows.valid {
        let xi: [L; D] = std::array::from_fn(|c| L::splat(rows.coords[c * size + i]));
        let mi = L::splat(rows.masses[i]);
        let mut acc = [L::splat(0.0); D];
        let mut acc_weight = L::splat(0.0);
        for j in (0..size).step_by(WIDTH) {
            let xj: [L; D] = std::array::from_fn(|c| L::load(&col_coords[c][j..]));
            let mut s = xi[0].mul(xj[0]);
            for c in 1..D {
                s = xi[c].mul_add(xj[c], s);
            }
            let w = exp(s.mul_add(beta, offset));
            let wj = w.mul(L::load(&cols.masses[j..]));
            acc_weight = acc_weight.add(wj);
            if COORDS {
                for c in 0..D {
                    acc[c] = wj.mul_add(xj[c], acc[c]);
                }
            }
            if SYMMETRIC {
                let wi = w.mul(mi);
                let slot = &mut col_weights[j..];
                L::load(slot).add(wi).store(slot);
                if COORDS {
                    for c in 0..D {
                        let slot = &mut col_rest[c * size + j..];
                        wi.mul_add(xi[c], L::load(slot)).store(slot);
                    }
                }
            }
        }
        row_sums[weight_slot + i] += acc_weight.sum();
        if COORDS {
            for c in 0..D {
                row_sums[c * size + i] += acc[c].sum();
            }
        }
    }
}

/// A block kernel for one dimension and kind, on a backend.
type BlockFn = fn(Backend, Weight, usize, TileView<'_>, TileView<'_>, &mut [f64], &mut [f64]);

/// One block as a [`LaneTask`].
struct BlockTask<'a, const D: usize, const COORDS: bool, const SYMMETRIC: bool> {
    weight: Weight,
    size: usize,
    rows: TileView<'a>,
    cols: TileView<'a>,
    row_sums: &'a mut [f64],
    col_sums: &'a mut [f64],
}

impl<const D: usize, const COORDS: bool, const SYMMETRIC: bool> LaneTask
    for BlockTask<'_, D, COORDS, SYMMETRIC>
{
    type Output = ();

    #[inline(always)]
    fn run<L: Lanes>(self) {
        block::<L, D, COORDS, SYMMETRIC>(
            self.weight,
            self.size,
            self.rows,
            self.cols,
            self.row_sums,
            self.col_sums,
        );
    }
}

fn run_block<const D: usize, const COORDS: bool, const SYMMETRIC: bool>(
    backend: Backend,
    weight: Weight,
    size: usize,
    rows: TileView<'_>,
    cols: TileView<'_>,
    row_sums: &mut [f64],
    col_sums: &mut [f64],
) {
    let task = BlockTask::<D, COORDS, SYMMETRIC> {
        weight,
        size,
        rows,
        cols,
        row_sums,
        col_sums,
    };
    run_on(backend, task);
}

/// The (diagonal, off-diagonal) block kernels for a padded dimension and kind.
fn block_fns<const D: usize, const COORDS: bool>() -> [BlockFn; 2] {
    [run_block::<D, COORDS, false>, run_block::<D, COORDS, true>]
}

fn block_table<const COORDS: bool>(dim: usize) -> [BlockFn; 2] {
    match dim {
        2 => block_fns::<2, COORDS>(),
        3 => block_fns::<3, COORDS>(),
        4 => block_fns::<4, COORDS>(),
        8 => block_fns::<8, COORDS>(),
        16 => block_fns::<16, COORDS>(),
        32 => block_fns::<32, COORDS>(),
        64 => block_fns::<64, COORDS>(),
        _ => unreachable!("padded dimensions are 2, 3, 4, 8, 16, 32 or 64"),
    }
}

/// The rounds of a round-robin tournament between `count` tiles (circle method): every pair
/// `(a, b)`, `a < b`, exactly once; within a round no tile appears twice.
fn tournament(count: usize) -> Vec<Vec<(usize, usize)>> {
    let players = count + count % 2; // an odd count gets a bye
    let mut rounds = Vec::with_capacity(players.saturating_sub(1));
    for round in 0..players.saturating_sub(1) {
        let mut pairs = Vec::with_capacity(players / 2);
        for k in 0..players / 2 {
            let (a, b) = if k == 0 {
                (round, players - 1)
            } else {
                let m = players - 1;
                ((round + k) % m, (round + m - k) % m)
            };
            if a < count && b < count {
                pairs.push((a.min(b), a.max(b)));
            }
        }
        rounds.push(pairs);
    }
    rounds
}

/// Per-particle pair sums.
pub(crate) struct PairSums {
    /// `Σ_j m_j w_ij x_j`, row-major `n × dim` (empty when only weights were summed).
    pub vectors: Vec<f64>,
    /// `Σ_j m_j w_ij`.
    pub weights: Vec<f64>,
}

/// Sums `m_j w_ij (x_j, 1)` over all `j` for every `i` (or only the weights when `coords` is
/// false). `dim <= MAX_DIM`.
pub(crate) fn pair_sums(
    backend: Backend,
    weight: Weight,
    dim: usize,
    positions: &[f64],
    masses: &[f64],
    coords: bool,
    par: Par,
) -> PairSums {
    assert!(
        dim <= MAX_DIM,
        "the tiled kernel handles at most {MAX_DIM} dimensions"
    );
    let tiles = Tiles::new(dim, positions, masses);
    let [diagonal, off_diagonal] = if coords {
        block_table::<true>(tiles.dim)
    } else {
        block_table::<false>(tiles.dim)
    };
    let per_tile = tiles.size * if coords { tiles.dim + 1 } else { 1 };
    let mut sums: Vec<Vec<f64>> = (0..tiles.count).map(|_| vec![0.0; per_tile]).collect();
    let size = tiles.size;

    let diagonal_block = |(tile, tile_sums): (usize, &mut Vec<f64>)| {
        let view = tiles.view(tile);
        diagonal(backend, weight, size, view, view, tile_sums, &mut []);
    };
    match par {
        Par::Seq => sums.iter_mut().enumerate().for_each(diagonal_block),
        Par::Rayon => sums.par_iter_mut().enumerate().for_each(diagonal_block),
    }

    for round in tournament(tiles.count) {
        let mut jobs: Vec<(usize, usize, Vec<f64>, Vec<f64>)> = round
            .iter()
            .map(|&(a, b)| {
                (
                    a,
                    b,
                    std::mem::take(&mut sums[a]),
                    std::mem::take(&mut sums[b]),
                )
            })
            .collect();
        let run = |job: &mut (usize, usize, Vec<f64>, Vec<f64>)| {
            let (a, b, row_sums, col_sums) = job;
            off_diagonal(
                backend,
                weight,
                size,
                tiles.view(*a),
                tiles.view(*b),
                row_sums,
                col_sums,
            );
        };
        match par {
            Par::Seq => jobs.iter_mut().for_each(run),
            Par::Rayon => jobs.par_iter_mut().for_each(run),
        }
        for (a, b, row_sums, col_sums) in jobs {
            sums[a] = row_sums;
            sums[b] = col_sums;
        }
    }

    let n = masses.len();
    let mut vectors = if coords {
        vec![0.0; n * dim]
    } else {
        Vec::new()
    };
    let mut weights = vec![0.0; n];
    let weight_slot = if coords { tiles.dim * size } else { 0 };
    for i in 0..n {
        let tile_sums = &sums[i / size];
        let local = i % size;
        weights[i] = tile_sums[weight_slot + local];
        if coords {
            for c in 0..dim {
                vectors[i * dim + c] = tile_sums[c * size + local];
            }
        }
    }
    PairSums { vectors, weights }
}

#[cfg(test)]
mod tests {
    use super::tournament;

    #[test]
    fn tournament_meets_every_pair_once_and_no_tile_twice_a_round() {
        for count in 0..12 {
            let mut seen = vec![vec![0; count]; count];
            for round in tournament(count) {
                let mut busy = vec![false; count];
                for (a, b) in round {
                    assert!(a < b);
                    assert!(!busy[a] && !busy[b]);
                    busy[a] = true;
                    busy[b] = true;
                    seen[a][b] += 1;
                }
            }
            for a in 0..count {
                for b in a + 1..count {
                    assert_eq!(seen[a][b], 1, "count {count}: pair ({a}, {b})");
                }
            }
        }
    }
}
