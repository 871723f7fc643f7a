//! The sweep file language (docs/sweeps.md): fixed values in sections, axes under `[grid]`.
//!
//! ```toml
//! [sweep]
//! name = "s1-beta"                 # results/<name>/; default: the file's stem
//! [model]
//! particles = 1000                 # fixed
//! [grid]
//! model.beta = [1, 5, 10]          # an axis: the Cartesian product of all axes
//! init.seed = { range = [0, 10] }  # 0, 1, ..., 9
//! [[grid.zip]]                     # axes that vary together
//! model.particles = [100, 1000]
//! integrator.dt = [0.1, 0.05]
//! [[grid.exclude]]                 # drop the combinations that match every key
//! model.attention = "sa"
//! model.regime = "ascent"
//! ```
//!
//! Parsing keeps the position of every key and value, so each error names the file, line,
//! column and key. Every value is checked against the schema here, before anything runs.
//!
//! Long file: the sweep language, from TOML with positions to checked axes, in one place.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml_edit::{ImDocument, Item, Table, Value};

use crate::schema::{check, spec_of, suggest, Kind, PlanError, Setting, Typed};

/// Sections that hold fixed parameter values.
pub const SECTIONS: &[&str] = &[
    "model",
    "perceptron",
    "init",
    "integrator",
    "stop",
    "measure",
    "meanfield",
];

/// Largest number of values one generator may produce: an axis this long is alone a grid at
/// the task limit (the planner's `MAX_TASKS`; the two files do not import each other). Checked from the generator's count, before any value is made.
const MAX_AXIS_VALUES: i64 = 1_000_000;

/// The largest sweep file read (16 MiB): a sweep is a page of TOML, and a larger file is
/// something else.
const MAX_SWEEP_BYTES: u64 = 16 << 20;

/// Longest sweep name: the name is a folder and a file prefix (`results/<name>/`, Slurm
/// scripts `<name>-...sbatch`), well under a file name's 255 bytes.
pub const MAX_NAME_CHARS: usize = 100;

/// Why a sweep name cannot name a results folder and Slurm jobs, if it cannot.
fn name_problem(name: &str) -> Option<String> {
    let rule = format!(
        "use letters, digits, '-', '_' and '.', not starting with '.', at most {MAX_NAME_CHARS} \
         characters"
    );
    if name.is_empty() {
        return Some(format!("an empty name: {rule}"));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Some(format!(
            "a name of {} characters: {rule}",
            name.chars().count()
        ));
    }
    let valid = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        && !name.starts_with('.');
    (!valid).then_some(rule)
}

/// A parsed, checked sweep file: what to vary and what to hold fixed.
#[derive(Debug, Clone)]
pub struct Sweep {
    /// The sweep's name (`[sweep] name`, else the file's stem): names its result folder.
    pub name: String,
    /// `[sweep] description`, if any.
    pub description: Option<String>,
    /// The file it was read from.
    pub file: PathBuf,
    /// Parameters held fixed, by path.
    pub fixed: BTreeMap<String, Setting>,
    /// The axes, in file order: plain axes, then zipped groups.
    pub axes: Vec<Axis>,
    /// `[[grid.include]]`: when present, only combinations matching one of them are kept.
    pub include: Vec<Filter>,
    /// `[[grid.exclude]]`: combinations matching one of them are dropped.
    pub exclude: Vec<Filter>,
    /// `[profile.<name>]`: overrides applied by [`Sweep::with_profile`].
    pub profiles: BTreeMap<String, Vec<Override>>,
}

/// One override of a profile: a parameter fixed, or made an axis.
#[derive(Debug, Clone)]
pub enum Override {
    /// `path = value`.
    Fixed(&'static str, Setting),
    /// `path = [values]` or a generator.
    Axis(&'static str, Vec<Setting>, String),
}

/// One axis of the grid: one parameter, or several that vary together (`[[grid.zip]]`).
#[derive(Debug, Clone)]
pub struct Axis {
    /// The parameters it sets.
    pub paths: Vec<&'static str>,
    /// `values[i][k]` is the value of `paths[k]` at the axis' `i`-th position.
    pub values: Vec<Vec<Setting>>,
    /// Where it was written (`file:line:col`).
    pub origin: String,
}

impl Axis {
    /// Number of positions.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether it has no positions (never true for a parsed sweep).
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Whether every parameter it sets is a seed (`init.seed`, `perceptron.seed`): such axes
    /// cannot make a task invalid.
    pub fn is_seed_axis(&self) -> bool {
        self.paths
            .iter()
            .all(|p| matches!(*p, "init.seed" | "perceptron.seed"))
    }
}

/// A condition on combinations: every listed parameter takes one of the listed values.
#[derive(Debug, Clone)]
pub struct Filter {
    /// `(parameter, accepted values)`.
    pub conditions: Vec<(&'static str, Vec<Typed>)>,
    /// Where it was written.
    pub origin: String,
}

/// Positions in one file's text.
struct Source<'a> {
    name: String,
    text: &'a str,
    base: PathBuf,
}

impl Source<'_> {
    /// `file:line:col` of a byte span (1-based line and column, column in characters).
    fn at(&self, span: Option<Range<usize>>) -> String {
        match span {
            Some(span) => {
                let before = &self.text[..span.start.min(self.text.len())];
                let line = before.matches('\n').count() + 1;
                let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
                format!("{}:{line}:{column}", self.name)
            }
            None => self.name.clone(),
        }
    }

    fn setting(&self, value: &Value) -> Setting {
        Setting {
            value: to_toml(value),
            origin: self.at(value.span()),
            base: self.base.clone(),
        }
    }

    fn error(&self, span: Option<Range<usize>>, key: &str, reason: impl Into<String>) -> PlanError {
        PlanError::Sweep {
            origin: self.at(span),
            key: key.into(),
            reason: reason.into(),
        }
    }
}

/// The message for a top-level key that is not a section, with the nearest section.
fn unknown_section(key: &str) -> String {
    let known = SECTIONS.iter().chain(&["sweep", "grid", "profile"]);
    let nearest = known
        .map(|s| (crate::schema::distance(key, s), *s))
        .filter(|(d, _)| *d <= 3)
        .min();
    let sections = "sections are [sweep], [model], [perceptron], [init], [integrator], [stop], \
                    [measure], [meanfield], [grid] and [profile.<name>]";
    match nearest {
        Some((_, near)) => format!("unknown section; did you mean `[{near}]`? ({sections})"),
        None => format!("unknown section ({sections})"),
    }
}

fn to_toml(value: &Value) -> toml::Value {
    match value {
        Value::String(s) => toml::Value::String(s.value().clone()),
        Value::Integer(i) => toml::Value::Integer(*i.value()),
        Value::Float(f) => toml::Value::Float(*f.value()),
        Value::Boolean(b) => toml::Value::Boolean(*b.value()),
        Value::Datetime(d) => toml::Value::Datetime(*d.value()),
        Value::Array(a) => toml::Value::Array(a.iter().map(to_toml).collect()),
        Value::InlineTable(t) => {
            toml::Value::Table(t.iter().map(|(k, v)| (k.to_string(), to_toml(v))).collect())
        }
    }
}

/// A key (or parameter path), where it was written, and its item.
type Keyed<K> = (K, Option<Range<usize>>, Item);

/// A table's entries with their key spans, whether written as `[table]` or `{ inline }`.
fn entries(item: &Item) -> Option<Vec<Keyed<&str>>> {
    match item {
        Item::Table(table) => Some(table_entries(table)),
        Item::Value(Value::InlineTable(table)) => Some(
            table
                .iter()
                .map(|(k, v)| {
                    (
                        k,
                        table.key(k).and_then(|key| key.span()),
                        Item::Value(v.clone()),
                    )
                })
                .collect(),
        ),
        _ => None,
    }
}

fn table_entries(table: &Table) -> Vec<Keyed<&str>> {
    table
        .iter()
        .map(|(k, v)| (k, table.key(k).and_then(|key| key.span()), v.clone()))
        .collect()
}

fn item_span(item: &Item, key_span: Option<Range<usize>>) -> Option<Range<usize>> {
    item.span().or(key_span)
}

/// Parameter paths of a `[grid]`-like table: `section.key` (dotted or nested), or a quoted
/// `"section.key"`.
fn parameter_entries(
    source: &Source,
    table: &Table,
    context: &str,
) -> Result<Vec<Keyed<&'static str>>, PlanError> {
    let mut out = Vec::new();
    for (key, key_span, item) in table_entries(table) {
        out.extend(parameters_of(source, key, key_span, item, context)?);
    }
    Ok(out)
}

/// The parameters one entry of a `[grid]`-like table sets.
fn parameters_of(
    source: &Source,
    key: &str,
    key_span: Option<Range<usize>>,
    item: Item,
    context: &str,
) -> Result<Vec<Keyed<&'static str>>, PlanError> {
    if key.contains('.') {
        return Ok(vec![(
            known_path(source, key, key_span.clone())?,
            key_span,
            item,
        )]);
    }
    let inner = match &item {
        Item::Table(_) | Item::Value(Value::InlineTable(_)) if SECTIONS.contains(&key) => {
            entries(&item)
        }
        _ => None,
    };
    let Some(inner) = inner else {
        return Err(PlanError::UnknownKey {
            origin: source.at(key_span),
            key: format!("{context}.{key}"),
            suggestion: suggest(key),
        });
    };
    inner
        .into_iter()
        .map(|(name, span, value)| {
            let path = known_path(source, &format!("{key}.{name}"), span.clone())?;
            Ok((path, span, value))
        })
        .collect()
}

fn known_path(
    source: &Source,
    path: &str,
    span: Option<Range<usize>>,
) -> Result<&'static str, PlanError> {
    spec_of(path)
        .map(|spec| spec.path)
        .ok_or_else(|| PlanError::UnknownKey {
            origin: source.at(span),
            key: path.into(),
            suggestion: suggest(path),
        })
}

/// The axes a set of keys leaves free ([`Sweep::unpinned`]), for the commands that run one point
/// of a sweep's grid.
#[derive(Debug)]
pub struct Unpinned<'a> {
    /// Where the first axis with a free parameter is written (`file:line:col`).
    pub origin: &'a str,
    /// Every free axis parameter, in the axes' order.
    pub paths: Vec<&'static str>,
    /// The first free parameter and its first value on its axis, as an example.
    pub example: (&'static str, &'a Setting),
}

impl Sweep {
    /// The axis parameters that `pinned` does not give; `None` when it gives every one, so that
    /// the fixed values and the pins are one point of the grid.
    pub fn unpinned(&self, pinned: impl Fn(&str) -> bool) -> Option<Unpinned<'_>> {
        let free = |path: &&'static str| !pinned(path);
        let axis = self.axes.iter().find(|axis| axis.paths.iter().any(free))?;
        let at = axis.paths.iter().position(free).expect("found above");
        Some(Unpinned {
            origin: &axis.origin,
            paths: self
                .axes
                .iter()
                .flat_map(|axis| axis.paths.iter().copied())
                .filter(|path| !pinned(path))
                .collect(),
            example: (axis.paths[at], &axis.values[0][at]),
        })
    }

    /// Reads and checks a sweep file.
    ///
    /// # Errors
    /// Unreadable files, TOML syntax, unknown keys, wrong types, out-of-range values and
    /// malformed axes, each naming the file, line, column and key.
    pub fn read(path: &Path) -> Result<Sweep, PlanError> {
        let refuse = |reason: String| PlanError::File {
            origin: path.display().to_string(),
            reason,
        };
        // A device or a pipe is never read: it may not end (`/dev/zero`) or never start (a FIFO
        // without a writer). A regular file is read up to the limit, however it grows.
        let metadata = std::fs::metadata(path).map_err(|e| refuse(format!("cannot read: {e}")))?;
        if !metadata.is_file() {
            return Err(refuse(
                "not a regular file (a folder, device or pipe): name a sweep file".into(),
            ));
        }
        let mut text = Vec::new();
        std::fs::File::open(path)
            .and_then(|file| {
                use std::io::Read;
                file.take(MAX_SWEEP_BYTES + 1).read_to_end(&mut text)
            })
            .map_err(|e| refuse(format!("cannot read: {e}")))?;
        if text.len() as u64 > MAX_SWEEP_BYTES {
            return Err(refuse(format!(
                "larger than {MAX_SWEEP_BYTES} bytes: not a sweep file"
            )));
        }
        let text = String::from_utf8(text).map_err(|e| PlanError::File {
            origin: path.display().to_string(),
            reason: format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
        })?;
        let base = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "sweep".into());
        Sweep::parse(&text, &path.display().to_string(), &base, &stem)
    }

    /// Parses and checks a sweep file's text; `origin` names it in errors, `base` is the folder
    /// file inputs resolve against, `default_name` names the sweep when `[sweep] name` is absent.
    ///
    /// # Errors
    /// As [`Sweep::read`].
    pub fn parse(
        text: &str,
        origin: &str,
        base: &Path,
        default_name: &str,
    ) -> Result<Sweep, PlanError> {
        let source = Source {
            name: origin.into(),
            text,
            base: base.to_path_buf(),
        };
        let document = ImDocument::parse(text).map_err(|e| PlanError::Sweep {
            origin: source.at(e.span()),
            key: String::new(),
            reason: format!(
                "TOML syntax: {}",
                e.message().trim().lines().collect::<Vec<_>>().join("; ")
            ),
        })?;
        // An empty file is most often one whose writing failed: running the defaults from it
        // would hide that. A sweep of defaults says so with at least `[sweep]`.
        if document.as_table().is_empty() {
            return Err(PlanError::File {
                origin: origin.into(),
                reason: "the file is empty (no section, no key); write `[sweep]` at least to \
                         run the defaults"
                    .into(),
            });
        }
        let mut sweep = Sweep {
            name: default_name.into(),
            description: None,
            file: PathBuf::from(origin),
            fixed: BTreeMap::new(),
            axes: Vec::new(),
            include: Vec::new(),
            exclude: Vec::new(),
            profiles: BTreeMap::new(),
        };
        let mut grid = None;
        let mut profiles = None;
        let mut named = false;
        for (key, key_span, item) in table_entries(document.as_table()) {
            match key {
                "sweep" => sweep.read_header(&source, &item, key_span, &mut named)?,
                "grid" => grid = Some((item, key_span)),
                "profile" => profiles = Some((item, key_span)),
                section if SECTIONS.contains(&section) => {
                    sweep.read_section(&source, section, &item, key_span)?
                }
                other => {
                    return Err(source.error(key_span, other, unknown_section(other)));
                }
            }
        }
        // The file's stem names the sweep when `[sweep] name` does not: it must be a name too
        // (`...toml` would write into the parent of `results/`, a space break Slurm scripts).
        if !named {
            if let Some(problem) = name_problem(default_name) {
                return Err(PlanError::File {
                    origin: origin.into(),
                    reason: format!(
                        "the sweep is named after the file ({default_name:?}), and a sweep's name \
                         names a results folder and Slurm jobs: {problem}; rename the file or \
                         set `[sweep] name`"
                    ),
                });
            }
        }
        if let Some((item, span)) = grid {
            sweep.read_grid(&source, &item, span)?;
        }
        if let Some((item, span)) = profiles {
            sweep.read_profiles(&source, &item, span)?;
        }
        Ok(sweep)
    }

    fn read_profiles(
        &mut self,
        source: &Source,
        item: &Item,
        span: Option<Range<usize>>,
    ) -> Result<(), PlanError> {
        let Some(profiles) = entries(item) else {
            return Err(source.error(span, "profile", "expected tables `[profile.<name>]`"));
        };
        for (name, name_span, body) in profiles {
            let Item::Table(table) = &body else {
                return Err(source.error(
                    name_span,
                    &format!("profile.{name}"),
                    "expected a table `[profile.<name>]` of parameters",
                ));
            };
            let mut overrides = Vec::new();
            for (path, key_span, value) in
                parameter_entries(source, table, &format!("profile.{name}"))?
            {
                let is_axis = matches!(
                    value,
                    Item::Value(Value::Array(_) | Value::InlineTable(_)) | Item::Table(_)
                );
                if is_axis {
                    let values = axis_values(source, path, &value, key_span.clone())?;
                    overrides.push(Override::Axis(
                        path,
                        values,
                        source.at(item_span(&value, key_span)),
                    ));
                } else if let Item::Value(v) = &value {
                    let setting = source.setting(v);
                    check(spec_of(path).expect("known path"), &setting)?;
                    overrides.push(Override::Fixed(path, setting));
                }
            }
            self.profiles.insert(name.to_string(), overrides);
        }
        Ok(())
    }

    /// The sweep with a profile's overrides applied (`[profile.<name>]`).
    ///
    /// # Errors
    /// A profile the sweep does not define ([`PlanError::UnknownProfile`]); an override of a
    /// parameter that is part of a zipped axis.
    pub fn with_profile(&self, name: &str) -> Result<Sweep, PlanError> {
        let mut sweep = self.clone();
        let Some(overrides) = self.profiles.get(name) else {
            return Err(PlanError::UnknownProfile {
                file: self.file.display().to_string(),
                name: name.to_string(),
                known: self.profiles.keys().cloned().collect(),
            });
        };
        for item in overrides {
            let (path, origin) = match item {
                Override::Fixed(path, setting) => (*path, setting.origin.clone()),
                Override::Axis(path, _, origin) => (*path, origin.clone()),
            };
            if sweep
                .axes
                .iter()
                .any(|a| a.paths.len() > 1 && a.paths.contains(&path))
            {
                return Err(PlanError::Sweep {
                    origin,
                    key: path.into(),
                    reason: "a profile cannot override one parameter of a zipped axis".into(),
                });
            }
            let position = sweep.axes.iter().position(|a| a.paths == [path]);
            match item {
                Override::Fixed(_, setting) => {
                    if let Some(i) = position {
                        sweep.axes.remove(i);
                    }
                    sweep.fixed.insert(path.into(), setting.clone());
                }
                Override::Axis(_, values, origin) => {
                    sweep.fixed.remove(path);
                    let axis = Axis {
                        paths: vec![path],
                        values: values.iter().map(|v| vec![v.clone()]).collect(),
                        origin: origin.clone(),
                    };
                    match position {
                        Some(i) => sweep.axes[i] = axis,
                        None => sweep.axes.push(axis),
                    }
                }
            }
        }
        Ok(sweep)
    }

    fn read_header(
        &mut self,
        source: &Source,
        item: &Item,
        span: Option<Range<usize>>,
        named: &mut bool,
    ) -> Result<(), PlanError> {
        let Some(fields) = entries(item) else {
            return Err(source.error(span, "sweep", "expected a table `[sweep]`"));
        };
        for (key, key_span, value) in fields {
            let text = value.as_str();
            match (key, text) {
                ("name", Some(name)) => {
                    if let Some(problem) = name_problem(name) {
                        let shown: String = name.chars().take(40).collect();
                        let shown = if shown.len() < name.len() {
                            format!("{shown:?}...")
                        } else {
                            format!("{shown:?}")
                        };
                        return Err(source.error(
                            item_span(&value, key_span),
                            "sweep.name",
                            format!("{shown} names a results folder and Slurm jobs: {problem}"),
                        ));
                    }
                    self.name = name.into();
                    *named = true;
                }
                ("description", Some(text)) => self.description = Some(text.into()),
                ("name" | "description", None) => {
                    return Err(source.error(
                        item_span(&value, key_span),
                        &format!("sweep.{key}"),
                        "expected a string",
                    ))
                }
                (other, _) => {
                    return Err(PlanError::UnknownKey {
                        origin: source.at(key_span),
                        key: format!("sweep.{other}"),
                        suggestion: "; `[sweep]` takes `name` and `description`".into(),
                    })
                }
            }
        }
        Ok(())
    }

    fn read_section(
        &mut self,
        source: &Source,
        section: &str,
        item: &Item,
        span: Option<Range<usize>>,
    ) -> Result<(), PlanError> {
        let Some(fields) = entries(item) else {
            return Err(source.error(
                span,
                section,
                format!("expected a table `[{section}]` of parameters"),
            ));
        };
        for (key, key_span, value) in fields {
            let path = format!("{section}.{key}");
            let path = known_path(source, &path, key_span.clone())?;
            let value = match value {
                Item::Value(Value::Array(_)) => {
                    return Err(source.error(
                        item_span(&value, key_span),
                        path,
                        format!(
                            "a list is not a fixed value; to vary it, put it under [grid] \
                             as `{path} = [...]`"
                        ),
                    ))
                }
                Item::Value(v @ Value::InlineTable(_)) => {
                    return Err(source.error(
                        v.span(),
                        path,
                        "a table is not a fixed value; generators (range, linspace, ...) \
                         belong under [grid]",
                    ))
                }
                Item::Value(v) => v,
                _ => return Err(source.error(key_span, path, "expected a value, got a table")),
            };
            let setting = source.setting(&value);
            check(spec_of(path).expect("known path"), &setting)?;
            self.fixed.insert(path.into(), setting);
        }
        Ok(())
    }

    fn read_grid(
        &mut self,
        source: &Source,
        item: &Item,
        span: Option<Range<usize>>,
    ) -> Result<(), PlanError> {
        let Item::Table(grid) = item else {
            return Err(source.error(span, "grid", "expected a table `[grid]`"));
        };
        let mut zips = Vec::new();
        let mut include = Vec::new();
        let mut exclude = Vec::new();
        let mut plain = Vec::new();
        for (key, key_span, item) in table_entries(grid) {
            if !matches!(key, "zip" | "include" | "exclude") {
                plain.extend(parameters_of(source, key, key_span, item, "grid")?);
                continue;
            }
            let tables = match &item {
                Item::ArrayOfTables(array) => Some(array.iter().cloned().collect::<Vec<_>>()),
                Item::Value(Value::Array(array)) => array
                    .iter()
                    .map(|v| v.as_inline_table().map(|t| t.clone().into_table()))
                    .collect::<Option<Vec<_>>>(),
                Item::Table(table) => Some(vec![table.clone()]),
                _ => None,
            };
            let Some(tables) = tables else {
                return Err(source.error(
                    item_span(&item, key_span),
                    &format!("grid.{key}"),
                    format!("expected tables: write `[[grid.{key}]]` sections"),
                ));
            };
            match key {
                "zip" => zips.extend(tables),
                "include" => include.extend(tables),
                _ => exclude.extend(tables),
            }
        }
        // Axes in the order they are written (dotted keys group by section in the table).
        plain.sort_by_key(|(_, span, _)| span.as_ref().map_or(usize::MAX, |s| s.start));
        for (path, span, item) in plain {
            let values = axis_values(source, path, &item, span.clone())?;
            let rows = values.into_iter().map(|v| vec![v]).collect();
            self.add_axis(source, vec![path], rows, item_span(&item, span))?;
        }
        for table in zips {
            let span = table.span();
            let mut paths = Vec::new();
            let mut columns: Vec<Vec<Setting>> = Vec::new();
            for (path, key_span, item) in parameter_entries(source, &table, "grid.zip")? {
                let values = axis_values(source, path, &item, key_span.clone())?;
                if let Some(first) = columns.first() {
                    if first.len() != values.len() {
                        return Err(source.error(
                            item_span(&item, key_span),
                            path,
                            format!(
                                "zipped axes must have the same length: `{}` has {}, `{path}` has {}",
                                paths[0],
                                first.len(),
                                values.len()
                            ),
                        ));
                    }
                }
                paths.push(path);
                columns.push(values);
            }
            if paths.is_empty() {
                return Err(source.error(
                    span,
                    "grid.zip",
                    "an empty zip: list the axes that vary together",
                ));
            }
            let rows = (0..columns[0].len())
                .map(|i| columns.iter().map(|c| c[i].clone()).collect())
                .collect();
            self.add_axis(source, paths, rows, span)?;
        }
        for table in include {
            self.include.push(read_filter(source, "include", &table)?);
        }
        for table in exclude {
            self.exclude.push(read_filter(source, "exclude", &table)?);
        }
        Ok(())
    }

    fn add_axis(
        &mut self,
        source: &Source,
        paths: Vec<&'static str>,
        values: Vec<Vec<Setting>>,
        span: Option<Range<usize>>,
    ) -> Result<(), PlanError> {
        for path in &paths {
            if let Some(fixed) = self.fixed.get(*path) {
                return Err(source.error(
                    span,
                    path,
                    format!("is both fixed (at {}) and an axis; keep one", fixed.origin),
                ));
            }
            if let Some(other) = self.axes.iter().find(|a| a.paths.contains(path)) {
                return Err(source.error(
                    span,
                    path,
                    format!("is already an axis (at {})", other.origin),
                ));
            }
        }
        self.axes.push(Axis {
            paths,
            values,
            origin: source.at(span),
        });
        Ok(())
    }

    /// Number of combinations before filters and deduplication (saturating).
    pub fn grid_size(&self) -> u128 {
        self.axes
            .iter()
            .fold(1u128, |n, axis| n.saturating_mul(axis.len() as u128))
    }
}

/// The values of one axis: a list, or a generator table.
fn axis_values(
    source: &Source,
    path: &'static str,
    item: &Item,
    key_span: Option<Range<usize>>,
) -> Result<Vec<Setting>, PlanError> {
    let spec = spec_of(path).expect("known path");
    let span = item_span(item, key_span.clone());
    let values: Vec<Setting> = match item {
        Item::Value(Value::Array(array)) => array.iter().map(|v| source.setting(v)).collect(),
        Item::Value(Value::InlineTable(_)) | Item::Table(_) => {
            let fields = entries(item).expect("a table");
            let [(name, name_span, args)] = fields.as_slice() else {
                return Err(source.error(
                    span,
                    path,
                    "a generator table has exactly one key: range, linspace, logspace or geomspace",
                ));
            };
            let at = item_span(args, name_span.clone());
            let numbers = generator_arguments(source, path, name, args, at.clone())?;
            let generated = generate(name, &numbers, spec.kind)
                .map_err(|reason| source.error(at.clone(), path, reason))?;
            let origin = source.at(at);
            generated
                .into_iter()
                .map(|value| Setting {
                    value,
                    origin: origin.clone(),
                    base: source.base.clone(),
                })
                .collect()
        }
        Item::Value(_) => {
            return Err(source.error(
                span,
                path,
                format!(
                    "an axis is a list of values or a generator; to fix one value, write it \
                     in [{}]",
                    path.split('.').next().unwrap_or("model")
                ),
            ))
        }
        _ => return Err(source.error(span, path, "expected a list of values")),
    };
    if values.is_empty() {
        return Err(source.error(span, path, "an empty axis: give at least one value"));
    }
    for setting in &values {
        check(spec, setting)?;
    }
    Ok(values)
}

fn generator_arguments(
    source: &Source,
    path: &str,
    name: &str,
    args: &Item,
    span: Option<Range<usize>>,
) -> Result<Vec<toml::Value>, PlanError> {
    let Some(array) = args.as_array() else {
        return Err(source.error(
            span,
            path,
            format!("`{name}` takes a list: {}", generator_usage(name)),
        ));
    };
    Ok(array.iter().map(to_toml).collect())
}

fn generator_usage(name: &str) -> &'static str {
    match name {
        "range" => "`range = [start, stop]` or `[start, stop, step]` (integers, stop excluded)",
        "linspace" => "`linspace = [start, stop, count]` (evenly spaced, both ends included)",
        "logspace" => {
            "`logspace = [a, b, count]`: 10^a ... 10^b, evenly spaced exponents, both ends included"
        }
        "geomspace" => "`geomspace = [start, stop, count]` (geometric, both ends included)",
        _ => "the generators are range, linspace, logspace and geomspace",
    }
}

/// Values of a generator. Float sequences given to an integer parameter are rounded.
fn generate(name: &str, args: &[toml::Value], kind: Kind) -> Result<Vec<toml::Value>, String> {
    let usage = || format!("`{name}`: {}", generator_usage(name));
    let int = |v: &toml::Value| v.as_integer();
    let number = |v: &toml::Value| v.as_float().or_else(|| v.as_integer().map(|i| i as f64));
    match name {
        "range" => {
            let numbers: Option<Vec<i64>> = args.iter().map(int).collect();
            let (start, stop, step) = match numbers.as_deref() {
                Some([start, stop]) => (*start, *stop, 1),
                Some([start, stop, step]) => (*start, *stop, *step),
                _ => return Err(usage()),
            };
            if step == 0 {
                return Err("`range`: the step must not be 0".into());
            }
            // In i128: the span of two i64 and a step of any size cannot overflow there.
            let (start, stop, step) = (i128::from(start), i128::from(stop), i128::from(step));
            let count = if step > 0 {
                (stop - start + step - 1).max(0) / step
            } else {
                (start - stop - step - 1).max(0) / -step
            };
            if count > i128::from(MAX_AXIS_VALUES) {
                return Err(format!(
                    "`range` gives {count} values, more than {MAX_AXIS_VALUES} (the task limit); \
                     split the sweep"
                ));
            }
            Ok((0..count)
                // Every value lies between `start` and `stop`, so it fits an i64.
                .map(|i| (start + i * step) as i64)
                .map(|v| match kind {
                    Kind::Float { .. } => toml::Value::Float(v as f64),
                    _ => toml::Value::Integer(v),
                })
                .collect())
        }
        "linspace" | "logspace" | "geomspace" => {
            let [start, stop, count] = args else {
                return Err(usage());
            };
            let (Some(start), Some(stop), Some(count)) = (number(start), number(stop), int(count))
            else {
                return Err(usage());
            };
            if !(1..=MAX_AXIS_VALUES).contains(&count) {
                return Err(format!(
                    "`{name}`: the count must be between 1 and {MAX_AXIS_VALUES} (the task \
                     limit), got {count}"
                ));
            }
            if !start.is_finite() || !stop.is_finite() {
                return Err(format!("`{name}`: the ends must be finite"));
            }
            if name == "geomspace" && (start <= 0.0 || stop <= 0.0) {
                return Err("`geomspace`: both ends must be positive".into());
            }
            let last = (count - 1).max(1) as f64;
            let values = (0..count).map(|i| {
                let fraction = i as f64 / last;
                let at_end = i == count - 1 && count > 1;
                match name {
                    "linspace" if at_end => stop,
                    "linspace" => start + (stop - start) * fraction,
                    "logspace" => 10f64.powf(if at_end {
                        stop
                    } else {
                        start + (stop - start) * fraction
                    }),
                    _ if at_end => stop,
                    _ => start * (stop / start).powf(fraction),
                }
            });
            Ok(values
                .map(|x| match kind {
                    Kind::Int { .. } => toml::Value::Integer(x.round() as i64),
                    _ => toml::Value::Float(x),
                })
                .collect())
        }
        _ => Err(format!(
            "unknown generator `{name}`; {}",
            generator_usage("")
        )),
    }
}

fn read_filter(source: &Source, kind: &str, table: &Table) -> Result<Filter, PlanError> {
    let span = table.span();
    let mut conditions = Vec::new();
    for (path, key_span, item) in parameter_entries(source, table, &format!("grid.{kind}"))? {
        let spec = spec_of(path).expect("known path");
        let values: Vec<Value> = match &item {
            Item::Value(Value::Array(array)) => array.iter().cloned().collect(),
            Item::Value(v) if !v.is_inline_table() => vec![v.clone()],
            _ => {
                return Err(source.error(
                    item_span(&item, key_span),
                    path,
                    format!("a `grid.{kind}` condition is a value or a list of values"),
                ))
            }
        };
        if values.is_empty() {
            return Err(source.error(
                item_span(&item, key_span),
                path,
                "an empty list matches nothing",
            ));
        }
        let typed = values
            .iter()
            .map(|v| check(spec, &source.setting(v)))
            .collect::<Result<Vec<_>, _>>()?;
        conditions.push((path, typed));
    }
    if conditions.is_empty() {
        return Err(source.error(
            span,
            &format!("grid.{kind}"),
            "an empty filter: give the parameters and values it matches",
        ));
    }
    Ok(Filter {
        conditions,
        origin: source.at(span),
    })
}
