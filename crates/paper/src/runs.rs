//! The finished tasks of a sweep, with what the claims and the figures need (parameters, the
//! perceptron drawn for the task, the stored result), and the results of the paper's sweeps.

use std::collections::BTreeMap;

use sphereflow_analyze::Analysis;
use sphereflow_exec::{label, task_result, Store, StoredResult};
use sphereflow_plan::{Plan, Typed};
use sphereflow_solver::{Activation, Params, Perceptron, Problem, Regime, State, StopReason};

use crate::error::PaperError;

/// A finished task.
pub struct Run {
    /// Its task id (hex).
    pub task_id: String,
    /// Its axis values, `beta=10 activation=relu`.
    pub label: String,
    /// Its axis values, typed.
    pub coordinates: Vec<(&'static str, Typed)>,
    /// Its parameters.
    pub params: Params,
    /// Its perceptron.
    pub perceptron: Perceptron,
    /// Its stored result.
    pub result: StoredResult,
    /// Its initial particles, kept for the null descent runs on S^1 only (their spread is
    /// compared with the start's).
    pub initial: Option<State>,
}

impl Run {
    /// Whether it is a descent run of pure attention, whose end state is spread rather than
    /// clustered: its cluster count is not a count of clusters (MODEL.md §4, §7).
    pub fn spreads(&self) -> bool {
        sphereflow_solver::spreads(&self.params, &self.perceptron)
    }

    /// Its activation.
    pub fn activation(&self) -> Activation {
        self.params.perceptron.activation
    }

    /// Its β.
    pub fn beta(&self) -> f64 {
        self.params.model.beta
    }

    /// Whether it is a mean-field task (`model.solver = "meanfield"`): its result is a density.
    pub fn is_mean_field(&self) -> bool {
        self.result
            .summary
            .spec
            .parameters
            .get("model.solver")
            .and_then(|v| v.as_str())
            == Some("meanfield")
    }

    /// How the figures mark a particle run that was to converge (`stop.drift_tol > 0`) but
    /// stopped at its step or time cap ([`StopReason::hit_cap`]); `None` for every other run
    /// (runs with `drift_tol = 0` go to their cap by design).
    pub fn did_not_converge(&self) -> Option<&'static str> {
        if self.params.stop.drift_tol == 0.0 || self.is_mean_field() {
            return None;
        }
        match self.result.summary.summary.stop_reason {
            StopReason::MaxSteps => Some("did not converge (step cap)"),
            StopReason::TMax => Some("did not converge (time cap)"),
            _ => None,
        }
    }
}

/// Every committed task of a plan, in plan order (none without a store).
///
/// # Errors
/// A committed object that cannot be read, or a task that no longer resolves.
pub fn finished_runs(plan: &Plan, store: Option<&Store>) -> Result<Vec<Run>, PaperError> {
    let Some(store) = store else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for task in &plan.tasks {
        let (_, Some(result)) = task_result(store, &task.id)? else {
            continue;
        };
        let id = task.id.to_hex();
        let resolved = plan.resolve(task).map_err(|source| PaperError::Resolve {
            task: id.clone(),
            source,
        })?;
        let params = resolved.params.clone();
        let problem = Problem::new(resolved.params, resolved.initial, resolved.perceptron)
            .map_err(|source| PaperError::Problem {
                task: id.clone(),
                source,
            })?;
        let null_descent = params.perceptron.activation == Activation::None
            && params.model.dim == 2
            && params.model.regime == Regime::Descent;
        out.push(Run {
            task_id: id,
            label: label(plan, task),
            coordinates: plan.coordinates(task),
            perceptron: problem.dynamics.perceptron,
            initial: null_descent.then_some(problem.initial),
            params,
            result,
        });
    }
    Ok(out)
}

/// One sweep of the paper, run and analyzed.
pub struct SweepResults {
    /// Its plan.
    pub plan: Plan,
    /// Its analysis.
    pub analysis: Analysis,
    /// Its finished tasks.
    pub runs: Vec<Run>,
}

/// The paper's sweeps by name.
pub type Results = BTreeMap<String, SweepResults>;
