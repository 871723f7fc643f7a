//! The mean-field solver's typed errors: each names the parameter or says where it happened.

use thiserror::Error;

/// Everything that can make a mean-field computation fail.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum MeanFieldError {
    /// A parameter is outside the range the scheme is defined on.
    #[error("invalid parameter {key}: {reason}")]
    InvalidParameter {
        /// The parameter's path, `section.key` (`meanfield.cells`, `model.beta`, ...).
        key: &'static str,
        /// Why it was refused.
        reason: String,
    },
    /// An initial law or an input measure cannot be turned into a probability density.
    #[error("invalid {what}: {reason}")]
    InvalidInput {
        /// Which input (`initial law`, `density`, `particles`).
        what: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A NaN or infinity appeared in the density.
    #[error("non-finite density at step {step} (t = {t}) in cell {cell}")]
    NonFinite {
        /// The step being taken.
        step: u64,
        /// Simulated time at the start of that step.
        t: f64,
        /// The first offending cell.
        cell: usize,
    },
    /// A cell went negative: the step broke the positivity condition (for `meanfield.cfl >
    /// 1/2` the reconstruction may put twice a cell's average on a face; at or below it, only a
    /// velocity that changes a great deal within one step's stages can).
    #[error(
        "negative density {value:e} at step {step} (t = {t}) in cell {cell}: positivity is guaranteed for meanfield.cfl <= 0.5 at each stage's velocity; a smaller meanfield.cfl keeps the stages closer"
    )]
    NegativeDensity {
        /// The step being taken.
        step: u64,
        /// Simulated time at the start of that step.
        t: f64,
        /// The first offending cell.
        cell: usize,
        /// Its value.
        value: f64,
    },
    /// `t_end` was not reached within `max_steps` steps.
    #[error(
        "t_end = {t_end} not reached within meanfield.max_steps = {max_steps} steps (t = {t})"
    )]
    TooManySteps {
        /// The cap.
        max_steps: u64,
        /// Time reached.
        t: f64,
        /// Time requested.
        t_end: f64,
    },
}
