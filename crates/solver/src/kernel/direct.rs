//! The direct pair kernel: every pair `(i, j)` once, in cache-sized tiles, four lanes at a time.
//!
//! Particles are cut into tiles of `T` particles (a multiple of the lane width, the last one
//! padded with massless particles); inside a tile, particles are stored in groups of four, each
//! group holding its coordinates lane by lane and then its masses, so that one group is one
//! load per coordinate. A *block* is a pair of tiles `(I, J)`, `I < J`: for a few rows `i` of
//! `I` at a time (broadcast, `ROWS` independent exponentials in flight) and each group of four
//! columns `j` of `J` (lanes), it evaluates `w_ij` once and adds `m_j w_ij (x_j, 1)` to `i`'s
//! running sums and `m_i w_ij (x_i, 1)` to `j`'s sums (in place). A diagonal block `(I, I)`
//! takes each row against its own group one-sided (every pair of that group, both ways, and
//! the row itself) and symmetrically against the groups after it. Nothing of size `n × n` is
//! ever stored.
//!
//! Determinism: the tiling depends on `n` only, and so does the order in which each tile
//! receives its contributions. While they fit in `PARTIAL_BUDGET`, every block writes into
//! partial sums of its own (all blocks run in parallel, no barrier), and each tile adds its
//! partials in a fixed order: its diagonal block, then the other tiles by index. Beyond, the
//! blocks are scheduled in rounds of a round-robin tournament (the circle method): within a
//! round every tile appears in at most one block, so the blocks of a round run in parallel
//! without sharing any sums, and each tile accumulates in place, diagonal first, then round by
//! round. Either way the sums are the same bits for any thread count, and — the kernel being
//! written once over `Lanes` — on the portable and the AVX2 backends.
//!
//! Coordinates are padded with zeros to a supported width (`2, 3, 4, 8, 16, 32, 64`): a zero
//! coordinate adds an exact `0 · 0` to the inner product. Wider particles use the scalar path.
//! When every exponent `β s + offset` is known to lie in the fast range of the vectorised `exp`
//! (`|s| <= 1` for unit vectors), its clamp and underflow mask are skipped.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use rayon::prelude::*;

use super::exp::{exp2_rows, EXP2_IN_RANGE_HIGH, EXP2_IN_RANGE_LOW};
use super::lanes::{Lanes, WIDTH};
use super::{run_on, Backend, LaneTask};
use crate::par::Par;

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
/// that there are enough blocks to share, otherwise large ones (fewer row passes per weight;
/// measured faster at n = 2000 and 4000 than 64 or 128).
fn tile_size(n: usize) -> usize {
    match n {
        0..=512 => 64,
        513..=1536 => 128,
        _ => 256,
    }
}

/// The particles cut into tiles of groups of four (one group per lane vector).
struct Tiles {
    /// Padded dimension.
    dim: usize,
    /// Particles per tile.
    size: usize,
    /// Number of particles.
    n: usize,
    /// Number of tiles.
    count: usize,
    /// Groups of four particles, `(dim + 1) · 4` values each: coordinate `c` of lane `l` at
    /// `c · 4 + l`, the mass at `dim · 4 + l`. Tile `t` holds groups `t · size / 4 ..`.
    data: Vec<f64>,
}

impl Tiles {
    /// The tiles of `positions` with `masses`, or with unit masses when `unit` (padding keeps
    /// mass 0 either way).
    fn new(dim: usize, positions: &[f64], masses: &[f64], unit: bool) -> Tiles {
        let n = masses.len();
        let padded = padded_dim(dim);
        let size = tile_size(n);
        let count = n.div_ceil(size);
        let group = (padded + 1) * WIDTH;
        let mut data = vec![0.0; count * size / WIDTH * group];
        for (i, (x, &m)) in positions.chunks_exact(dim).zip(masses).enumerate() {
            let (base, lane) = ((i / WIDTH) * group, i % WIDTH);
            for (c, &xc) in x.iter().enumerate() {
                data[base + c * WIDTH + lane] = xc;
            }
            data[base + padded * WIDTH + lane] = if unit { 1.0 } else { m };
        }
        Tiles {
            dim: padded,
            size,
            n,
            count,
            data,
        }
    }

    fn view(&self, tile: usize) -> TileView<'_> {
        let per_tile = self.size / WIDTH * (self.dim + 1) * WIDTH;
        TileView {
            data: &self.data[tile * per_tile..(tile + 1) * per_tile],
            valid: self.size.min(self.n - tile * self.size),
        }
    }
}

/// One tile's data (see [`Tiles::data`]).
#[derive(Clone, Copy)]
struct TileView<'a> {
    data: &'a [f64],
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

/// What a block sums (the `KIND` of the block kernels): `m_j w_ij` only ([`WEIGHTS`]), `m_j w_ij
/// (x_j, 1)` ([`BOTH`]), or `m_j w_ij x_j` only ([`COORDINATES`]: USA needs no `Σ_j m_j w_ij`).
/// The sums keep the layout of [`BOTH`] for the last two, the weight slot left at zero.
const WEIGHTS: u8 = 0;
/// See [`WEIGHTS`].
const BOTH: u8 = 1;
/// See [`WEIGHTS`].
const COORDINATES: u8 = 2;

/// Rows per pass of a block: that many independent exponentials are in flight per group of
/// columns. Divides the lane width, so the rows of a pass share one group.
const ROWS: usize = 4;

/// `ROWS` consecutive rows (broadcast) with their running sums. Rows past the end of the tile
/// are stand-ins: mass 0, sums dropped.
struct RowBlock<L, const D: usize> {
    x: [[L; D]; ROWS],
    /// `β log2(e) x`, for the exponent in base 2, `<β log2(e) x_i, x_j> + offset log2(e)`.
    scaled: [[L; D]; ROWS],
    mass: [L; ROWS],
    acc: [[L; D]; ROWS],
    weight: [L; ROWS],
    /// Real rows.
    active: usize,
}

impl<L: Lanes, const D: usize> RowBlock<L, D> {
    /// Rows `first ..` of a tile (`first` a multiple of `ROWS`), `active` of them real.
    ///
    /// Plain loops rather than `array::from_fn`: its closures are not always inlined, and
    /// outside the caller's `target_feature` context each lane operation would be a call.
    #[inline(always)]
    fn load(data: &[f64], first: usize, active: usize, beta2: f64) -> Self {
        let group = &data[(first / WIDTH) * (D + 1) * WIDTH..][..(D + 1) * WIDTH];
        let zero = L::splat(0.0);
        let mut rows = RowBlock {
            x: [[zero; D]; ROWS],
            scaled: [[zero; D]; ROWS],
            mass: [zero; ROWS],
            acc: [[zero; D]; ROWS],
            weight: [zero; ROWS],
            active,
        };
        for row in 0..ROWS {
            // Stand-ins repeat the first row's coordinates, with mass 0.
            let lane = first % WIDTH + if row < active { row } else { 0 };
            for c in 0..D {
                let x = group[c * WIDTH + lane];
                rows.x[row][c] = L::splat(x);
                rows.scaled[row][c] = L::splat(beta2 * x);
            }
            if row < active {
                rows.mass[row] = L::splat(group[D * WIDTH + lane]);
            }
        }
        rows
    }

    /// Adds the row sums into a tile's sums laid out in groups of `width · 4` (coordinates
    /// first unless `KIND` is [`WEIGHTS`], the weight last; left alone for [`COORDINATES`]).
    #[inline(always)]
    fn store<const KIND: u8>(&self, sums: &mut [f64], first: usize) {
        let width = if KIND != WEIGHTS { D + 1 } else { 1 };
        let group = &mut sums[(first / WIDTH) * width * WIDTH..][..width * WIDTH];
        let lane = first % WIDTH;
        for row in 0..self.active {
            if KIND != COORDINATES {
                group[(width - 1) * WIDTH + lane + row] += self.weight[row].sum();
            }
            if KIND != WEIGHTS {
                for c in 0..D {
                    group[c * WIDTH + lane + row] += self.acc[row][c].sum();
                }
            }
        }
    }

    /// Interacts the rows with one group of four columns: `w` computed once per pair, added to
    /// the rows' running sums and, when `SYMMETRIC`, to the columns' sums in `col_sums`.
    #[inline(always)]
    fn against<const KIND: u8, const SYMMETRIC: bool, const CHECKED: bool, const UNIT: bool>(
        &mut self,
        weight: Weight,
        group: &[f64],
        col_sums: &mut [f64],
    ) {
        let w = self.weights::<CHECKED>(weight, group);
        self.accumulate::<KIND, SYMMETRIC, UNIT>(w, group, col_sums);
    }

    /// [`Self::against`] over a run of groups, software-pipelined: the weights of the next group
    /// are computed before the current group's are added, so that the exponential's long
    /// dependency chain overlaps the additions. The sums see the same additions in the same
    /// order, so the bits are those of one `against` per group.
    #[inline(always)]
    fn against_all<'g, const KIND: u8, const CHECKED: bool, const UNIT: bool>(
        &mut self,
        weight: Weight,
        mut groups: impl Iterator<Item = (&'g [f64], &'g mut [f64])>,
    ) {
        let Some((mut group, mut sums)) = groups.next() else {
            return;
        };
        let mut w = self.weights::<CHECKED>(weight, group);
        for (next_group, next_sums) in groups {
            let next_w = self.weights::<CHECKED>(weight, next_group);
            self.accumulate::<KIND, true, UNIT>(w, group, sums);
            (w, group, sums) = (next_w, next_group, next_sums);
        }
        self.accumulate::<KIND, true, UNIT>(w, group, sums);
    }

    /// The weights of the rows against one group of four columns.
    #[inline(always)]
    fn weights<const CHECKED: bool>(&self, weight: Weight, group: &[f64]) -> [L; ROWS] {
        let xj = coordinates::<L, D>(group);
        let mut exponents = [L::splat(weight.offset); ROWS];
        for (t, scaled) in exponents.iter_mut().zip(&self.scaled) {
            for c in 0..D {
                *t = scaled[c].mul_add(xj[c], *t);
            }
        }
        exp2_rows::<L, ROWS, CHECKED>(exponents)
    }

    /// Adds the weights `w` of the rows against a group to the rows' sums and, when
    /// `SYMMETRIC`, to the group's sums in `col_sums`.
    #[inline(always)]
    fn accumulate<const KIND: u8, const SYMMETRIC: bool, const UNIT: bool>(
        &mut self,
        w: [L; ROWS],
        group: &[f64],
        col_sums: &mut [f64],
    ) {
        let xj = coordinates::<L, D>(group);
        let mj = L::load(&group[D * WIDTH..]);
        for row in 0..ROWS {
            let wj = if UNIT { w[row] } else { w[row].mul(mj) };
            if KIND != COORDINATES {
                self.weight[row] = self.weight[row].add(wj);
            }
            if KIND != WEIGHTS {
                for c in 0..D {
                    self.acc[row][c] = wj.mul_add(xj[c], self.acc[row][c]);
                }
            }
        }
        if SYMMETRIC {
            let width = if KIND != WEIGHTS { D + 1 } else { 1 };
            let col_sums = &mut col_sums[..width * WIDTH];
            let mut wi = w;
            if !UNIT {
                for (wi, mass) in wi.iter_mut().zip(self.mass) {
                    *wi = wi.mul(mass);
                }
            }
            if KIND != COORDINATES {
                let slot = &mut col_sums[(width - 1) * WIDTH..];
                let mut total = L::load(slot);
                for weight in wi {
                    total = total.add(weight);
                }
                total.store(slot);
            }
            if KIND != WEIGHTS {
                for c in 0..D {
                    let slot = &mut col_sums[c * WIDTH..];
                    let mut total = L::load(slot);
                    for row in 0..ROWS {
                        total = wi[row].mul_add(self.x[row][c], total);
                    }
                    total.store(slot);
                }
            }
        }
    }
}

/// The `D` coordinates of a group of four particles, one vector each.
#[inline(always)]
fn coordinates<L: Lanes, const D: usize>(group: &[f64]) -> [L; D] {
    let group = &group[..(D + 1) * WIDTH];
    let mut xj = [L::splat(0.0); D];
    for (c, x) in xj.iter_mut().enumerate() {
        *x = L::load(&group[c * WIDTH..]);
    }
    xj
}

/// One block. Off the diagonal (`SYMMETRIC`): every row of `rows` against every column of
/// `cols`, each weight feeding both sides. On the diagonal (`rows` and `cols` the same tile,
/// `col_sums` empty): each row against its own group of four one-sided, and symmetrically
/// against the groups after it, so each pair of distinct groups is met once. Rows go `ROWS`
/// at a time; columns stop at the last group holding a real particle (a group of padding alone
/// would only add `0 · w`). `CHECKED` selects the full-range `exp`; without it the arguments
/// must lie in its fast range. `UNIT` skips the multiplications by the masses: only for blocks
/// whose masses are all 1 and whose tiles hold whole groups of real particles, so that no
/// padding is met (multiplying by 1 being exact, the sums are the same bits).
#[inline(always)]
fn block<
    L: Lanes,
    const D: usize,
    const KIND: u8,
    const SYMMETRIC: bool,
    const CHECKED: bool,
    const UNIT: bool,
>(
    Block {
        weight,
        rows,
        cols,
        row_sums,
        col_sums,
    }: Block<'_>,
) {
    let group = (D + 1) * WIDTH;
    let width = if KIND != WEIGHTS { D + 1 } else { 1 };
    let col_groups = cols.valid.div_ceil(WIDTH);
    for first in (0..rows.valid).step_by(ROWS) {
        let mut block_rows =
            RowBlock::<L, D>::load(rows.data, first, ROWS.min(rows.valid - first), weight.beta);
        if SYMMETRIC {
            block_rows.against_all::<KIND, CHECKED, UNIT>(
                weight,
                cols.data
                    .chunks_exact(group)
                    .zip(col_sums.chunks_exact_mut(width * WIDTH))
                    .take(col_groups),
            );
            block_rows.store::<KIND>(row_sums, first);
        } else {
            let own = first / WIDTH;
            let (head, tail) = row_sums.split_at_mut((own + 1) * width * WIDTH);
            block_rows.against::<KIND, false, CHECKED, UNIT>(
                weight,
                &cols.data[own * group..],
                &mut [],
            );
            block_rows.against_all::<KIND, CHECKED, UNIT>(
                weight,
                cols.data[(own + 1) * group..]
                    .chunks_exact(group)
                    .zip(tail.chunks_exact_mut(width * WIDTH))
                    .take(col_groups - own - 1),
            );
            block_rows.store::<KIND>(head, first);
        }
    }
}

/// The operands of one block.
struct Block<'a> {
    /// In base 2 (β and the offset times `log2 e`).
    weight: Weight,
    rows: TileView<'a>,
    cols: TileView<'a>,
    row_sums: &'a mut [f64],
    /// Empty on the diagonal.
    col_sums: &'a mut [f64],
}

/// A block kernel for one dimension and kind, on a backend.
type BlockFn = fn(Backend, Block<'_>);

/// One block of a given dimension and kind as a [`LaneTask`].
struct BlockTask<
    'a,
    const D: usize,
    const KIND: u8,
    const SYMMETRIC: bool,
    const CHECKED: bool,
    const UNIT: bool,
>(Block<'a>);

impl<
        const D: usize,
        const KIND: u8,
        const SYMMETRIC: bool,
        const CHECKED: bool,
        const UNIT: bool,
    > LaneTask for BlockTask<'_, D, KIND, SYMMETRIC, CHECKED, UNIT>
{
    type Output = ();

    #[inline(always)]
    fn run<L: Lanes>(self) {
        block::<L, D, KIND, SYMMETRIC, CHECKED, UNIT>(self.0);
    }
}

fn run_block<
    const D: usize,
    const KIND: u8,
    const SYMMETRIC: bool,
    const CHECKED: bool,
    const UNIT: bool,
>(
    backend: Backend,
    block: Block<'_>,
) {
    run_on(
        backend,
        BlockTask::<D, KIND, SYMMETRIC, CHECKED, UNIT>(block),
    );
}

/// The block kernels for a padded dimension and kind: diagonal, off-diagonal, and the same two
/// for unit masses (the full-range `exp` has no unit-mass kernels of its own: it is rare, and
/// its mass kernels give the same bits).
fn block_fns<const D: usize, const KIND: u8>(checked: bool) -> [BlockFn; 4] {
    if checked {
        [
            run_block::<D, KIND, false, true, false>,
            run_block::<D, KIND, true, true, false>,
            run_block::<D, KIND, false, true, false>,
            run_block::<D, KIND, true, true, false>,
        ]
    } else {
        [
            run_block::<D, KIND, false, false, false>,
            run_block::<D, KIND, true, false, false>,
            run_block::<D, KIND, false, false, true>,
            run_block::<D, KIND, true, false, true>,
        ]
    }
}

fn block_table<const KIND: u8>(dim: usize, checked: bool) -> [BlockFn; 4] {
    match dim {
        2 => block_fns::<2, KIND>(checked),
        3 => block_fns::<3, KIND>(checked),
        4 => block_fns::<4, KIND>(checked),
        8 => block_fns::<8, KIND>(checked),
        16 => block_fns::<16, KIND>(checked),
        32 => block_fns::<32, KIND>(checked),
        64 => block_fns::<64, KIND>(checked),
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

/// Largest number of f64 kept in per-block partial sums (16 MiB); larger problems accumulate
/// in place, round by round.
const PARTIAL_BUDGET: usize = 1 << 21;

/// A block runner: `(row tile, column tile, row sums, column sums)`, the column sums empty on the
/// diagonal.
type RunBlock<'a> = dyn Fn(usize, usize, &mut [f64], &mut [f64]) + Sync + 'a;

thread_local! {
    /// The per-block partial sums of [`sums_from_partials`], kept between calls on the calling
    /// thread: a step would otherwise allocate and fault in a few hundred kilobytes afresh. Taken
    /// out while in use, so that a call nested by work stealing gets a buffer of its own.
    static PARTIALS: std::cell::Cell<Vec<f64>> = const { std::cell::Cell::new(Vec::new()) };
}

/// Every block at once, each into zeroed partial sums of its own (no barrier between blocks);
/// [`TileSums::tile`] then adds each tile's partials in a fixed order, so that the sums are the
/// same bits for any thread count.
///
/// The blocks are handed out largest first (`cost`: pairs in the block) from a shared counter,
/// one at a time to whichever thread is free, so that the threads finish together: the last
/// blocks taken are the smallest.
fn sums_from_partials(
    count: usize,
    per_tile: usize,
    par: Par,
    cost: impl Fn(usize, usize) -> usize,
    run: impl Fn(usize, usize, &mut [f64], &mut [f64]) + Sync,
) -> TileSums {
    let blocks: Vec<(usize, usize)> = (0..count)
        .flat_map(|a| (a..count).map(move |b| (a, b)))
        .collect();
    let mut partials = PARTIALS.take();
    // Block k writes its row sums, then (off the diagonal) its column sums, into chunk k.
    partials.resize(blocks.len() * 2 * per_tile, 0.0);
    let evaluate = |(a, b): (usize, usize), chunk: &mut [f64]| {
        chunk.fill(0.0);
        let (row_sums, col_sums) = chunk.split_at_mut(per_tile);
        run(a, b, row_sums, if a == b { &mut [] } else { col_sums });
    };
    let chunks = partials.chunks_exact_mut(2 * per_tile);
    match par {
        Par::Seq => blocks
            .iter()
            .zip(chunks)
            .for_each(|(&block, chunk)| evaluate(block, chunk)),
        Par::Rayon => {
            let mut order: Vec<usize> = (0..blocks.len()).collect();
            order.sort_by_key(|&k| std::cmp::Reverse(cost(blocks[k].0, blocks[k].1)));
            let chunks: Vec<Mutex<&mut [f64]>> = chunks.map(Mutex::new).collect();
            let next = AtomicUsize::new(0);
            (0..rayon::current_num_threads().min(blocks.len()))
                .into_par_iter()
                .with_max_len(1)
                .for_each(|_| {
                    while let Some(&k) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
                        let mut chunk = chunks[k].lock().expect("each block is taken once");
                        evaluate(blocks[k], &mut chunk);
                    }
                });
        }
    }
    TileSums::Partials {
        count,
        per_tile,
        partials,
    }
}

/// Every tile's sums, as the blocks left them.
enum TileSums {
    /// Per-block partial sums ([`sums_from_partials`]), in [`PARTIALS`]' buffer.
    Partials {
        count: usize,
        per_tile: usize,
        partials: Vec<f64>,
    },
    /// Each tile's complete sums ([`sums_by_rounds`]).
    Complete(Vec<Vec<f64>>),
}

impl TileSums {
    /// Tile `tile`'s sums: its diagonal block's partials, then those of the blocks it shares
    /// with the other tiles in index order (added into `scratch`), or its complete sums.
    fn tile<'a>(&'a self, tile: usize, scratch: &'a mut Vec<f64>) -> &'a [f64] {
        match self {
            TileSums::Complete(sums) => &sums[tile],
            &TileSums::Partials {
                count,
                per_tile,
                ref partials,
            } => {
                // Block (a, b), a <= b, sits at index a·count - a(a-1)/2 + (b - a).
                let index = |a: usize, b: usize| a * count - a * a.saturating_sub(1) / 2 + (b - a);
                let rows = |k: usize| &partials[2 * k * per_tile..][..per_tile];
                let cols = |k: usize| &partials[(2 * k + 1) * per_tile..][..per_tile];
                scratch.clear();
                scratch.extend_from_slice(rows(index(tile, tile)));
                for other in (0..count).filter(|&other| other != tile) {
                    let partial = if other < tile {
                        cols(index(other, tile))
                    } else {
                        rows(index(tile, other))
                    };
                    scratch.iter_mut().zip(partial).for_each(|(t, p)| *t += p);
                }
                scratch
            }
        }
    }

    /// Returns the partials' buffer for the next call.
    fn recycle(self) {
        if let TileSums::Partials { partials, .. } = self {
            PARTIALS.set(partials);
        }
    }
}

/// The diagonal blocks, then the rounds of `tournament`, each block adding into the sums of
/// its two tiles in place (no two blocks of a round share a tile).
fn sums_by_rounds(count: usize, per_tile: usize, par: Par, run: &RunBlock<'_>) -> TileSums {
    let mut sums: Vec<Vec<f64>> = (0..count).map(|_| vec![0.0; per_tile]).collect();
    let diagonal = |(tile, tile_sums): (usize, &mut Vec<f64>)| run(tile, tile, tile_sums, &mut []);
    match par {
        Par::Seq => sums.iter_mut().enumerate().for_each(diagonal),
        Par::Rayon => sums.par_iter_mut().enumerate().for_each(diagonal),
    }
    for round in tournament(count) {
        let mut jobs: Vec<(usize, usize, Vec<f64>, Vec<f64>)> = round
            .iter()
            .map(|&(a, b)| {
                let (row, col) = (std::mem::take(&mut sums[a]), std::mem::take(&mut sums[b]));
                (a, b, row, col)
            })
            .collect();
        let job = |(a, b, row, col): &mut (usize, usize, Vec<f64>, Vec<f64>)| run(*a, *b, row, col);
        match par {
            Par::Seq => jobs.iter_mut().for_each(job),
            Par::Rayon => jobs.par_iter_mut().for_each(job),
        }
        for (a, b, row, col) in jobs {
            sums[a] = row;
            sums[b] = col;
        }
    }
    TileSums::Complete(sums)
}

/// What [`pair_sums`] does with each particle's sums.
pub(crate) enum Rows<'a> {
    /// Writes `S_i = Σ_j m_j w_ij x_j` into row `i` of `out` (`n × dim`), then calls
    /// `finish(i, Z_i, row)` with `Z_i = Σ_j m_j w_ij` when `weights`, NaN otherwise (the
    /// weights are then not summed).
    Vectors {
        out: &'a mut [f64],
        weights: bool,
        finish: &'a (dyn Fn(usize, f64, &mut [f64]) + Sync),
    },
    /// Writes `Z_i` into `out[i]`.
    Weights { out: &'a mut [f64] },
}

/// Sums `m_j w_ij (x_j, 1)` over all `j` for every `i` (or only the weights, for
/// [`Rows::Weights`]), and hands them to `rows`, tile by tile in parallel. `dim <= MAX_DIM`.
pub(crate) fn pair_sums(
    backend: Backend,
    weight: Weight,
    dim: usize,
    positions: &[f64],
    masses: &[f64],
    rows: Rows<'_>,
    par: Par,
) {
    assert!(
        dim <= MAX_DIM,
        "the tiled kernel handles at most {MAX_DIM} dimensions"
    );
    let coords = matches!(rows, Rows::Vectors { .. });
    // Equal masses (every run until particles merge): the sums are formed with unit masses and
    // scaled once at the end, which saves two multiplications per pair.
    let uniform = masses.iter().all(|&m| m == masses[0]);
    let tiles = Tiles::new(dim, positions, masses, uniform);
    // The blocks take the weight in base 2: `2^(β log2(e) s + offset log2(e))`.
    let weight = Weight {
        beta: weight.beta * std::f64::consts::LOG2_E,
        offset: weight.offset * std::f64::consts::LOG2_E,
    };
    // Unit vectors have |s| <= 1 up to rounding: the exponent lies in β [-1, 1] + offset.
    let reach = weight.beta * (1.0 + 1e-9);
    let checked = !(weight.offset - reach >= EXP2_IN_RANGE_LOW
        && weight.offset + reach <= EXP2_IN_RANGE_HIGH);
    let table = match rows {
        Rows::Vectors { weights: true, .. } => block_table::<BOTH>(tiles.dim, checked),
        Rows::Vectors { weights: false, .. } => block_table::<COORDINATES>(tiles.dim, checked),
        Rows::Weights { .. } => block_table::<WEIGHTS>(tiles.dim, checked),
    };
    let per_tile = tiles.size * if coords { tiles.dim + 1 } else { 1 };
    let size = tiles.size;
    let run = |a: usize, b: usize, row_sums: &mut [f64], col_sums: &mut [f64]| {
        // Padding is met only in a group that also holds real particles (see `block`).
        let whole = |tile: usize| tiles.view(tile).valid.is_multiple_of(WIDTH);
        let unit = uniform && whole(a) && whole(b);
        let kernel = table[usize::from(a != b) + 2 * usize::from(unit)];
        let block = Block {
            weight,
            rows: tiles.view(a),
            cols: tiles.view(b),
            row_sums,
            col_sums,
        };
        kernel(backend, block);
    };
    let sums = if tiles.count * tiles.count * per_tile <= PARTIAL_BUDGET {
        let cost = |a: usize, b: usize| {
            let pairs = tiles.view(a).valid * tiles.view(b).valid;
            if a == b {
                pairs / 2
            } else {
                pairs
            }
        };
        sums_from_partials(tiles.count, per_tile, par, cost, run)
    } else {
        sums_by_rounds(tiles.count, per_tile, par, &run)
    };

    // Each tile's rows, unpacked from its sums and scaled back from unit masses.
    let width = if coords { tiles.dim + 1 } else { 1 };
    let scale = if uniform { masses[0] } else { 1.0 };
    let entry = |sums: &[f64], local: usize, c: usize| {
        sums[(local / WIDTH) * width * WIDTH + c * WIDTH + local % WIDTH] * scale
    };
    match rows {
        Rows::Vectors {
            out,
            weights,
            finish,
        } => {
            let job = |(tile, chunk): (usize, &mut [f64])| {
                let mut scratch = Vec::new();
                let sums = sums.tile(tile, &mut scratch);
                for (local, row) in chunk.chunks_exact_mut(dim).enumerate() {
                    for (c, value) in row.iter_mut().enumerate() {
                        *value = entry(sums, local, c);
                    }
                    let weight_sum = if weights {
                        entry(sums, local, width - 1)
                    } else {
                        f64::NAN
                    };
                    finish(tile * size + local, weight_sum, row);
                }
            };
            match par {
                Par::Seq => out.chunks_mut(size * dim).enumerate().for_each(job),
                Par::Rayon => out.par_chunks_mut(size * dim).enumerate().for_each(job),
            }
        }
        Rows::Weights { out } => {
            let job = |(tile, chunk): (usize, &mut [f64])| {
                let mut scratch = Vec::new();
                let sums = sums.tile(tile, &mut scratch);
                for (local, value) in chunk.iter_mut().enumerate() {
                    *value = entry(sums, local, 0);
                }
            };
            match par {
                Par::Seq => out.chunks_mut(size).enumerate().for_each(job),
                Par::Rayon => out.par_chunks_mut(size).enumerate().for_each(job),
            }
        }
    }
    sums.recycle();
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
