//! The theory the analyzer checks (MODEL.md §7): the anti-concentration bound B(β), its
//! limit, the heavy-atom corollary, the unstable mode k*(β) of pure attention on the circle,
//! and the kernel's concavity angle θ_c(β).

use sphereflow_solver::{
    Activation, Attention, Classification, Kernel, Params, Perceptron, Regime,
};

/// `16 / (16 + 3 e^{11/8})`, the limit of B(β) as β grows.
pub fn bound_limit() -> f64 {
    16.0 / (16.0 + 3.0 * (11.0f64 / 8.0).exp())
}

/// `C = 2 Σ_j |s_j| |a_j|²` of a perceptron.
pub fn perceptron_constant(perceptron: &Perceptron) -> f64 {
    let dim = perceptron.dim;
    2.0 * perceptron
        .weights
        .iter()
        .enumerate()
        .map(|(j, s)| {
            let a = &perceptron.directions[j * dim..(j + 1) * dim];
            s.abs() * a.iter().map(|x| x * x).sum::<f64>()
        })
        .sum::<f64>()
}

/// The anti-concentration bound `B(β) = (4 + 2 e^{3/2} C e^{-β}) / (4 + (3/4) e^{11/8})`.
pub fn mass_bound(beta: f64, c: f64) -> f64 {
    (4.0 + 2.0 * 1.5f64.exp() * c * (-beta).exp()) / (4.0 + 0.75 * (11.0f64 / 8.0).exp())
}

/// The largest total mass of a set of at least two atoms of an S^1 state whose pairwise circular
/// distances are at most `length` (< π): the quantity the anti-concentration theorem bounds
/// (MODEL.md §7). On the circle such a set lies in an arc of that length, so this is the
/// heaviest arc of length `length` holding two atoms or more; 0 when no arc holds two. A single
/// atom is not a set of two, however heavy. `positions` are unit rows `[x, y]`.
pub fn pair_window_mass(positions: &[f64], masses: &[f64], length: f64) -> f64 {
    let n = masses.len();
    let mut atoms: Vec<(f64, f64)> = (0..n)
        .map(|a| (positions[2 * a + 1].atan2(positions[2 * a]), masses[a]))
        .collect();
    atoms.sort_by(|a, b| a.0.total_cmp(&b.0));
    let angle_at = |k: usize| atoms[k % n].0 + if k >= n { std::f64::consts::TAU } else { 0.0 };
    let mut best = 0.0f64;
    // Two pointers over the angles unrolled once around the circle: the window starts at atom
    // `begin` and holds atoms `begin..end`.
    let (mut end, mut mass) = (0, 0.0);
    for begin in 0..n {
        if end < begin + 1 {
            end = begin;
            mass = 0.0;
        }
        while end < begin + n && angle_at(end) - angle_at(begin) <= length {
            mass += atoms[end % n].1;
            end += 1;
        }
        if end - begin >= 2 {
            best = best.max(mass);
        }
        mass -= atoms[begin].1;
    }
    best.min(1.0)
}

/// What the theorem measures on a certified S^1 state: its heaviest atom, the heaviest set of
/// two or more atoms within the theorem's length `1/(2 sqrt β)` ([`pair_window_mass`]), and the
/// atoms of mass at least `heavy_mass`. `None` off the circle or without atoms.
pub fn certified_masses(
    certificate: &sphereflow_solver::Certificate,
    beta: f64,
    heavy_mass: f64,
) -> Option<(f64, f64, usize)> {
    let atoms = certificate.state();
    if atoms.dim != 2 || atoms.masses.is_empty() {
        return None;
    }
    let heaviest = atoms.masses.iter().copied().fold(0.0, f64::max);
    let heavy = atoms.masses.iter().filter(|&&m| m >= heavy_mass).count();
    let window = pair_window_mass(&atoms.positions, &atoms.masses, 0.5 / beta.sqrt());
    Some((heaviest, window, heavy))
}

/// The corollary's bound on the number of atoms of mass at least `heavy_mass`, with the
/// support covered by one arc of length `2π` (the whole circle):
/// `(M / ε)(1 + 2 L sqrt β) B(β)` with `M = 1`, `L = 2π`.
pub fn heavy_atom_bound(beta: f64, c: f64, heavy_mass: f64) -> f64 {
    let (arcs, length) = (1.0, std::f64::consts::TAU);
    arcs / heavy_mass * (1.0 + 2.0 * length * beta.sqrt()) * mass_bound(beta, c)
}

/// Whether the activation is 1-Lipschitz with σ(0) = 0 (the theorem's hypothesis on σ).
pub fn activation_qualifies(activation: Activation, leaky_slope: f64) -> bool {
    match activation {
        Activation::Relu | Activation::Linear | Activation::Tanh => true,
        Activation::LeakyRelu => leaky_slope.abs() <= 1.0,
        // GeLU's slope reaches about 1.13; without a perceptron there is no anti-concentration.
        Activation::Gelu | Activation::None => false,
    }
}

/// The smallest β of the anti-concentration theorem: the concavity lemma with λ = 1/2 holds for
/// β >= 12/(1 − λ²) + 3 = 19 (MODEL.md §7).
pub const THEOREM_BETA_MIN: f64 = 19.0;

/// The perceptron constant in the theorem's convention: `C_eff = e^β C` for the `shifted`
/// kernel (its dynamics are the paper kernel's with the weights multiplied by `e^β`), `C` for
/// `paper` (MODEL.md §7).
pub fn effective_constant(kernel: Kernel, beta: f64, c: f64) -> f64 {
    match kernel {
        Kernel::Shifted => beta.exp() * c,
        Kernel::Paper => c,
    }
}

/// What is known of a task's end state as a critical point (MODEL.md §9): its certificate's
/// classification, if it was certified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndState {
    /// Certified with this classification.
    Certified(Classification),
    /// Not certified (`stop.certify` off), having met the stopping rule.
    Converged,
    /// Met the stopping rule with `stop.certify` on, but left without a certificate: more than
    /// [`sphereflow_solver::MAX_CERTIFIED_ATOMS`] atoms after merging, even coarsened (a spread
    /// state).
    TooManyAtoms,
    /// Not certified, stopped at the step or time cap.
    Capped,
}

/// Why the anti-concentration theorem does not apply to a task, or `Ok` when every hypothesis
/// of MODEL.md §7 holds (the SOPD one from the certificate). `c_eff` is
/// [`effective_constant`]; `beta_min` is at least [`THEOREM_BETA_MIN`] (a larger one narrows the
/// check, a smaller one is raised to it).
pub fn theorem_applies(
    params: &Params,
    width: usize,
    c_eff: f64,
    end: EndState,
    beta_min: f64,
) -> Result<(), &'static str> {
    if params.model.dim != 2 {
        return Err("d ≠ 2");
    }
    if params.model.attention != Attention::Usa {
        return Err("SA (the theorem is for USA)");
    }
    if params.model.regime != Regime::Descent {
        return Err("ascent");
    }
    if params.perceptron.activation == Activation::None
        || params.perceptron.scale == 0.0
        || c_eff == 0.0
    {
        return Err("no perceptron");
    }
    if !activation_qualifies(params.perceptron.activation, params.perceptron.leaky_slope) {
        return Err("σ is not 1-Lipschitz with σ(0) = 0");
    }
    if width != 2 {
        return Err("m ≠ 2 neurons");
    }
    let beta = params.model.beta;
    if beta < THEOREM_BETA_MIN {
        return Err("β < 19");
    }
    if beta < beta_min {
        return Err("β below --theorem-beta-min");
    }
    if mass_bound(beta, c_eff) >= 1.0 {
        return Err("B ≥ 1 (C_eff = e^β C for the shifted kernel)");
    }
    match end {
        EndState::Capped => Err("not converged (step cap)"),
        EndState::Converged => Err("not certified (stop.certify off)"),
        EndState::TooManyAtoms => Err("not certified: over 300 atoms after merging (spread)"),
        EndState::Certified(class) => match class {
            Classification::Strict | Classification::Sopd => Ok(()),
            Classification::Saddle => Err("certified a saddle"),
            Classification::Kink => Err("an atom on a ReLU kink"),
            Classification::Unresolved => Err("perceptron below rounding"),
            Classification::NotStationary => Err("not stationary"),
            Classification::Undefined => Err("SA (the theorem is for USA)"),
        },
    }
}

/// `e^{-x} I_k(x)` for `k = 0..=k_max` (modified Bessel functions of the first kind, scaled),
/// by Miller's backward recurrence normalized with `1 = Ĩ_0 + 2 Σ_{k>=1} Ĩ_k`.
///
/// # Panics
/// If `x` is not positive and finite.
pub fn scaled_bessel_i(x: f64, k_max: usize) -> Vec<f64> {
    assert!(x > 0.0 && x.is_finite(), "x = {x}");
    // Start well above both k_max and x so the neglected tail is below f64 precision.
    let start =
        k_max.max(x as usize) + 40 + (40.0 * (k_max.max(x as usize) as f64).sqrt()) as usize;
    let mut values = vec![0.0; start + 2];
    values[start] = 1e-280;
    for k in (1..=start).rev() {
        values[k - 1] = values[k + 1] + 2.0 * k as f64 / x * values[k];
        // Rescale to stay within range; only ratios matter until normalization.
        if values[k - 1] > 1e250 {
            for v in values[k - 1..].iter_mut() {
                *v *= 1e-250;
            }
        }
    }
    let total = values[0] + 2.0 * values[1..].iter().sum::<f64>();
    values.truncate(k_max + 1);
    values.iter_mut().for_each(|v| *v /= total);
    values
}

/// `γ_k = k² I_k(β) / β` for `k = 1..=k_max`, scaled by `e^{-β}` (the argmax is unchanged).
pub fn growth_rates(beta: f64, k_max: usize) -> Vec<f64> {
    let bessel = scaled_bessel_i(beta, k_max);
    (1..=k_max)
        .map(|k| (k * k) as f64 * bessel[k] / beta)
        .collect()
}

/// The most unstable mode of pure attention near the uniform state on S^1:
/// `k* = argmax_k k² I_k(β) / β`.
pub fn unstable_mode(beta: f64) -> usize {
    let k_max = 16 + 4 * beta.sqrt().ceil() as usize;
    let rates = growth_rates(beta, k_max);
    1 + rates
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map_or(0, |(k, _)| k)
}

/// The kernel's concavity angle `θ_c(β) = arccos((sqrt(1 + 4β²) − 1) / (2β))`.
pub fn concavity_angle(beta: f64) -> f64 {
    (((1.0 + 4.0 * beta * beta).sqrt() - 1.0) / (2.0 * beta)).acos()
}

/// A plateau of a run's cluster count: the count and the times it was first and last seen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Plateau {
    /// The cluster count.
    pub count: usize,
    /// The time of the first check with that count.
    pub start: f64,
    /// The time of the last check with that count before it changed (or the end of the run).
    pub end: f64,
}

/// The first plateau of a cluster count series `(t, count)` (MODEL.md §7): the first run of
/// equal counts, at most half the initial count, that lasts at least as long as it took to
/// form (`end - start >= start`). Clusters that first form from a near-uniform start hold for
/// a time that grows like `e^{c β}` before they merge, far longer than their formation, while
/// the counts crossed on the way down last a fraction of it. A count the run stopped on without
/// it lasting that long is no plateau: it may come after merges (at β = 50 a run can hold
/// k* = 10 clusters briefly, merge to 8 and converge there). `None` if no run of equal counts
/// qualifies.
pub fn first_plateau(series: &[(f64, usize)]) -> Option<Plateau> {
    let &(_, initial) = series.first()?;
    let mut i = 0;
    while i < series.len() {
        let (start, count) = series[i];
        let mut j = i;
        while j + 1 < series.len() && series[j + 1].1 == count {
            j += 1;
        }
        let end = series[j].0;
        if start > 0.0 && 2 * count <= initial && end - start >= start {
            return Some(Plateau { count, start, end });
        }
        i = j + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A task that meets every hypothesis of the bound: d = 2, USA, descent, ReLU with two
    /// neurons, β = 25, the paper kernel with C = 0.04 (B = 0.626).
    fn qualifying() -> (Params, usize, f64, EndState) {
        let mut params = sphereflow_solver::testing::default_params();
        params.model.beta = 25.0;
        params.model.kernel = Kernel::Paper;
        (params, 2, 0.04, EndState::Certified(Classification::Sopd))
    }

    #[test]
    fn the_bound_applies_only_where_every_hypothesis_holds() {
        let (params, width, c, end) = qualifying();
        let applies = |p: &Params, w: usize, c: f64, e: EndState| {
            theorem_applies(
                p,
                w,
                effective_constant(p.model.kernel, p.model.beta, c),
                e,
                1.0,
            )
        };
        assert_eq!(applies(&params, width, c, end), Ok(()));
        assert_eq!(
            applies(
                &params,
                width,
                c,
                EndState::Certified(Classification::Strict)
            ),
            Ok(())
        );
        // The shifted kernel: C_eff = e^β C, so a perceptron of C = 3 (the authors') gives
        // B ≈ 4.4 at every β, while C = 0.04 keeps B = 0.626.
        let mut shifted = params.clone();
        shifted.model.kernel = Kernel::Shifted;
        assert_eq!(applies(&shifted, width, c, end), Ok(()));
        let b = mass_bound(25.0, effective_constant(Kernel::Shifted, 25.0, 0.04));
        assert!((b - 0.6264).abs() < 1e-3, "{b}");
        assert_eq!(
            applies(&shifted, width, 3.0, end),
            Err("B ≥ 1 (C_eff = e^β C for the shifted kernel)")
        );
        // The paper kernel with the same C = 3 at β = 25: e^{-β} makes B < 1.
        assert_eq!(applies(&params, width, 3.0, end), Ok(()));
        let mut low = params.clone();
        low.model.beta = 18.9;
        assert_eq!(applies(&low, width, c, end), Err("β < 19"));
        // A smaller --theorem-beta-min never lowers the theorem's own 19.
        assert_eq!(theorem_applies(&low, width, c, end, 0.0), Err("β < 19"));
        let mut sa = params.clone();
        sa.model.attention = Attention::Sa;
        assert_eq!(
            applies(&sa, width, c, end),
            Err("SA (the theorem is for USA)")
        );
        assert_eq!(applies(&params, 3, c, end), Err("m ≠ 2 neurons"));
        let mut ascent = params.clone();
        ascent.model.regime = Regime::Ascent;
        assert_eq!(applies(&ascent, width, c, end), Err("ascent"));
        let mut gelu = params.clone();
        gelu.perceptron.activation = Activation::Gelu;
        assert_eq!(
            applies(&gelu, width, c, end),
            Err("σ is not 1-Lipschitz with σ(0) = 0")
        );
        let mut sphere = params.clone();
        sphere.model.dim = 3;
        assert_eq!(applies(&sphere, width, c, end), Err("d ≠ 2"));
        // The reason names the solver's limit.
        assert_eq!(sphereflow_solver::MAX_CERTIFIED_ATOMS, 300);
        for (end, reason) in [
            (
                EndState::Certified(Classification::Saddle),
                "certified a saddle",
            ),
            (
                EndState::Certified(Classification::Kink),
                "an atom on a ReLU kink",
            ),
            (
                EndState::Certified(Classification::NotStationary),
                "not stationary",
            ),
            (
                EndState::Certified(Classification::Unresolved),
                "perceptron below rounding",
            ),
            (EndState::Converged, "not certified (stop.certify off)"),
            (
                EndState::TooManyAtoms,
                "not certified: over 300 atoms after merging (spread)",
            ),
            (EndState::Capped, "not converged (step cap)"),
        ] {
            assert_eq!(applies(&params, width, c, end), Err(reason));
        }
    }

    /// `I_k(x)` by its power series, an independent check for moderate `x`.
    fn series_bessel_i(k: usize, x: f64) -> f64 {
        let half = x / 2.0;
        let mut term = half.powi(k as i32) / (1..=k).map(|i| i as f64).product::<f64>();
        let mut sum = term;
        for m in 1..400 {
            term *= half * half / (m as f64 * (m + k) as f64);
            sum += term;
            if term < sum * 1e-18 {
                break;
            }
        }
        sum
    }

    #[test]
    fn bessel_functions_match_their_series_and_known_values() {
        // Abramowitz & Stegun table 9.8: I_0(1) = 1.266065878, I_1(1) = 0.565159104.
        let scaled = scaled_bessel_i(1.0, 3);
        assert!((scaled[0] * 1f64.exp() - 1.266_065_877_752_008_4).abs() < 1e-14);
        assert!((scaled[1] * 1f64.exp() - 0.565_159_103_992_485_1).abs() < 1e-14);
        for x in [0.01, 0.5, 3.0, 10.0, 35.0, 50.0] {
            let scaled = scaled_bessel_i(x, 30);
            for k in [0, 1, 2, 5, 10, 30] {
                let expected = series_bessel_i(k, x) * (-x).exp();
                let error = (scaled[k] - expected).abs();
                assert!(
                    error <= 1e-12 * expected + 1e-300,
                    "I_{k}({x}): {} vs {expected}",
                    scaled[k]
                );
            }
        }
    }

    #[test]
    fn the_unstable_mode_matches_the_model() {
        // MODEL.md §7: k* = 1 for β <= 1, then 2, 3, 4, 4, 5, 7, 8, 10 at β = 3 ... 50.
        for beta in [0.01, 0.1, 0.5, 1.0] {
            assert_eq!(unstable_mode(beta), 1, "β = {beta}");
        }
        let table = [
            (3.0, 2),
            (5.0, 3),
            (7.0, 4),
            (10.0, 4),
            (15.0, 5),
            (25.0, 7),
            (35.0, 8),
            (50.0, 10),
        ];
        for (beta, k) in table {
            assert_eq!(unstable_mode(beta), k, "β = {beta}");
        }
    }

    #[test]
    fn the_bound_tends_to_its_limit_and_the_angle_to_inverse_sqrt_beta() {
        assert!(
            (bound_limit() - 0.574_192).abs() < 5e-7,
            "{}",
            bound_limit()
        );
        assert!((mass_bound(200.0, 3.0) - bound_limit()).abs() < 1e-15);
        assert!(mass_bound(1.0, 3.0) > 1.0);
        // Written independently: (4 + 2 e^{1.5} · 2 · e^{-5}) / (4 + 0.75 e^{1.375}).
        let expected = (4.0 + 2.0 * 4.481_689_070_338_065 * 2.0 * 0.006_737_946_999_085_467)
            / (4.0 + 0.75 * 3.955_076_722_920_577);
        assert!((mass_bound(5.0, 2.0) - expected).abs() < 1e-14);
        for beta in [100.0, 1e4, 1e6] {
            let ratio = concavity_angle(beta) * f64::sqrt(beta);
            assert!(
                (ratio - 1.0).abs() < 2.0 / beta.sqrt(),
                "β = {beta}: {ratio}"
            );
        }
        assert!((concavity_angle(1.0) - ((5f64.sqrt() - 1.0) / 2.0).acos()).abs() < 1e-15);
    }

    #[test]
    fn the_window_mass_counts_sets_of_two_atoms_or_more() {
        let at = |angles: &[f64]| -> Vec<f64> {
            angles.iter().flat_map(|t| [t.cos(), t.sin()]).collect()
        };
        // A heavy lone atom is not a set of two: the heaviest pair within 0.1 rad is 0.3.
        let positions = at(&[0.0, 1.0, 1.05, 2.5]);
        let masses = [0.5, 0.1, 0.2, 0.2];
        assert!((pair_window_mass(&positions, &masses, 0.1) - 0.3).abs() < 1e-15);
        // Wider than the gap from 1.05 to 0 rad: three atoms, 0.8.
        assert!((pair_window_mass(&positions, &masses, 1.06) - 0.8).abs() < 1e-15);
        // No two atoms within the length: 0.
        assert_eq!(pair_window_mass(&positions, &masses, 0.01), 0.0);
        // A window across θ = ±π.
        let positions = at(&[3.1, -3.1, 0.0]);
        let masses = [0.25, 0.25, 0.5];
        assert!((pair_window_mass(&positions, &masses, 0.1) - 0.5).abs() < 1e-15);
        assert_eq!(pair_window_mass(&positions, &masses, 0.05), 0.0);
    }

    #[test]
    fn the_first_plateau_is_the_first_count_that_outlasts_its_formation() {
        let at = |rows: &[(f64, usize)]| first_plateau(rows).map(|p| (p.count, p.start, p.end));
        // Spread (40 arcs), a quick fall through 20 and 9, then 7 clusters from t = 10 to 30,
        // then merging to 6.
        let series = [
            (0.0, 40),
            (2.0, 40),
            (6.0, 20),
            (8.0, 9),
            (9.0, 9),
            (10.0, 7),
            (20.0, 7),
            (30.0, 7),
            (32.0, 6),
            (90.0, 6),
        ];
        assert_eq!(at(&series), Some((7, 10.0, 30.0)));
        // The initial spread state never counts, however long it lasts.
        assert_eq!(at(&[(0.0, 40), (50.0, 40), (60.0, 30)]), None);
        // Counts above half the initial count are not clusters yet.
        assert_eq!(at(&[(0.0, 40), (5.0, 25), (50.0, 25)]), None);
        // A count the run stopped on after holding it briefly is no plateau, even when it
        // follows a brief one at another count (clusters that formed and merged).
        assert_eq!(at(&[(0.0, 40), (10.0, 5), (12.0, 5)]), None);
        assert_eq!(
            at(&[(0.0, 40), (10.0, 10), (12.0, 10), (13.0, 8), (16.0, 8)]),
            None
        );
        assert_eq!(at(&[]), None);
    }
}
