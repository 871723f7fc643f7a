//! One simulation from start to stop: the stepping loop, the authors' stopping rule, the time
//! series, snapshots and the final measurements (MODEL.md §5–6).
//!
//! # Stationary spread states
//!
//! The authors' rule stops a run once it is a set of tight clusters (largest spread `<= r`) that
//! no longer moves. A spread state (a null descent run tends to the uniform law, MODEL.md §4)
//! has clusters wider than `r` at every check, so that rule never fires, although the state
//! stops changing. `stop.spread_tol = τ` stops it, as [`StopReason::StationarySpread`], at a
//! check where, over the last `w = stop.window` checks (rows `k - w + 1, ..., k` of the series,
//! at least two):
//! - the largest spread at check `k` is above `r` (otherwise the authors' rule applies);
//! - the largest drift `D = max_i |F_i|` is at most `drift_tol` at every row of the window (the
//!   authors' drift condition, held for the whole window rather than at one check);
//! - the energy has stopped changing: `|E_k - E_{k-w+1}| <= τ |E_k - E_0|`, its change over the
//!   window at most the fraction `τ` of its change since the start (scale-free, so the same `τ`
//!   serves every β, n and kernel).
//!
//! It applies only where MODEL.md §4 allows a spread stationary state: pure attention (no
//! perceptron, or one whose weights are all 0) in descent, whose minimizer is the uniform law.
//! With a perceptron the stationary states are atomic, so a spread state is still on its way:
//! perceptron runs at small β pass through spread metastable states whose drift falls to
//! 3·10^-5 and whose energy changes by 10^-9 of its total over a window before they collapse
//! into atoms, and must stop as before.
//!
//! It is the authors' rule with "a stable cluster count, every cluster within `r`" replaced by
//! "wider than `r`, a steady energy". `drift_tol = 0` (a run to the cap) disables both. A
//! steady *relative* drift is not enough: perceptron runs at small β pass through spread
//! metastable states whose largest drift stays near 10^-3 for hundreds of time units before they
//! collapse into atoms, and must not stop there. The rule is checked after the authors' one and
//! never on a state whose clusters are all within `r`.
//!
//! A [`Simulation`] is plain data: it can be serialized at any step boundary and resumed, and the
//! resumed run ends bit-identical to an uninterrupted one (the field at a state is a pure
//! function of it, so nothing else needs saving).
//!
//! Long file: the stepping loop, both stopping rules, checkpointing and the final measurements
//! read and write one `Simulation` state; split, they would share most of its fields.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::clusters::{count_and_spread_within, merge_close, merge_within, observe, Observables};
use crate::error::SolverError;
use crate::field::Dynamics;
use crate::integrate::{check_step_size, step, Scratch};
use crate::par::Par;
use crate::params::{Method, Params, Regime};
use crate::perceptron::Perceptron;
use crate::sphere::norm;
use crate::state::State;
use crate::stationary::{certify, Certificate, CertifyOptions, Classification};

/// A fully specified problem: parameters, the starting state and the perceptron.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    /// The parameters.
    pub params: Params,
    /// The starting particles.
    pub initial: State,
    /// The field.
    pub dynamics: Dynamics,
}

impl Problem {
    /// Builds the problem, drawing the initial positions and the perceptron from their seeds
    /// unless supplied.
    ///
    /// # Errors
    /// `InvalidParameter` for parameters out of range (including a `paper` kernel that would
    /// overflow); `InvalidInput` when supplied data does not fit the parameters.
    pub fn new(
        params: Params,
        initial: Option<State>,
        perceptron: Option<Perceptron>,
    ) -> Result<Problem, SolverError> {
        params.validate()?;
        let dim = params.model.dim;
        let initial = match initial {
            Some(state) => {
                if state.dim != dim || state.len() != params.model.particles {
                    return Err(SolverError::InvalidInput {
                        what: "initial positions",
                        reason: format!(
                            "{} rows of dimension {}, but model.particles = {} and model.dim = {}",
                            state.len(),
                            state.dim,
                            params.model.particles,
                            dim
                        ),
                    });
                }
                state
            }
            None => State::uniform(dim, params.model.particles, params.init.seed),
        };
        let perceptron = match perceptron {
            Some(perceptron) => {
                if perceptron.dim != dim {
                    return Err(SolverError::InvalidInput {
                        what: "perceptron weights",
                        reason: format!(
                            "directions of dimension {}, but model.dim = {dim}",
                            perceptron.dim
                        ),
                    });
                }
                perceptron
            }
            None => Perceptron::draw(dim, &params.perceptron),
        };
        let dynamics = Dynamics {
            dim,
            beta: params.model.beta,
            kernel: params.model.kernel,
            attention: params.model.attention,
            regime: params.model.regime,
            perceptron,
            pair_kernel: params.integrator.pair_kernel,
        };
        Ok(Problem {
            params,
            initial,
            dynamics,
        })
    }
}

/// Why a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The stopping rule held: stable cluster count, spread within the radius, drift below tol.
    Converged,
    /// `stop.max_steps` reached.
    MaxSteps,
    /// `stop.t_max` reached.
    TMax,
    /// `stop.certify`: the cluster count was stable for the window with every cluster within
    /// the radius, and the certificate found a stationary point there (the flow's remaining
    /// approach to it was left to Newton's method).
    Settled,
    /// `stop.spread_tol`: a spread state (clusters wider than the radius) whose drift and energy
    /// stopped changing over the window (see the module doc).
    StationarySpread,
}

impl StopReason {
    /// The name used in summaries and tables.
    pub fn as_str(self) -> &'static str {
        match self {
            StopReason::Converged => "converged",
            StopReason::MaxSteps => "max_steps",
            StopReason::TMax => "t_max",
            StopReason::Settled => "settled",
            StopReason::StationarySpread => "stationary_spread",
        }
    }

    /// Whether the run ended at (a state certified or measured as) a stationary point: it
    /// converged, or it settled and certified; a capped run did not. A stationary spread state
    /// is not counted: it is reported as spread, never as clusters (MODEL.md §7), and the
    /// theorems' hypotheses ask for a measured stationary point.
    pub fn is_stationary(self) -> bool {
        matches!(self, StopReason::Converged | StopReason::Settled)
    }

    /// Whether the run ended on a cap (`stop.max_steps` or `stop.t_max`) rather than a
    /// stopping rule.
    pub fn hit_cap(self) -> bool {
        matches!(self, StopReason::MaxSteps | StopReason::TMax)
    }
}

/// Whether a run is a descent run of pure attention (no perceptron, or one whose weights are all
/// 0), whose end state is spread rather than clustered (MODEL.md §4): the runs `stop.spread_tol`
/// applies to, and those the analysis reports as spread, never as clusters.
///
/// [`Dynamics::spreads`](crate::field::Dynamics::spreads) says the same from a problem's
/// dynamics.
pub fn spreads(params: &Params, perceptron: &Perceptron) -> bool {
    params.model.regime == Regime::Descent && perceptron.is_off()
}

/// One row of the time series, recorded at every check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesRow {
    /// Step count.
    pub step: u64,
    /// Simulated time.
    pub t: f64,
    /// Energy.
    pub energy: f64,
    /// Number of clusters at the counting radius.
    pub n_clusters: usize,
    /// `max_i |F_i|`.
    pub max_drift: f64,
}

/// A snapshot of the particles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Frame {
    /// Step count.
    pub step: u64,
    /// Simulated time.
    pub t: f64,
    /// The particles.
    pub state: State,
}

/// Snapshots of the particles along a run, in two tiers, whatever the run's length:
/// - **early**: the checks 0, 1, 2, 3, 4, 6, 9, 13, 19, ... (each about 1.5 times the one
///   before), never thinned, so that the fast first moves of a run are resolved; a run of `N`
///   checks keeps about `log_1.5 N` of them (26 for 20,000 checks);
/// - **even**: evenly spaced checks, at most `capacity` of them besides the early ones: when full,
///   every other one is dropped and the spacing doubles.
///
/// The final state is appended at the end, so any fraction of the run is within `2/capacity` of
/// a kept snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Frames {
    /// Checks between two snapshots of the even tier.
    pub every: u64,
    /// How many snapshots the even tier keeps at most before thinning.
    pub capacity: usize,
    /// The snapshots, in time order.
    pub frames: Vec<Frame>,
    /// The check index of each snapshot (`u64::MAX` for the final state).
    pub checks: Vec<u64>,
}

/// Whether check `index` belongs to the early tier of [`Frames`]: 0, 1, 2, 3, 4, 6, 9, 13, ...
fn is_early_check(index: u64) -> bool {
    let mut early = 0u64;
    while early < index {
        early = (early * 3 / 2).max(early + 1);
    }
    early == index
}

impl Frames {
    fn new(capacity: usize) -> Frames {
        Frames {
            every: 1,
            capacity: capacity.max(2),
            frames: Vec::new(),
            checks: Vec::new(),
        }
    }

    fn offer(&mut self, check_index: u64, frame: impl FnOnce() -> Frame) {
        let kept = |index: u64, every: u64| is_early_check(index) || index.is_multiple_of(every);
        if !kept(check_index, self.every) {
            return;
        }
        self.frames.push(frame());
        self.checks.push(check_index);
        let even = self.checks.iter().filter(|&&c| !is_early_check(c)).count();
        if even > self.capacity {
            self.every *= 2;
            let every = self.every;
            let (frames, checks) = self
                .frames
                .drain(..)
                .zip(self.checks.drain(..))
                .filter(|&(_, c)| kept(c, every))
                .unzip();
            (self.frames, self.checks) = (frames, checks);
        }
    }

    /// Appends the final state (never thinned: nothing is offered after it).
    fn push_final(&mut self, frame: Frame) {
        self.frames.push(frame);
        self.checks.push(u64::MAX);
    }

    /// The kept snapshot nearest to `fraction` (in [0, 1]) of the final time.
    pub fn at_fraction(&self, fraction: f64) -> Option<&Frame> {
        let t_end = self.frames.last()?.t;
        let target = fraction.clamp(0.0, 1.0) * t_end;
        self.frames
            .iter()
            .min_by(|a, b| (a.t - target).abs().total_cmp(&(b.t - target).abs()))
    }
}

/// The outcome of a finished run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    /// Scalar summary.
    pub summary: Summary,
    /// Final clusters, heaviest first.
    pub clusters: Vec<crate::clusters::Cluster>,
    /// The time series, one row per check.
    pub series: Vec<SeriesRow>,
    /// Snapshots along the run, ending with the final state.
    pub frames: Frames,
    /// The final particles.
    pub final_state: State,
    /// The certificate of the end state (`stop.certify`).
    pub certificate: Option<Certificate>,
}

/// The scalar results of a run (the `--json` summary of `sphereflow simulate`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Number of clusters at the end.
    pub n_clusters: usize,
    /// Number of clusters of mass at least `measure.heavy_mass`.
    pub n_heavy: usize,
    /// Heaviest cluster's mass.
    pub max_cluster_mass: f64,
    /// Largest window mass (MODEL.md §6).
    pub max_window_mass: f64,
    /// Largest cluster spread.
    pub max_spread: f64,
    /// Energy at the start.
    pub energy_initial: f64,
    /// Energy at the end.
    pub energy_final: f64,
    /// Accepted steps.
    pub steps: u64,
    /// Rejected adaptive steps.
    pub rejected_steps: u64,
    /// Simulated time at the end.
    pub t_final: f64,
    /// Why the run ended.
    pub stop_reason: StopReason,
    /// `max_i |F_i|` at the end.
    pub max_drift: f64,
    /// Number of atoms at the end (fewer than particles once merged).
    pub n_atoms: usize,
}

/// A run in progress; plain data, serializable at any step boundary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Simulation {
    /// The particles now.
    pub state: State,
    /// Accepted steps so far.
    pub step: u64,
    /// Rejected adaptive steps so far.
    pub rejected_steps: u64,
    /// Simulated time.
    pub t: f64,
    /// Step size to try next.
    pub dt: f64,
    /// The step at which the last check ran.
    pub last_check: Option<u64>,
    /// Number of checks so far.
    pub checks: u64,
    /// Cluster counts of the last `stop.window` checks.
    pub recent_counts: VecDeque<usize>,
    /// The time series so far.
    pub series: Vec<SeriesRow>,
    /// Snapshots so far.
    pub frames: Frames,
    /// Why it stopped, once it has.
    pub stopped: Option<StopReason>,
    /// Whether the flow stops once settled (`stop.certify`), to be certified there; cleared when
    /// a settled state did not certify as stationary, so the flow goes on to its own stop.
    #[serde(default)]
    pub settle: bool,
}

/// What [`Simulation::conclude`] made of a stopped run.
#[derive(Debug, Clone, PartialEq)]
pub enum Conclusion {
    /// The end state's certificate: the run is over.
    Certified(Box<Certificate>),
    /// The run settled, but no stationary point was found there: it goes on with the flow.
    Resumed,
    /// The end state has more atoms than [`MAX_CERTIFIED_ATOMS`] after merging, and either
    /// [`coarsening`] finds no grouping into fewer (a spread state, or clusters too many or too
    /// wide) or the polish of the groups kept more than half of them as atoms: the run is over,
    /// without a certificate.
    Uncertified {
        /// Atoms after merging.
        atoms: usize,
    },
}

/// A state is a set of tight clusters, for `stop.certify`, when every counted cluster's spread is
/// at most this fraction of the cluster radius: the clusters of a converging state collapse, while
/// the counting arcs that tile a spread state each span a good part of the radius.
pub const SETTLED_SPREAD: f64 = 0.1;

/// `stop.certify` polishes at most this many atoms: the Hessian has `atoms × (d − 1)` rows and
/// Newton's method factors it densely at every iteration. An end state of more atoms after
/// merging is coarsened ([`coarsening`]) or left uncertified.
pub const MAX_CERTIFIED_ATOMS: usize = 300;

/// The largest group diameter (radians) [`coarsening`] merges an end state into.
pub const COARSEN_MAX: f64 = 1e-2;

/// How `stop.certify` coarsens an end state `merged` (already merged at the certification's
/// `merge_tol`) of more than [`MAX_CERTIFIED_ATOMS`] atoms: the smallest diameter `h` of
/// `h_max / 10`, `3 h_max / 10` and `h_max`, `h_max = min(COARSEN_MAX, SETTLED_SPREAD · radius)`
/// (the cluster radius), whose groups ([`merge_within`]) number at most [`MAX_CERTIFIED_ATOMS`];
/// `None` when none does, when `stop.certify_merge` sets the merge distance, or for a run that
/// spreads ([`spreads`]: descent of pure attention), whose end state is not a set of clusters.
/// Clusters that stay extended (arcs of particles still gathering) are then polished from a row
/// of atoms at most `h` apart, which Newton's method gathers; [`Simulation::conclude`] discards
/// a certificate that kept more than half of the groups as atoms (the grouping, not the state,
/// would have decided them).
pub fn coarsening(problem: &Problem, merged: &State) -> Option<f64> {
    let params = &problem.params;
    if merged.len() <= MAX_CERTIFIED_ATOMS
        || params.stop.certify_merge.is_some()
        || spreads(params, &problem.dynamics.perceptron)
    {
        return None;
    }
    let largest = COARSEN_MAX.min(SETTLED_SPREAD * params.cluster_radius());
    [0.1, 0.3, 1.0]
        .into_iter()
        .map(|fraction| fraction * largest)
        .find(|&diameter| merge_within(merged, diameter, MAX_CERTIFIED_ATOMS).is_some())
}

/// The options [`Simulation::conclude`] certifies a run's end `state` with, for a run that
/// stopped on its own rule (a settled one also does not descend): [`certify_options`], with the
/// [`coarsening`] of the state merged at their `merge_tol`.
pub fn end_state_options(problem: &Problem, state: &State) -> CertifyOptions {
    let mut options = certify_options(&problem.params, state);
    let mut merged = state.clone();
    merge_close(&mut merged, options.merge_tol);
    options.coarsen = coarsening(problem, &merged);
    options
}

/// The certification options of `stop.certify` for a state: merged at `stop.certify_merge`, or
/// by default, when the state is a set of tight clusters (every counted cluster's spread within
/// [`SETTLED_SPREAD`] of the radius), at that distance (one atom per cluster), and only where
/// particles coincide otherwise (a spread state keeps its particles); escapes from saddles on.
pub fn certify_options(params: &Params, state: &State) -> CertifyOptions {
    let defaults = CertifyOptions::default();
    let merge_tol = params.stop.certify_merge.unwrap_or_else(|| {
        let tight = SETTLED_SPREAD * params.cluster_radius();
        let (_, within) = count_and_spread_within(state, params.cluster_radius(), &[tight]);
        if within[0] {
            tight
        } else {
            defaults.merge_tol
        }
    });
    CertifyOptions {
        merge_tol,
        escape: true,
        ..defaults
    }
}

impl Simulation {
    /// A run at its start, keeping the snapshots `measure.frames` asks for.
    pub fn start(problem: &Problem) -> Simulation {
        Simulation {
            state: problem.initial.clone(),
            step: 0,
            rejected_steps: 0,
            t: 0.0,
            dt: problem.params.integrator.dt,
            last_check: None,
            checks: 0,
            recent_counts: VecDeque::new(),
            series: Vec::new(),
            frames: Frames::new(problem.params.measure.frames),
            stopped: None,
            settle: problem.params.stop.certify,
        }
    }

    /// Runs until the run stops or `budget` more steps were accepted, whichever comes first.
    /// Returns the stop reason once stopped.
    ///
    /// # Errors
    /// `NonFinite`, `Diverged` or `StepSizeUnderflow`, naming the step and particle.
    pub fn advance(
        &mut self,
        problem: &Problem,
        budget: u64,
        par: Par,
    ) -> Result<Option<StopReason>, SolverError> {
        match par {
            Par::Seq => self.advance_here(problem, budget, par),
            // On a worker of the pool: each step's parallel passes then start from a thread of
            // the pool, which takes its share of the work, instead of waking the workers from
            // outside and sleeping until they finish (measured 4% faster at n = 1000, 2 threads).
            Par::Rayon => rayon::scope(|_| self.advance_here(problem, budget, par)),
        }
    }

    /// [`Self::advance`] on the calling thread.
    fn advance_here(
        &mut self,
        problem: &Problem,
        budget: u64,
        par: Par,
    ) -> Result<Option<StopReason>, SolverError> {
        if self.stopped.is_some() {
            return Ok(self.stopped);
        }
        let params = &problem.params;
        let dynamics = &problem.dynamics;
        let method = params.integrator.method;
        let retraction = params.integrator.retraction;
        let dim = params.model.dim;
        let mut scratch = Scratch::default();
        let mut velocity = vec![0.0; self.state.positions.len()];
        let mut velocity_ready = false;
        let stop_at = self.step.saturating_add(budget);
        loop {
            let checking = self.step.is_multiple_of(params.stop.check_every)
                && self.last_check != Some(self.step);
            // The energy at the current state, when its field was computed in the same pass.
            let mut energy_here = None;
            if !velocity_ready {
                velocity.resize(self.state.positions.len(), 0.0);
                let (positions, masses) = (&self.state.positions, &self.state.masses);
                if checking {
                    // A check needs the energy too: one pair pass for both.
                    let energy =
                        dynamics.velocity_and_energy(positions, masses, &mut velocity, par);
                    energy_here = Some(energy);
                } else {
                    dynamics.velocity(positions, masses, &mut velocity, par);
                }
                velocity_ready = true;
            }
            if checking {
                if let Some(reason) = self.check(problem, &velocity, energy_here, par)? {
                    self.stopped = Some(reason);
                    return Ok(Some(reason));
                }
                if params.measure.merge_tol > 0.0
                    && merge_close(&mut self.state, params.measure.merge_tol)
                {
                    velocity_ready = false;
                    continue;
                }
            }
            if self.step >= params.stop.max_steps {
                return self.stop_now(problem, StopReason::MaxSteps, &velocity, par);
            }
            let remaining = params.stop.t_max.map(|t_max| t_max - self.t);
            if remaining.is_some_and(|r| r <= 1e-12 * params.integrator.dt.max(self.t)) {
                return self.stop_now(problem, StopReason::TMax, &velocity, par);
            }
            if self.step >= stop_at {
                return Ok(None);
            }
            let mut dt = self.dt;
            if method == Method::Adaptive {
                if let Some(r) = remaining {
                    dt = dt.min(r);
                }
            } else {
                check_step_size(dim, &velocity, dt, self.step, self.t)?;
            }
            let outcome = step(
                method,
                retraction,
                params.integrator.tol,
                dynamics,
                &mut self.state.positions,
                &self.state.masses,
                &mut velocity,
                dt,
                &mut scratch,
                par,
            );
            if method == Method::Adaptive {
                // Keep the proposal unless the step was shortened to land on t_max.
                if outcome.accepted || dt == self.dt {
                    self.dt = outcome.next_dt;
                } else {
                    self.dt = outcome.next_dt.min(self.dt);
                }
                if !outcome.accepted {
                    self.rejected_steps += 1;
                    if self.dt < 1e-14 * self.t.max(1.0) {
                        return Err(SolverError::StepSizeUnderflow {
                            step: self.step,
                            t: self.t,
                            dt: self.dt,
                        });
                    }
                    continue;
                }
            }
            if let Some(particle) = first_non_finite(dim, &self.state.positions) {
                return Err(SolverError::NonFinite {
                    step: self.step,
                    t: self.t,
                    particle,
                    quantity: "position",
                });
            }
            self.step += 1;
            self.t = if method == Method::Adaptive {
                self.t + dt
            } else {
                self.step as f64 * params.integrator.dt
            };
            velocity_ready = outcome.velocity_ready;
        }
    }

    /// Records a check (series row, snapshot) and applies the stopping rule.
    /// `energy` is the energy at the current state when the caller has it (from the pass that
    /// computed `velocity`), else the check computes it.
    fn check(
        &mut self,
        problem: &Problem,
        velocity: &[f64],
        energy: Option<f64>,
        par: Par,
    ) -> Result<Option<StopReason>, SolverError> {
        let params = &problem.params;
        let dim = params.model.dim;
        let max_drift = velocity.chunks_exact(dim).map(norm).fold(0.0, f64::max);
        let energy = energy.unwrap_or_else(|| {
            problem
                .dynamics
                .energy(&self.state.positions, &self.state.masses, par)
        });
        if !energy.is_finite() {
            return Err(SolverError::NonFinite {
                step: self.step,
                t: self.t,
                particle: first_non_finite(dim, velocity).unwrap_or(0),
                quantity: "energy",
            });
        }
        let radius = params.cluster_radius();
        // The rule asks only whether every spread is within the radius (and, to settle, within
        // a tenth of it).
        let (n_clusters, within) =
            count_and_spread_within(&self.state, radius, &[radius, SETTLED_SPREAD * radius]);
        let (within_radius, tight) = (within[0], within[1]);
        self.series.push(SeriesRow {
            step: self.step,
            t: self.t,
            energy,
            n_clusters,
            max_drift,
        });
        let (step, t, state) = (self.step, self.t, &self.state);
        self.frames.offer(self.checks, || Frame {
            step,
            t,
            state: state.clone(),
        });
        self.checks += 1;
        self.last_check = Some(self.step);
        self.recent_counts.push_back(n_clusters);
        let window = params.stop.window as usize;
        while self.recent_counts.len() > window {
            self.recent_counts.pop_front();
        }
        let stable = self.recent_counts.len() == window
            && self.recent_counts.iter().all(|&c| c == n_clusters);
        let converged = params.stop.drift_tol > 0.0
            && stable
            && within_radius
            && max_drift <= params.stop.drift_tol;
        if converged {
            return Ok(Some(StopReason::Converged));
        }
        // Tight clusters: the counting arcs also tile a spread state, each within the radius.
        let settled = self.settle && stable && tight;
        if settled {
            return Ok(Some(StopReason::Settled));
        }
        let stationary_spread = spreads(params, &problem.dynamics.perceptron)
            && !within_radius
            && spread_is_stationary(
                &self.series,
                window,
                params.stop.spread_tol,
                params.stop.drift_tol,
            );
        Ok(stationary_spread.then_some(StopReason::StationarySpread))
    }

    /// Certifies the state of a stopped run with `options`. A run that stopped because it
    /// settled and whose certificate is not stationary is resumed (the flow then runs to its own
    /// stopping rule); any other stop is final, whatever the certificate says.
    ///
    /// # Errors
    /// As [`certify`].
    ///
    /// # Panics
    /// If the run has not stopped.
    pub fn conclude(
        &mut self,
        problem: &Problem,
        options: &CertifyOptions,
        par: Par,
    ) -> Result<Conclusion, SolverError> {
        let reason = self
            .stopped
            .expect("conclude is called on a stopped simulation");
        let mut merged = self.state.clone();
        merge_close(&mut merged, options.merge_tol);
        let mut options = options.clone();
        if reason == StopReason::Settled {
            // A settled run whose polish stalls goes on with the flow rather than descending:
            // its end state stays its flow's (module doc of `stationary`, Escape).
            options.descend = false;
        }
        if options.coarsen.is_none() {
            options.coarsen = coarsening(problem, &merged);
        }
        // The atoms Newton's method starts from: at most MAX_CERTIFIED_ATOMS of them.
        let start = match options.coarsen {
            Some(diameter) => merge_within(&merged, diameter, MAX_CERTIFIED_ATOMS).map(|s| s.len()),
            None => (merged.len() <= MAX_CERTIFIED_ATOMS).then_some(merged.len()),
        };
        let Some(start) = start else {
            return Ok(self.too_many_atoms(reason, merged.len()));
        };
        let certificate = certify(&problem.dynamics, &self.state, &options, par)?;
        if options.coarsen.is_some() && 2 * certificate.atoms.len() > start {
            // The polish kept most groups apart: its atoms are the grouping's, not the state's.
            return Ok(self.too_many_atoms(reason, merged.len()));
        }
        // Newton's residual decides, whatever the class (`unresolved` is not checked for it).
        let stationary = certificate.classification != Classification::NotStationary
            && certificate.residual <= options.residual_tol * certificate.field_scale;
        if reason == StopReason::Settled && !stationary {
            self.stopped = None;
            self.settle = false;
            return Ok(Conclusion::Resumed);
        }
        Ok(Conclusion::Certified(Box::new(certificate)))
    }

    /// A stopped run whose end state has too many atoms to certify: a settled one goes on with
    /// the flow, any other is over without a certificate.
    fn too_many_atoms(&mut self, reason: StopReason, atoms: usize) -> Conclusion {
        if reason == StopReason::Settled {
            self.stopped = None;
            self.settle = false;
            return Conclusion::Resumed;
        }
        Conclusion::Uncertified { atoms }
    }

    /// Stops at a step that is not a check: record a final series row first. `velocity` is the
    /// one at the current state.
    fn stop_now(
        &mut self,
        problem: &Problem,
        reason: StopReason,
        velocity: &[f64],
        par: Par,
    ) -> Result<Option<StopReason>, SolverError> {
        if self.last_check != Some(self.step) {
            self.check(problem, velocity, None, par)?;
        }
        self.stopped = Some(reason);
        Ok(Some(reason))
    }

    /// The result of a stopped run.
    ///
    /// # Panics
    /// If the run has not stopped.
    pub fn finish(mut self, problem: &Problem) -> RunResult {
        let reason = self
            .stopped
            .expect("finish is called on a stopped simulation");
        let params = &problem.params;
        let observables: Observables = observe(
            &self.state,
            params.cluster_radius(),
            params.window_length(),
            params.measure.heavy_mass,
        );
        let last = self.series.last().expect("a stopped run has checked");
        if self.frames.frames.last().map(|f| f.step) != Some(self.step) {
            self.frames.push_final(Frame {
                step: self.step,
                t: self.t,
                state: self.state.clone(),
            });
        }
        let summary = Summary {
            n_clusters: observables.n_clusters,
            n_heavy: observables.n_heavy,
            max_cluster_mass: observables.max_cluster_mass,
            max_window_mass: observables.max_window_mass,
            max_spread: observables.max_spread,
            energy_initial: self.series[0].energy,
            energy_final: last.energy,
            steps: self.step,
            rejected_steps: self.rejected_steps,
            t_final: self.t,
            stop_reason: reason,
            max_drift: last.max_drift,
            n_atoms: self.state.len(),
        };
        RunResult {
            summary,
            clusters: observables.clusters,
            series: self.series,
            frames: self.frames,
            final_state: self.state,
            certificate: None,
        }
    }
}

/// Whether the last `window` rows of `series` (at least two) show a drift and an energy that
/// stopped changing at tolerance `spread_tol` (0: never), as the module doc defines it; never
/// with `drift_tol = 0`, which asks for a run to the cap.
fn spread_is_stationary(
    series: &[SeriesRow],
    window: usize,
    spread_tol: f64,
    drift_tol: f64,
) -> bool {
    let window = window.max(2);
    // `drift_tol = 0` runs to the cap, whatever the state (a fixed-length run).
    if spread_tol <= 0.0 || drift_tol <= 0.0 || series.len() < window {
        return false;
    }
    let rows = &series[series.len() - window..];
    let last = &rows[window - 1];
    let drift_steady = rows.iter().all(|row| row.max_drift <= drift_tol);
    let energy_steady =
        (last.energy - rows[0].energy).abs() <= spread_tol * (last.energy - series[0].energy).abs();
    drift_steady && energy_steady
}

fn first_non_finite(dim: usize, values: &[f64]) -> Option<usize> {
    values
        .chunks_exact(dim)
        .position(|row| row.iter().any(|v| !v.is_finite()))
}

/// Runs a problem to its stop (and with `stop.certify`, certifies its end state).
///
/// # Errors
/// As [`Simulation::advance`], and [`certify`] with `stop.certify`.
pub fn simulate(problem: &Problem, par: Par) -> Result<RunResult, SolverError> {
    let mut simulation = Simulation::start(problem);
    if problem.params.stop.certify {
        return run_to_certificate(problem, simulation, true, par);
    }
    while simulation.advance(problem, u64::MAX, par)?.is_none() {}
    Ok(simulation.finish(problem))
}

/// Runs a problem until its cluster count settles (or to its own stop), then certifies the end
/// state: `stop.certify` whatever the parameters say, with escapes from saddles or without. An
/// end state of more than [`MAX_CERTIFIED_ATOMS`] atoms is coarsened or left without a certificate
/// ([`Simulation::conclude`]).
///
/// # Errors
/// As [`Simulation::advance`] and [`certify`].
pub fn simulate_certified(
    problem: &Problem,
    escape: bool,
    par: Par,
) -> Result<RunResult, SolverError> {
    let mut simulation = Simulation::start(problem);
    simulation.settle = true;
    run_to_certificate(problem, simulation, escape, par)
}

/// Advances and concludes until the run is over: certified, or left without a certificate.
fn run_to_certificate(
    problem: &Problem,
    mut simulation: Simulation,
    escape: bool,
    par: Par,
) -> Result<RunResult, SolverError> {
    loop {
        while simulation.advance(problem, u64::MAX, par)?.is_none() {}
        let options = CertifyOptions {
            escape,
            ..certify_options(&problem.params, &simulation.state)
        };
        match simulation.conclude(problem, &options, par)? {
            Conclusion::Certified(certificate) => {
                let mut result = simulation.finish(problem);
                result.certificate = Some(*certificate);
                return Ok(result);
            }
            Conclusion::Uncertified { .. } => return Ok(simulation.finish(problem)),
            Conclusion::Resumed => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dynamics_say_whether_a_run_spreads_as_its_parameters_do() {
        use crate::params::Activation;
        use crate::testing::default_params;
        for regime in [Regime::Descent, Regime::Ascent] {
            for activation in [Activation::None, Activation::Relu, Activation::Gelu] {
                for scale in [0.0, 1.0] {
                    let mut params = default_params();
                    params.model.particles = 8;
                    params.model.regime = regime;
                    params.perceptron.activation = activation;
                    params.perceptron.scale = scale;
                    let problem = Problem::new(params, None, None).unwrap();
                    let expected = regime == Regime::Descent
                        && (activation == Activation::None || scale == 0.0);
                    assert_eq!(
                        spreads(&problem.params, &problem.dynamics.perceptron),
                        expected
                    );
                    assert_eq!(
                        problem.dynamics.spreads(),
                        expected,
                        "{regime:?} {activation:?} {scale}"
                    );
                }
            }
        }
    }

    fn frame(check: u64) -> Frame {
        Frame {
            step: check * 10,
            t: check as f64,
            state: State {
                dim: 2,
                positions: vec![1.0, 0.0],
                masses: vec![1.0],
            },
        }
    }

    #[test]
    fn a_run_keeps_the_snapshots_measure_frames_asks_for() {
        let evenly_spaced = |frames: usize| {
            let mut params = crate::testing::default_params();
            params.model.particles = 8;
            params.stop.drift_tol = 0.0;
            params.stop.max_steps = 3000;
            params.stop.check_every = 1;
            params.measure.frames = frames;
            let problem = Problem::new(params, None, None).unwrap();
            let result = simulate(&problem, Par::Seq).unwrap();
            assert_eq!(result.frames.capacity, frames);
            result
                .frames
                .checks
                .iter()
                .filter(|&&c| c != u64::MAX && !is_early_check(c))
                .count()
        };
        // At most `frames` and at least half as many, over 3000 checks.
        let default = evenly_spaced(crate::params::DEFAULT_FRAMES);
        assert!((12..=24).contains(&default), "{default}");
        let many = evenly_spaced(400);
        assert!((200..=400).contains(&many), "{many}");
    }

    #[test]
    fn frames_keep_the_early_checks_and_an_even_spread_of_the_rest() {
        let early = [0, 1, 2, 3, 4, 6, 9, 13, 19, 28, 42, 63, 94, 141];
        for &c in &early {
            assert!(is_early_check(c), "{c}");
        }
        for c in [5, 7, 8, 10, 14, 20, 62, 64, 140] {
            assert!(!is_early_check(c), "{c}");
        }
        let n_checks = 20_000u64;
        let mut frames = Frames::new(24);
        for check in 0..=n_checks {
            frames.offer(check, || frame(check));
        }
        frames.push_final(frame(n_checks));
        assert_eq!(frames.frames.len(), frames.checks.len());
        // Every early check is there, in time order.
        let kept: Vec<u64> = frames.checks.clone();
        for &c in &early {
            assert!(kept.contains(&c), "early check {c} missing from {kept:?}");
        }
        assert!(kept.windows(2).all(|w| w[0] < w[1]), "{kept:?}");
        // The even tier: at most 24, evenly spaced, reaching close to the end.
        let even: Vec<u64> = kept
            .iter()
            .copied()
            .filter(|&c| c != u64::MAX && !is_early_check(c))
            .collect();
        assert!(even.len() <= 24 && even.len() >= 12, "{even:?}");
        assert!(
            even.iter().all(|c| c.is_multiple_of(frames.every)),
            "{even:?}"
        );
        // 26 early checks up to 20,000, plus the even ones and the final state.
        let n_early = (0..=n_checks).filter(|&c| is_early_check(c)).count();
        assert_eq!(n_early, 26);
        assert!(frames.frames.len() <= n_early + 24 + 1);
        // Any fraction of the run is within 2/capacity of a kept snapshot.
        for k in 0..=100 {
            let target = k as f64 / 100.0 * n_checks as f64;
            let nearest = frames.at_fraction(k as f64 / 100.0).unwrap().t;
            assert!(
                (nearest - target).abs() <= 2.0 / 24.0 * n_checks as f64,
                "{target}: {nearest}"
            );
        }
    }
}
