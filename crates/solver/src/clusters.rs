//! Clusters, heavy atoms, window mass and merging (MODEL.md §6).
//!
//! On S^1 clusters are greedy arcs: sort the angles, start after the largest gap, and open a new
//! cluster when an angle exceeds the current cluster's first angle by more than `r` (so every
//! cluster has diameter at most `r`). On `S^{d-1}`, `d >= 3`, they are the connected components of
//! the graph "geodesic distance <= r" (single linkage).
//!
//! # Cost
//!
//! Every measurement a check takes is O(n) expected, never all pairs:
//! - single linkage sorts the particles into cells of side the chord `2 sin(r/2)` ([`Cells`]) and
//!   compares only particles of the same or adjacent cells; two adjacent cells already wholly in
//!   one component are not compared at all (so a dense spread state costs O(n), not O(n · its
//!   neighbours));
//! - a cluster's spread (its largest pairwise distance) is bounded through its centre: pairs
//!   whose distances to the centre cannot add up to the widest pair found so far are skipped, and
//!   a cluster wider than a quarter circle is searched from the other side, the farthest point
//!   from `x` being the nearest to `-x` (`|x - y|² + |x + y|² = 4`), in cells of the width that
//!   can still beat the widest pair.
//!
//! Both give exactly the all-pairs results (`reference::linkage_groups`,
//! `reference::widest_chord_sq`): the same pairs are linked (only pairs that cannot be, or that are
//! already connected, are skipped), and the spread is the same largest chord computed by the same
//! formula; the property tests of `tests/clusters.rs` check it.
//!
//! # Merging into atoms
//!
//! [`merge_close`] replaces each group of particles within `measure.merge_tol` of each other
//! (single linkage) by one atom at the group's normalized mass-weighted mean, carrying the group's
//! total mass. The run loop applies it at every check, so the state shrinks: a run that has
//! collapsed into a few atoms then costs a few atoms per step (positions, masses, velocities and
//! snapshots all have the atoms' length; the final state reports the atoms with their masses).
//!
//! Why this is exact for coincident particles: the field `F(x; μ)` at a point depends on the
//! particles only through the measure `μ = Σ m_j δ_{x_j}`. Two particles at the same point `x`
//! feel the same field `F(x; μ)` and so have the same velocity; the system of the particles is
//! autonomous and has unique solutions (the field is smooth for smooth σ, Lipschitz for ReLU),
//! so the two stay together forever and `μ` is the same measure whether they are kept apart or
//! held as one atom of mass `m_a + m_b`. Merging them changes nothing of the mean-field dynamics
//! (only the rounding of the sums, which are taken over fewer terms).
//!
//! With `merge_tol > 0`, each particle of a group is moved by at most the group's diameter `δ`
//! (at most `merge_tol` for a pair, `(k - 1) merge_tol` for a chain of `k`). The field is
//! Lipschitz in the positions of the particles (in the largest displacement of any particle)
//! with some constant `L`: for USA with the shifted kernel the attention part has `L <= 2β + 3`
//! (weights at most 1, their gradients at most β, masses summing to 1), the perceptron adds
//! `Σ_j |s_j|` times σ's Lipschitz constant plus its projection term. So the field of every
//! particle changes by at most `L δ`, and by Grönwall the merged trajectories stay within
//! `δ e^{L t}` of the unmerged ones. Merging only groups already within a tiny `merge_tol` keeps that error at the
//! level of the tolerance.

use serde::{Deserialize, Serialize};

use crate::cells::{shifted, CellKey, Cells};
use crate::sphere::{angle, dot};
use crate::state::State;

/// One cluster of particles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cluster {
    /// Total mass.
    pub mass: f64,
    /// Mass-weighted mean direction, normalized.
    pub centre: Vec<f64>,
    /// Largest geodesic distance between two of its particles.
    pub spread: f64,
    /// Number of particles (atoms) in it.
    pub size: usize,
}

/// What the measurements of one state give.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observables {
    /// Clusters, heaviest first.
    pub clusters: Vec<Cluster>,
    /// Number of clusters.
    pub n_clusters: usize,
    /// Number of clusters of mass at least `heavy_mass`.
    pub n_heavy: usize,
    /// Mass of the heaviest cluster.
    pub max_cluster_mass: f64,
    /// Largest mass in any window of length `window_length` (an arc on S^1).
    pub max_window_mass: f64,
    /// Largest cluster spread.
    pub max_spread: f64,
}

/// Geodesic distance from the squared chord length `|x - y|²`, accurate for nearby points.
#[inline]
fn chord_sq_to_geodesic(chord_sq: f64) -> f64 {
    2.0 * (0.5 * chord_sq.sqrt()).min(1.0).asin()
}

/// `|a - b|²`, summed in coordinate order (the oracle of `reference` uses the same formula).
#[inline]
pub fn chord_sq(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// Measures a state: clusters at `radius`, heavy atoms, window mass.
pub fn observe(state: &State, radius: f64, window_length: f64, heavy_mass: f64) -> Observables {
    let groups = groups(state, radius);
    let mut clusters: Vec<Cluster> = groups.iter().map(|g| summarize(state, g)).collect();
    clusters.sort_by(|a, b| b.mass.total_cmp(&a.mass));
    let n_heavy = clusters.iter().filter(|c| c.mass >= heavy_mass).count();
    let max_cluster_mass = clusters.first().map_or(0.0, |c| c.mass);
    let max_spread = clusters.iter().map(|c| c.spread).fold(0.0, f64::max);
    Observables {
        n_clusters: clusters.len(),
        n_heavy,
        max_cluster_mass,
        max_window_mass: window_mass(state, window_length),
        max_spread,
        clusters,
    }
}

/// The count and the exact largest spread (the stopping rule asks only how the spread compares
/// with limits: [`count_and_spread_within`]).
pub fn count_and_spread(state: &State, radius: f64) -> (usize, f64) {
    let groups = groups(state, radius);
    let spread = groups.iter().map(|g| spread(state, g)).fold(0.0, f64::max);
    (groups.len(), spread)
}

/// Clusters as index lists: greedy arcs on S^1, single linkage otherwise.
fn groups(state: &State, radius: f64) -> Vec<Vec<usize>> {
    if state.dim == 2 {
        circle_groups(state, radius)
    } else {
        linkage_groups(state, radius)
    }
}

/// The normalized mass-weighted mean of `members` (the first member's position when the mean
/// vanishes) and their total mass.
fn mean_direction(state: &State, members: &[usize]) -> (Vec<f64>, f64) {
    let mut centre = vec![0.0; state.dim];
    let mut mass = 0.0;
    for &i in members {
        mass += state.masses[i];
        for (c, &x) in centre.iter_mut().zip(state.position(i)) {
            *c += state.masses[i] * x;
        }
    }
    let length = dot(&centre, &centre).sqrt();
    if length > 1e-300 {
        centre.iter_mut().for_each(|c| *c /= length);
    } else {
        centre.copy_from_slice(state.position(members[0]));
    }
    (centre, mass)
}

fn summarize(state: &State, members: &[usize]) -> Cluster {
    let (centre, mass) = mean_direction(state, members);
    Cluster {
        mass,
        centre,
        spread: spread(state, members),
        size: members.len(),
    }
}

fn spread(state: &State, members: &[usize]) -> f64 {
    if state.dim == 2 && members.len() > 1 {
        // Members are in angular order along an arc of length < 2π: its ends are the extremes.
        let first = angle(state.position(members[0]));
        let last = angle(state.position(members[members.len() - 1]));
        return (last - first).rem_euclid(std::f64::consts::TAU);
    }
    chord_sq_to_geodesic(widest_chord_sq(state, members))
}

/// Clusters up to this size take all their pairs.
const ALL_PAIRS_SIZE: usize = 48;

/// Relative slack of the bounds that skip pairs: far above the rounding of the distances, so no
/// pair that could be the widest is ever skipped.
const BOUND_SLACK: f64 = 1e-9;

/// The largest squared chord `|x_i - x_j|²` between two members (0 for one), equal to the
/// all-pairs maximum.
pub fn widest_chord_sq(state: &State, members: &[usize]) -> f64 {
    if members.len() <= ALL_PAIRS_SIZE {
        return all_pairs_widest(state, members);
    }
    widest_from(state, members, &first_bracket(state, members))
}

/// The exact widest chord of a cluster of more than `ALL_PAIRS_SIZE` members, searched from
/// its first bracket.
fn widest_from(state: &State, members: &[usize], first: &Bracket) -> f64 {
    let max_reach = first.reach[first.farthest_out];
    if may_exceed(max_reach, max_reach, first.widest) {
        if first.widest > 2.0 {
            return antipodal_widest(state, members, first.widest);
        }
        return bounded_widest(state, members, &first.reach, first.widest);
    }
    first.widest
}

/// A first bracket of a cluster's widest chord, in O(size): the squared chord of a pair found
/// by two farthest-member passes (a lower bound, the start of the exact search) and each
/// member's distance from the normalised centre (twice the largest bounds it from above).
struct Bracket {
    reach: Vec<f64>,
    farthest_out: usize,
    widest: f64,
}

fn first_bracket(state: &State, members: &[usize]) -> Bracket {
    let dim = state.dim;
    let mut centre = vec![0.0; dim];
    for &i in members {
        centre
            .iter_mut()
            .zip(state.position(i))
            .for_each(|(c, x)| *c += x);
    }
    let length = dot(&centre, &centre).sqrt();
    if length > 1e-300 {
        centre.iter_mut().for_each(|c| *c /= length);
    } else {
        centre.copy_from_slice(state.position(members[0]));
    }
    // |x_i - x_j| <= |x_i - c| + |c - x_j| for any point c.
    let reach: Vec<f64> = members
        .iter()
        .map(|&i| chord_sq(state.position(i), &centre).sqrt())
        .collect();
    let farthest_out = (0..members.len())
        .max_by(|&a, &b| reach[a].total_cmp(&reach[b]))
        .expect("a cluster has members");
    // A widest pair to start from: the farthest member from the one farthest out, and the
    // farthest from that one.
    let (first, across) = farthest_from(state, members, members[farthest_out]);
    let (second, _) = farthest_from(state, members, across);
    Bracket {
        reach,
        farthest_out,
        widest: first.max(second),
    }
}

/// The cluster count at `radius` and, for each of `limits`, whether every cluster's spread is
/// within it: the answers of comparing [`count_and_spread`]'s largest spread with each limit,
/// but from the bracket of each cluster's widest chord where it decides them, and the exact
/// spread only where it does not (a tight cluster is decided in O(size), not O(size²)).
pub fn count_and_spread_within(state: &State, radius: f64, limits: &[f64]) -> (usize, Vec<bool>) {
    let groups = groups(state, radius);
    let mut within = vec![true; limits.len()];
    for group in &groups {
        if !within.contains(&true) {
            break;
        }
        // What to compare with each limit: the bracket's upper end where the bracket decides
        // every open question (`high <= limit`: within; `low > limit`: beyond, and then
        // `high > limit` too), else the exact spread.
        let upper = if state.dim == 2 || group.len() <= ALL_PAIRS_SIZE {
            spread(state, group)
        } else {
            let bracket = first_bracket(state, group);
            let reach = 2.0 * bracket.reach[bracket.farthest_out];
            let low = chord_sq_to_geodesic(bracket.widest);
            let high = chord_sq_to_geodesic(reach * reach * (1.0 + BOUND_SLACK));
            let decided = limits
                .iter()
                .zip(&within)
                .all(|(&limit, &ok)| !ok || high <= limit || low > limit);
            if decided {
                high
            } else {
                // The exact spread, its search started from the same bracket.
                chord_sq_to_geodesic(widest_from(state, group, &bracket))
            }
        };
        for (ok, &limit) in within.iter_mut().zip(limits) {
            if upper > limit {
                *ok = false;
            }
        }
    }
    (groups.len(), within)
}

/// Whether a pair at distances `a` and `b` from the centre can be farther apart than
/// `sqrt(widest)`.
#[inline]
fn may_exceed(a: f64, b: f64, widest: f64) -> bool {
    (a + b) * (a + b) * (1.0 + BOUND_SLACK) >= widest
}

fn all_pairs_widest(state: &State, members: &[usize]) -> f64 {
    let mut widest = 0.0f64;
    for (a, &i) in members.iter().enumerate() {
        for &j in &members[a + 1..] {
            widest = widest.max(chord_sq(state.position(i), state.position(j)));
        }
    }
    widest
}

/// The largest squared chord from `members` to `i`, and the member reaching it.
fn farthest_from(state: &State, members: &[usize], i: usize) -> (f64, usize) {
    let xi = state.position(i);
    members
        .iter()
        .map(|&j| (chord_sq(xi, state.position(j)), j))
        .fold((0.0, i), |best, candidate| {
            if candidate.0 > best.0 {
                candidate
            } else {
                best
            }
        })
}

/// Pairs in decreasing order of their distances to the centre, skipping those whose distances
/// cannot add up to the widest so far.
fn bounded_widest(state: &State, members: &[usize], reach: &[f64], mut widest: f64) -> f64 {
    let mut outward: Vec<(f64, usize)> =
        reach.iter().copied().zip(members.iter().copied()).collect();
    outward.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    for a in 1..outward.len() {
        let (reach_a, i) = outward[a];
        if !may_exceed(reach_a, outward[0].0, widest) {
            break;
        }
        let xi = state.position(i);
        for &(reach_b, j) in &outward[..a] {
            if !may_exceed(reach_a, reach_b, widest) {
                break;
            }
            widest = widest.max(chord_sq(xi, state.position(j)));
        }
    }
    widest
}

/// For a cluster wider than a quarter circle: the farthest member from `x` is the nearest to
/// `-x`, and one farther than `sqrt(widest)` from `x` lies within `sqrt(4 - widest)` of `-x`.
fn antipodal_widest(state: &State, members: &[usize], mut widest: f64) -> f64 {
    let dim = state.dim;
    // The slack covers the rounding of `|x|² = 1` in the identity `|x-y|² + |x+y|² = 4`.
    let side = ((4.0 - widest).max(0.0) + BOUND_SLACK).sqrt();
    let cells = Cells::new(dim, members.len(), side, |k| state.position(members[k]));
    let offsets = cells.neighbour_offsets();
    let mut antipode = vec![0.0; dim];
    for &i in members {
        let xi = state.position(i);
        antipode.iter_mut().zip(xi).for_each(|(a, x)| *a = -x);
        cells.for_each_near(&antipode, &offsets, |k| {
            widest = widest.max(chord_sq(xi, state.position(members[k])));
        });
    }
    widest
}

/// Particle indices sorted by angle, rotated to start right after the largest gap, with their
/// angles unwrapped to increase from the first one.
fn sorted_from_largest_gap(state: &State) -> Vec<(usize, f64)> {
    let mut by_angle: Vec<(usize, f64)> = (0..state.len())
        .map(|i| (i, angle(state.position(i))))
        .collect();
    // (angle, index) pairs are distinct, so the unstable sort gives the one sorted order (and
    // allocates nothing).
    by_angle.sort_unstable_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
    let n = by_angle.len();
    let mut start = 0;
    let mut largest_gap = -1.0;
    for k in 0..n {
        let next = if k + 1 < n {
            by_angle[k + 1].1
        } else {
            by_angle[0].1 + std::f64::consts::TAU
        };
        let gap = next - by_angle[k].1;
        if gap > largest_gap {
            largest_gap = gap;
            start = (k + 1) % n;
        }
    }
    by_angle.rotate_left(start);
    let origin = by_angle[0].1;
    for entry in &mut by_angle {
        entry.1 = (entry.1 - origin).rem_euclid(std::f64::consts::TAU);
    }
    by_angle
}

fn circle_groups(state: &State, radius: f64) -> Vec<Vec<usize>> {
    if state.is_empty() {
        return Vec::new();
    }
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut first_angle = f64::NEG_INFINITY;
    for (i, theta) in sorted_from_largest_gap(state) {
        if groups.is_empty() || theta - first_angle > radius {
            groups.push(Vec::new());
            first_angle = theta;
        }
        groups.last_mut().expect("a group was just opened").push(i);
    }
    groups
}

/// Disjoint-set forest with path halving and union by index (the smaller root wins, so the
/// result does not depend on the order unions happen in).
struct DisjointSets(Vec<usize>);

impl DisjointSets {
    fn find(&mut self, mut i: usize) -> usize {
        while self.0[i] != i {
            self.0[i] = self.0[self.0[i]];
            i = self.0[i];
        }
        i
    }

    fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            let (low, high) = if ra < rb { (ra, rb) } else { (rb, ra) };
            self.0[high] = low;
        }
    }

    /// Components, each in increasing index order, ordered by their smallest index.
    fn groups(mut self) -> Vec<Vec<usize>> {
        let n = self.0.len();
        let mut slot = vec![usize::MAX; n];
        let mut groups: Vec<Vec<usize>> = Vec::new();
        for i in 0..n {
            let root = self.find(i);
            if slot[root] == usize::MAX {
                slot[root] = groups.len();
                groups.push(Vec::new());
            }
            groups[slot[root]].push(i);
        }
        groups
    }
}

/// Single-linkage components at geodesic distance `<= radius` (any dimension), each in
/// increasing index order, ordered by their smallest index.
pub fn linkage_groups(state: &State, radius: f64) -> Vec<Vec<usize>> {
    let n = state.len();
    let mut sets = DisjointSets((0..n).collect());
    // Geodesic distance <= r  ⇔  chord² <= (2 sin(r/2))².
    let chord = 2.0 * (0.5 * radius.min(std::f64::consts::PI)).sin();
    let threshold = chord * chord;
    // Cells a little wider than the chord, so that rounding cannot put two linked particles
    // two cells apart.
    let cells = Cells::new(state.dim, n, chord * (1.0 + BOUND_SLACK), |i| {
        state.position(i)
    });
    let link = |sets: &mut DisjointSets, from: &[usize], to: &[usize]| {
        for &i in from {
            let xi = state.position(i);
            for &j in to {
                if chord_sq(xi, state.position(j)) <= threshold {
                    sets.union(i, j);
                }
            }
        }
    };
    let link_first = |sets: &mut DisjointSets, from: &[usize], to: &[usize]| {
        for &i in from {
            let xi = state.position(i);
            if let Some(&j) = to
                .iter()
                .find(|&&j| chord_sq(xi, state.position(j)) <= threshold)
            {
                sets.union(i, j);
                return;
            }
        }
    };
    // Within each cell first, so that most cells are whole components before their
    // neighbours are compared. A cell whose members fit in a box of diagonal within the chord
    // is one component without a test: every pair's chord is at most the diagonal (a tight
    // cluster is such a cell, and would otherwise cost all its pairs).
    for &(_, begin, end) in &cells.cells {
        let members = &cells.order[begin..end];
        if members.len() > 2 && box_diagonal_sq(state, members) <= threshold * (1.0 - BOUND_SLACK) {
            for &j in &members[1..] {
                sets.union(members[0], j);
            }
            continue;
        }
        for a in 0..members.len() {
            link(&mut sets, &members[a..=a], &members[a + 1..]);
        }
    }
    let forward: Vec<CellKey> = cells
        .neighbour_offsets()
        .into_iter()
        .filter(|offset| *offset > [0; 3])
        .collect();
    let mut whole = vec![false; cells.cells.len()];
    let is_whole = |sets: &mut DisjointSets, whole: &mut [bool], cell: usize| {
        if !whole[cell] {
            let (_, begin, end) = cells.cells[cell];
            let root = sets.find(cells.order[begin]);
            whole[cell] = cells.order[begin + 1..end]
                .iter()
                .all(|&i| sets.find(i) == root);
        }
        whole[cell]
    };
    for (a, &(key, begin, end)) in cells.cells.iter().enumerate() {
        for offset in &forward {
            let neighbour = shifted(&key, offset);
            let Ok(b) = cells.cells.binary_search_by(|(k, _, _)| k.cmp(&neighbour)) else {
                continue;
            };
            let (_, other_begin, other_end) = cells.cells[b];
            let both_whole =
                is_whole(&mut sets, &mut whole, a) && is_whole(&mut sets, &mut whole, b);
            // Two cells each wholly in one component, the same: nothing to link.
            if both_whole && sets.find(cells.order[begin]) == sets.find(cells.order[other_begin]) {
                continue;
            }
            if both_whole {
                // One linked pair joins the two components: stop at the first.
                link_first(
                    &mut sets,
                    &cells.order[begin..end],
                    &cells.order[other_begin..other_end],
                );
                continue;
            }
            link(
                &mut sets,
                &cells.order[begin..end],
                &cells.order[other_begin..other_end],
            );
        }
    }
    sets.groups()
}

/// The squared diagonal of the smallest axis-aligned box holding the members: no two of them
/// are farther apart (chord) than its square root.
fn box_diagonal_sq(state: &State, members: &[usize]) -> f64 {
    let dim = state.dim;
    let mut low = state.position(members[0]).to_vec();
    let mut high = low.clone();
    for &i in &members[1..] {
        for (k, &x) in state.position(i).iter().enumerate() {
            low[k] = low[k].min(x);
            high[k] = high[k].max(x);
        }
    }
    (0..dim).map(|k| (high[k] - low[k]).powi(2)).sum()
}

/// The largest mass in a window of length `length`: on S^1 the heaviest closed arc of that
/// length; on `S^{d-1}`, `d >= 3`, the heaviest cap of geodesic radius `length / 2` centred at a
/// particle (every set in it has diameter at most `length`).
pub fn window_mass(state: &State, length: f64) -> f64 {
    let n = state.len();
    if n == 0 {
        return 0.0;
    }
    if state.dim == 2 {
        let sorted = sorted_from_largest_gap(state);
        // Two pointers over the angles unrolled twice around the circle.
        let angle_at =
            |k: usize| sorted[k % n].1 + if k >= n { std::f64::consts::TAU } else { 0.0 };
        let mass_at = |k: usize| state.masses[sorted[k % n].0];
        let (mut best, mut current, mut end) = (0.0f64, 0.0, 0);
        for begin in 0..n {
            if end < begin {
                end = begin;
                current = 0.0;
            }
            while end < begin + n && angle_at(end) - angle_at(begin) <= length {
                current += mass_at(end);
                end += 1;
            }
            best = best.max(current);
            current -= mass_at(begin);
        }
        return best.min(1.0);
    }
    // Geodesic radius length/2  ⇔  chord² <= (2 sin(length/4))². The caps' members are found
    // through cell lists a little wider than the chord (O(n) expected for small caps), then
    // tested exactly as `reference::window_mass` tests every pair.
    let chord = 2.0 * (0.25 * length.min(std::f64::consts::TAU)).sin();
    let threshold = chord * chord;
    let cells = Cells::new(state.dim, n, chord * (1.0 + BOUND_SLACK), |i| {
        state.position(i)
    });
    let offsets = cells.neighbour_offsets();
    (0..n)
        .map(|i| {
            let xi = state.position(i);
            let mut mass = 0.0;
            cells.for_each_near(xi, &offsets, |j| {
                if chord_sq(xi, state.position(j)) <= threshold {
                    mass += state.masses[j];
                }
            });
            mass
        })
        .fold(0.0, f64::max)
}

/// Merges particles within geodesic distance `tol` of each other (single linkage) into one atom
/// at their normalized mass-weighted mean, carrying their total mass. Returns whether anything
/// was merged. Particles at exactly the same point feel the same field and move together
/// forever, so merging them is exact; a positive `tol` trades that for speed (see the module
/// doc for the error bound).
pub fn merge_close(state: &mut State, tol: f64) -> bool {
    if tol <= 0.0 || state.len() < 2 {
        return false;
    }
    if state.dim == 2 {
        // Most checks merge nothing: decide that from the sorted circle alone, before building
        // one group per particle (the same test as `linked_components`' opening of a group).
        let sorted = sorted_from_largest_gap(state);
        if sorted.windows(2).all(|pair| pair[1].1 - pair[0].1 > tol) {
            return false;
        }
    }
    let groups = linked_components(state, tol);
    if groups.len() == state.len() {
        return false;
    }
    let dim = state.dim;
    let mut positions = Vec::with_capacity(groups.len() * dim);
    let mut masses = Vec::with_capacity(groups.len());
    for group in &groups {
        let cluster = summarize(state, group);
        positions.extend_from_slice(&cluster.centre);
        masses.push(cluster.mass);
    }
    state.positions = positions;
    state.masses = masses;
    true
}

/// Groups of geodesic diameter at most `diameter` covering `state`, or `None` when that takes
/// more than `max_groups`. Unlike single linkage ([`merge_close`]) no chain of close particles
/// grows past `diameter`: an arc of particles much longer than `diameter` becomes a row of
/// groups along it. On S^1 the groups are consecutive along the circle sorted from its largest
/// gap, each opened at the first particle beyond the previous group's reach (members in angular
/// order); elsewhere each group is the particles not yet grouped within `diameter / 2` of the
/// first of them in index order. Groups are ordered by their smallest index.
pub fn bounded_groups(state: &State, diameter: f64, max_groups: usize) -> Option<Vec<Vec<usize>>> {
    let n = state.len();
    let mut groups: Vec<Vec<usize>> = Vec::new();
    if n == 0 {
        return Some(groups);
    }
    if state.dim == 2 {
        let mut opened = f64::NEG_INFINITY;
        for (i, theta) in sorted_from_largest_gap(state) {
            if groups.is_empty() || theta - opened > diameter {
                if groups.len() == max_groups {
                    return None;
                }
                groups.push(Vec::new());
                opened = theta;
            }
            groups.last_mut().expect("a group was just opened").push(i);
        }
        groups.sort_by_key(|g| g.iter().copied().min());
    } else {
        // Geodesic distance <= diameter / 2  ⇔  chord² <= (2 sin(diameter / 4))².
        let chord = 2.0 * (0.25 * diameter.min(std::f64::consts::TAU)).sin();
        let threshold = chord * chord;
        let mut grouped = vec![false; n];
        for first in 0..n {
            if grouped[first] {
                continue;
            }
            if groups.len() == max_groups {
                return None;
            }
            let centre = state.position(first);
            let group: Vec<usize> = (first..n)
                .filter(|&j| !grouped[j] && chord_sq(centre, state.position(j)) <= threshold)
                .collect();
            group.iter().for_each(|&j| grouped[j] = true);
            groups.push(group);
        }
    }
    Some(groups)
}

/// [`bounded_groups`], each group merged into one atom at its normalized mass-weighted mean
/// carrying its total mass (atoms in the groups' order), or `None` past `max_atoms`.
pub fn merge_within(state: &State, diameter: f64, max_atoms: usize) -> Option<State> {
    let groups = bounded_groups(state, diameter, max_atoms)?;
    let mut positions = Vec::with_capacity(groups.len() * state.dim);
    let mut masses = Vec::with_capacity(groups.len());
    for group in &groups {
        let (centre, mass) = mean_direction(state, group);
        positions.extend_from_slice(&centre);
        masses.push(mass);
    }
    Some(State {
        dim: state.dim,
        positions,
        masses,
    })
}

/// Components of single linkage at `tol`: on S^1 the runs of gaps `<= tol` along the sorted
/// circle, in one pass; elsewhere [`linkage_groups`].
fn linked_components(state: &State, tol: f64) -> Vec<Vec<usize>> {
    if state.dim == 2 {
        // Components of "gap <= tol" along the sorted circle, in one pass.
        let sorted = sorted_from_largest_gap(state);
        let mut groups: Vec<Vec<usize>> = Vec::new();
        let mut previous = f64::NEG_INFINITY;
        for (i, theta) in sorted {
            if groups.is_empty() || theta - previous > tol {
                groups.push(Vec::new());
            }
            groups.last_mut().expect("a group was just opened").push(i);
            previous = theta;
        }
        // Members stay in angular order (the spread of a circle group relies on it); groups are
        // ordered by their smallest index so atoms keep the particles' order.
        groups.sort_by_key(|g| g.iter().copied().min());
        groups
    } else {
        linkage_groups(state, tol)
    }
}
