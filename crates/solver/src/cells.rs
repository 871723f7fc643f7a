//! A uniform grid of cubic cells over points of the unit sphere in R^d, for fixed-radius
//! neighbour searches in O(n) expected time.
//!
//! The grid cuts space along the first `min(d, 3)` coordinates only. A projection shortens
//! distances, so two points within Euclidean distance `side` of each other always lie in the
//! same or in adjacent cells of the projected grid: searching the `3^g` cells around a point
//! finds every such neighbour, in any dimension (in more than three dimensions some candidates
//! are farther, and the caller's exact test drops them). The points are sorted by cell once;
//! a cell is a range of that order, found by binary search of its key.

/// Largest number of coordinates the grid cuts along.
const MAX_GRID_DIMS: usize = 3;

/// Smallest cell side (a search radius of 0 finds coincident points): keeps the cells' integer
/// coordinates small, and a grid much finer than the coordinates' rounding would find nothing
/// more.
const MIN_SIDE: f64 = 1e-9;

/// A cell's integer coordinates (unused axes are 0).
pub type CellKey = [i64; MAX_GRID_DIMS];

/// Points sorted into cubic cells of side at least `side`.
#[derive(Debug, Clone)]
pub struct Cells {
    grid_dims: usize,
    side: f64,
    /// Point indices (into the caller's list) in cell order.
    pub order: Vec<usize>,
    /// Each occupied cell's key and its range in `order`, by increasing key.
    pub cells: Vec<(CellKey, usize, usize)>,
}

impl Cells {
    /// Sorts the points `points(k)` for `k` in `0..len`, each of dimension `dim`, into cells of
    /// side `side` (raised to at least `MIN_SIDE`).
    pub fn new<'a>(dim: usize, len: usize, side: f64, point: impl Fn(usize) -> &'a [f64]) -> Cells {
        let grid_dims = dim.min(MAX_GRID_DIMS);
        let side = side.max(MIN_SIDE);
        let mut keyed: Vec<(CellKey, usize)> = (0..len)
            .map(|k| (key_of(grid_dims, side, point(k)), k))
            .collect();
        keyed.sort_unstable();
        let mut cells: Vec<(CellKey, usize, usize)> = Vec::new();
        for (position, &(key, _)) in keyed.iter().enumerate() {
            match cells.last_mut() {
                Some(last) if last.0 == key => last.2 = position + 1,
                _ => cells.push((key, position, position + 1)),
            }
        }
        Cells {
            grid_dims,
            side,
            order: keyed.into_iter().map(|(_, k)| k).collect(),
            cells,
        }
    }

    /// The cell side.
    pub fn side(&self) -> f64 {
        self.side
    }

    /// The key of the cell holding `x`.
    pub fn key(&self, x: &[f64]) -> CellKey {
        key_of(self.grid_dims, self.side, x)
    }

    /// The range in `order` of the cell `key`, if occupied.
    pub fn find(&self, key: &CellKey) -> Option<(usize, usize)> {
        self.cells
            .binary_search_by(|(k, _, _)| k.cmp(key))
            .ok()
            .map(|slot| (self.cells[slot].1, self.cells[slot].2))
    }

    /// The offsets of the `3^g` cells around a cell, the cell itself included, in increasing
    /// order.
    pub fn neighbour_offsets(&self) -> Vec<CellKey> {
        let mut offsets = vec![[0i64; MAX_GRID_DIMS]];
        for axis in 0..self.grid_dims {
            offsets = offsets
                .into_iter()
                .flat_map(|o| {
                    [-1i64, 0, 1].map(|step| {
                        let mut next = o;
                        next[axis] = step;
                        next
                    })
                })
                .collect();
        }
        offsets.sort_unstable();
        offsets
    }

    /// Calls `visit(k)` for every point `k` in the cells around `x` (every point within `side`
    /// of `x` among them).
    pub fn for_each_near(&self, x: &[f64], offsets: &[CellKey], mut visit: impl FnMut(usize)) {
        let centre = self.key(x);
        for offset in offsets {
            if let Some((begin, end)) = self.find(&shifted(&centre, offset)) {
                self.order[begin..end].iter().for_each(|&k| visit(k));
            }
        }
    }
}

/// `key + offset`, saturating.
pub fn shifted(key: &CellKey, offset: &CellKey) -> CellKey {
    [
        key[0].saturating_add(offset[0]),
        key[1].saturating_add(offset[1]),
        key[2].saturating_add(offset[2]),
    ]
}

fn key_of(grid_dims: usize, side: f64, x: &[f64]) -> CellKey {
    let mut key = [0i64; MAX_GRID_DIMS];
    for axis in 0..grid_dims {
        // `as` saturates; floor keeps cells half-open, so a point sits in exactly one.
        key[axis] = (x[axis] / side).floor() as i64;
    }
    key
}
