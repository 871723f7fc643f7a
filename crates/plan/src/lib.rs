//! The sweep planner: the parameter schema (one table of every parameter: path, type, default,
//! range, meaning), the sweep file language, grid expansion, validation and canonical task
//! identity. File inputs (`.npy`) are read here; the solver does no IO. How tasks are run or
//! stored is not this crate's business.
//!
//! ```
//! use sphereflow_plan::{Plan, PlanOptions, Sweep};
//! let text = "[model]\nparticles = 100\n[grid]\nmodel.beta = [1, 5, 10]\ninit.seed = { range = [0, 3] }\n";
//! let sweep = Sweep::parse(text, "example.toml", std::path::Path::new("."), "example").unwrap();
//! let plan = Plan::new(sweep, &PlanOptions::default()).unwrap();
//! assert_eq!(plan.tasks.len(), 9);
//! ```

pub mod identity;
pub mod npy;
pub mod plan;
pub mod schema;
pub mod sweep;

pub use identity::{task_id, task_id_in, TaskId, TaskIdentity, TASK_ID_SCHEME};
pub use npy::read_npy;
pub use plan::{Plan, PlanOptions, Task, MAX_TASKS};
pub use schema::{
    resolve, Kind, MeanFieldSetup, ParamSpec, PlanError, Resolved, Setting, Solver, Typed, SCHEMA,
};
pub use sweep::{Axis, Filter, Sweep, Unpinned};
