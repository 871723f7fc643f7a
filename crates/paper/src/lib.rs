//! The paper sphereflow reproduces (Álvarez-López, Geshkovski, Ruiz-Balet, 2026): which sweeps
//! it runs, which of its claims the runs test and how each is judged, which runs feed which
//! figure, and the report.
//!
//! - [`runs`]: the finished tasks of a sweep with what claims and figures need;
//! - [`claims`]: the claims, each a typed function of the analyses and the runs;
//! - [`charts`]: chart data, pure functions of runs and analysis results (fits reused, never
//!   refitted), in the colours of [`legend`] (one per meaning);
//! - [`figure_set`]: the paper's figures (which runs feed which) and the figures of any sweep;
//! - [`report`]: the report, as Markdown and as a self-contained HTML page.
//!
//! Nothing here parses arguments, draws progress or writes files: the command line does, from
//! what this crate returns.

pub mod charts;
pub mod claims;
pub mod error;
pub mod figure_set;
pub mod legend;
pub mod limit;
pub mod report;
pub mod runs;

pub use claims::{claims, Claim, Verdict};
pub use error::PaperError;
pub use figure_set::{paper_figures, sweep_figures, PaperFigure};
pub use runs::{finished_runs, Results, Run, SweepResults};

/// The paper's sweeps (files `<name>.toml` of the sweeps folder), in the order they run.
pub const PAPER_SWEEPS: &[&str] = &[
    "s1_beta",
    "side_by_side",
    "perceptron_scale",
    "s2_beta",
    "many_seeds",
    "bound",
    "null_ascent",
    "meanfield_limit",
    "meanfield_atoms",
];
