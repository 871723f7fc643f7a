//! Grid expansion: a checked [`Sweep`] becomes a [`Plan`], the list of distinct, valid tasks
//! with their ids.
//!
//! Combinations are enumerated in file order (the last axis varies fastest), filtered by
//! `[[grid.include]]` / `[[grid.exclude]]`, validated as whole tasks (constraints between
//! parameters, file shapes) and deduplicated by id: two combinations that type to the same
//! parameters (`beta = 1` and `beta = 1.0`, a default written out) are one task, with a warning.

use std::collections::{BTreeMap, HashSet};

use crate::identity::{canonical_of, Entry, FileHashes, TaskId, TaskIdentity};
use crate::schema::{default_value, resolve, spec_of, PlanError, Resolved, Setting, Typed};
use crate::sweep::{Filter, Sweep};

/// Grids larger than this are refused unless [`PlanOptions::allow_large`] is set.
pub const MAX_TASKS: u64 = 1_000_000;

/// How to plan.
#[derive(Debug, Clone, Copy)]
pub struct PlanOptions {
    /// Largest grid planned without confirmation.
    pub max_tasks: u64,
    /// Plan grids larger than `max_tasks` (`--yes`).
    pub allow_large: bool,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            max_tasks: MAX_TASKS,
            allow_large: false,
        }
    }
}

/// One task: its id and its position on every axis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    /// The task's identity.
    pub id: TaskId,
    /// Index into each axis' values, in the sweep's axis order.
    pub cell: Box<[u32]>,
}

/// The distinct, valid tasks of a sweep.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The sweep the tasks come from.
    pub sweep: Sweep,
    /// Tasks in grid order, each id once.
    pub tasks: Vec<Task>,
    /// Combinations dropped by include/exclude filters.
    pub filtered: u64,
    /// Combinations that repeated an earlier task.
    pub duplicates: u64,
    /// Things the user should know (duplicates, filters that match nothing).
    pub warnings: Vec<String>,
}

/// Where a filter finds a parameter's value.
enum Lookup {
    Axis { axis: usize, column: usize },
    Fixed(Option<Typed>),
}

impl Plan {
    /// Expands, validates and identifies every task of a sweep.
    ///
    /// # Errors
    /// Grids over the size limit, filters that leave no task, and tasks that are invalid as a
    /// whole (a constraint between parameters, an input file of the wrong shape), naming the
    /// file, line, column and key.
    pub fn new(sweep: Sweep, options: &PlanOptions) -> Result<Plan, PlanError> {
        let size = sweep.grid_size();
        if size > u128::from(options.max_tasks) && !options.allow_large {
            return Err(PlanError::TooLarge {
                origin: sweep.file.display().to_string(),
                tasks: size,
                shape: sweep
                    .axes
                    .iter()
                    .map(|a| a.len().to_string())
                    .collect::<Vec<_>>()
                    .join(" × "),
                limit: options.max_tasks,
            });
        }
        let mut files = FileHashes::new();
        let fixed: Vec<Entry> = sweep
            .fixed
            .iter()
            .map(|(path, setting)| Entry::new(spec_of(path).expect("checked"), setting, &mut files))
            .collect::<Result<_, _>>()?;
        let axes: Vec<Vec<Vec<Entry>>> = sweep
            .axes
            .iter()
            .map(|axis| {
                axis.values
                    .iter()
                    .map(|row| {
                        axis.paths
                            .iter()
                            .zip(row)
                            .map(|(path, setting)| {
                                Entry::new(spec_of(path).expect("checked"), setting, &mut files)
                            })
                            .collect::<Result<Vec<_>, _>>()
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .collect::<Result<_, _>>()?;
        let lookup = |path: &str| -> Lookup {
            for (a, axis) in sweep.axes.iter().enumerate() {
                if let Some(column) = axis.paths.iter().position(|p| *p == path) {
                    return Lookup::Axis { axis: a, column };
                }
            }
            let fixed = fixed
                .iter()
                .find(|e| e.path == path)
                .map(|e| e.typed.clone());
            Lookup::Fixed(fixed.or_else(|| spec_of(path).and_then(default_value)))
        };
        let compile = |filters: &[Filter]| -> Vec<Vec<(Lookup, Vec<Typed>)>> {
            filters
                .iter()
                .map(|f| {
                    f.conditions
                        .iter()
                        .map(|(path, values)| (lookup(path), values.clone()))
                        .collect()
                })
                .collect()
        };
        let include = compile(&sweep.include);
        let exclude = compile(&sweep.exclude);
        let matches = |filter: &[(Lookup, Vec<Typed>)], cell: &[u32]| {
            filter.iter().all(|(lookup, accepted)| match lookup {
                Lookup::Axis { axis, column } => {
                    accepted.contains(&axes[*axis][cell[*axis] as usize][*column].typed)
                }
                Lookup::Fixed(value) => value.as_ref().is_some_and(|v| accepted.contains(v)),
            })
        };
        let mut include_hits = vec![0u64; include.len()];
        let mut exclude_hits = vec![0u64; exclude.len()];

        let seed_axes: Vec<bool> = sweep.axes.iter().map(|a| a.is_seed_axis()).collect();
        let mut validated: HashSet<Vec<u32>> = HashSet::new();
        let mut seen: HashSet<TaskId> = HashSet::with_capacity(size.min(1 << 24) as usize);
        let mut tasks = Vec::with_capacity(size.min(1 << 24) as usize);
        let mut filtered = 0u64;
        let mut duplicates = 0u64;
        let mut first_duplicate = None;
        let mut cell = vec![0u32; sweep.axes.len()];
        let mut refs: Vec<&Entry> = Vec::with_capacity(fixed.len() + 8);
        'cells: loop {
            let mut keep = include.is_empty();
            for (filter, hits) in include.iter().zip(&mut include_hits) {
                if matches(filter, &cell) {
                    *hits += 1;
                    keep = true;
                }
            }
            for (filter, hits) in exclude.iter().zip(&mut exclude_hits) {
                if matches(filter, &cell) {
                    *hits += 1;
                    keep = false;
                }
            }
            if !keep {
                filtered += 1;
            } else {
                let key: Vec<u32> = cell
                    .iter()
                    .zip(&seed_axes)
                    .map(|(&i, &seed)| if seed { 0 } else { i })
                    .collect();
                if !validated.contains(&key) {
                    resolve(&settings_of(&sweep, &cell))?;
                    validated.insert(key);
                }
                refs.clear();
                refs.extend(fixed.iter());
                for (axis, &i) in axes.iter().zip(&cell) {
                    refs.extend(axis[i as usize].iter());
                }
                let (_, id) = canonical_of(&mut refs);
                if seen.insert(id) {
                    tasks.push(Task {
                        id,
                        cell: cell.clone().into_boxed_slice(),
                    });
                } else {
                    duplicates += 1;
                    first_duplicate.get_or_insert_with(|| cell.clone());
                }
            }
            // The odometer: the last axis varies fastest.
            for a in (0..cell.len()).rev() {
                cell[a] += 1;
                if (cell[a] as usize) < axes[a].len() {
                    continue 'cells;
                }
                cell[a] = 0;
            }
            break;
        }

        let mut warnings = Vec::new();
        if let Some(cell) = first_duplicate {
            warnings.push(format!(
                "{}: {duplicates} combination(s) repeat an earlier task (the same parameters once \
                 typed and defaults filled, e.g. {}) and are planned once",
                sweep.file.display(),
                describe(&sweep, &cell)
            ));
        }
        for (filters, hits, kind) in [
            (&sweep.include, &include_hits, "include"),
            (&sweep.exclude, &exclude_hits, "exclude"),
        ] {
            for (filter, hits) in filters.iter().zip(hits) {
                if *hits == 0 {
                    warnings.push(format!(
                        "{}: this grid.{kind} filter matches no combination",
                        filter.origin
                    ));
                }
            }
        }
        if tasks.is_empty() {
            return Err(PlanError::Sweep {
                origin: sweep.file.display().to_string(),
                key: "grid".into(),
                reason: "the filters leave no task".into(),
            });
        }
        Ok(Plan {
            sweep,
            tasks,
            filtered,
            duplicates,
            warnings,
        })
    }

    /// The settings of one task: the fixed ones and its axis values.
    pub fn settings(&self, task: &Task) -> BTreeMap<String, Setting> {
        settings_of(&self.sweep, &task.cell)
    }

    /// A task's solver inputs (re-reads file inputs).
    ///
    /// # Errors
    /// A file input changed or vanished since planning.
    pub fn resolve(&self, task: &Task) -> Result<Resolved, PlanError> {
        resolve(&self.settings(task))
    }

    /// A task's canonical form and id, as `docs/task-id.md` defines them.
    ///
    /// # Errors
    /// A file input that cannot be read any more.
    pub fn identity(&self, task: &Task) -> Result<TaskIdentity, PlanError> {
        crate::task_id(&self.settings(task))
    }

    /// The task's position on each axis: `(path, value)` for every parameter the axes set,
    /// typed by the schema (a task of a plan has only values that check).
    pub fn coordinates(&self, task: &Task) -> Vec<(&'static str, Typed)> {
        coordinates(&self.sweep, &task.cell)
            .into_iter()
            .filter_map(|(path, setting)| {
                let spec = spec_of(path)?;
                Some((path, crate::schema::check(spec, setting).ok()?))
            })
            .collect()
    }

    /// The value a task gives a parameter: its axis value, the fixed value, or the default.
    pub fn value(&self, task: &Task, path: &str) -> Option<Typed> {
        let spec = spec_of(path)?;
        for (axis, &i) in self.sweep.axes.iter().zip(task.cell.iter()) {
            if let Some(column) = axis.paths.iter().position(|p| *p == path) {
                return crate::schema::check(spec, &axis.values[i as usize][column]).ok();
            }
        }
        match self.sweep.fixed.get(path) {
            Some(setting) => crate::schema::check(spec, setting).ok(),
            None => default_value(spec),
        }
    }
}

fn settings_of(sweep: &Sweep, cell: &[u32]) -> BTreeMap<String, Setting> {
    let mut settings = sweep.fixed.clone();
    for (axis, &i) in sweep.axes.iter().zip(cell) {
        for (path, setting) in axis.paths.iter().zip(&axis.values[i as usize]) {
            settings.insert((*path).into(), setting.clone());
        }
    }
    settings
}

fn coordinates<'a>(sweep: &'a Sweep, cell: &[u32]) -> Vec<(&'static str, &'a Setting)> {
    sweep
        .axes
        .iter()
        .zip(cell)
        .flat_map(|(axis, &i)| {
            axis.paths
                .iter()
                .zip(&axis.values[i as usize])
                .map(|(path, setting)| (*path, setting))
        })
        .collect()
}

fn describe(sweep: &Sweep, cell: &[u32]) -> String {
    coordinates(sweep, cell)
        .iter()
        .map(|(path, setting)| format!("{path} = {}", setting.value))
        .collect::<Vec<_>>()
        .join(", ")
}
