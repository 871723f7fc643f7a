//! The parameter schema: one table of every parameter (path, type, default, range, meaning),
//! used to validate values, fill defaults, document them (`sphereflow params`) and build the
//! solver's typed [`Params`]. File inputs (`.npy`) are read here; the solver does no IO.

pub mod identity;
pub mod schema;

pub use identity::{task_id, TaskIdentity, TASK_ID_SCHEME};
pub use schema::{resolve, Kind, ParamSpec, PlanError, Resolved, SCHEMA};
