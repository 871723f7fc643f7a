//! `sphereflow stationary`: a state polished onto a stationary point and certified (MODEL.md §9),
//! either the end state of a run (as `simulate` runs it) or a state read from a file.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::anyhow;
use sphereflow_plan::resolve;
use sphereflow_solver::{
    certify, certify_options, simulate_certified, Certificate, CertifyOptions, EscapeFrom, Par,
    Problem, State, Summary, COARSEN_MAX, MAX_CERTIFIED_ATOMS,
};

use crate::args::TaskArgs;
use crate::failure::Failure;
use crate::output::plural;

/// Arguments of `stationary`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    task: TaskArgs,
    /// Certify this state instead of running the flow: an `.npy` of n × d unit rows (particles
    /// of equal mass) or of the store's `[mass, x_1 .. x_d]` rows (atoms, masses normalized to
    /// sum 1, merged only where they coincide unless `stop.certify_merge` is set).
    #[arg(long, value_name = "STATE.npy")]
    from: Option<PathBuf>,
    /// Classify the polished state and stop, without escaping from a saddle or a stalled polish.
    #[arg(long)]
    no_escape: bool,
    /// Print the certificate as JSON.
    #[arg(long)]
    json: bool,
    /// Write the certified atoms as `[mass, x_1 .. x_d]` rows (`.npy`, readable by `--from`).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Draw the certified atoms (`.png` or `.svg`; S^1 and S^2), as `simulate --figure` draws
    /// a final state.
    #[arg(long, value_name = "FILE")]
    figure: Option<PathBuf>,
}

/// How far from 1 the norm of a row of a float64 state may be; the row is then renormalized.
const UNIT_TOLERANCE_F64: f64 = 1e-9;

/// The same for a float32 state, whose rounding alone moves a unit row's norm by up to ~1e-7.
const UNIT_TOLERANCE_F32: f64 = 1e-6;

/// Reads a state to certify: `dim` columns (unit rows, equal masses) or `dim + 1` (`[mass, x]`);
/// the state, and whether the file gave masses.
fn read_state(path: &Path, dim: usize) -> Result<(State, bool), Failure> {
    let fail = |reason: String| Failure::Input(anyhow!("--from {}: {reason}", path.display()));
    let (rows, cols, values) = sphereflow_plan::read_npy(path).map_err(fail)?;
    let with_masses = match cols {
        c if c == dim => false,
        c if c == dim + 1 => true,
        c => {
            return Err(fail(format!(
                "{c} columns, but model.dim = {dim}: expected {dim} (positions) or {} \
                 ([mass, x_1 .. x_{dim}])",
                dim + 1
            )))
        }
    };
    // A float32 file (every value exact in single precision) holds unit rows only to about
    // 1e-7: its rows are held to a single-precision tolerance, a float64 file's to 1e-9.
    let single = values.iter().all(|&v| f64::from(v as f32) == v);
    let tolerance = if single {
        UNIT_TOLERANCE_F32
    } else {
        UNIT_TOLERANCE_F64
    };
    let mut positions = Vec::with_capacity(rows * dim);
    let mut masses = Vec::with_capacity(rows);
    for (row, chunk) in values.chunks_exact(cols).enumerate() {
        if let Some(column) = chunk.iter().position(|v| !v.is_finite()) {
            return Err(fail(format!(
                "row {row}, column {column}: {} is not finite",
                chunk[column]
            )));
        }
        let (mass, x) = if with_masses {
            (chunk[0], &chunk[1..])
        } else {
            (1.0, chunk)
        };
        if mass <= 0.0 {
            return Err(fail(format!("row {row}: mass {mass} is not positive")));
        }
        let norm = x.iter().map(|v| v * v).sum::<f64>().sqrt();
        if (norm - 1.0).abs() > tolerance {
            return Err(fail(format!(
                "row {row}: the position has norm {norm}, not 1 to within {tolerance:e} (rows \
                 must be unit vectors)"
            )));
        }
        positions.extend(x.iter().map(|v| v / norm));
        masses.push(mass);
    }
    let total: f64 = masses.iter().sum();
    masses.iter_mut().for_each(|m| *m /= total);
    Ok((
        State {
            dim,
            positions,
            masses,
        },
        with_masses,
    ))
}

/// The certificate as `--json` prints it: every field of [`Certificate`], the wall time, and
/// the flow's summary when the flow ran.
fn json(certificate: &Certificate, flow: Option<&Summary>, runtime_s: f64) -> serde_json::Value {
    let mut value = serde_json::to_value(certificate).expect("plain data");
    let object = value.as_object_mut().expect("a struct");
    object.insert("n_atoms".into(), certificate.atoms.len().into());
    object.insert("runtime_s".into(), runtime_s.into());
    object.insert(
        "flow".into(),
        flow.map_or(serde_json::Value::Null, |s| {
            serde_json::to_value(s).expect("plain data")
        }),
    );
    value
}

/// "2 escapes (1 from a saddle, 1 from a stalled polish)", or "0 escapes".
fn escapes(certificate: &Certificate) -> String {
    let total = certificate.escapes.len();
    let stalled = certificate
        .escapes
        .iter()
        .filter(|e| e.from == EscapeFrom::Stalled)
        .count();
    if stalled == 0 {
        return plural(total, "escape");
    }
    format!(
        "{} ({} from a saddle, {} from a stalled polish)",
        plural(total, "escape"),
        total - stalled,
        stalled
    )
}

fn describe(certificate: &Certificate, flow: Option<&Summary>, runtime_s: f64) -> String {
    let mut line = format!(
        "{}: {} atoms, residual {:.2e} (field scale {:.2e})",
        certificate.classification.as_str(),
        certificate.atoms.len(),
        certificate.residual,
        certificate.field_scale
    );
    if let Some(lambda) = certificate.lambda_min {
        line += &format!(", λ_min {lambda:.3e} (τ {:.1e})", certificate.threshold);
    }
    line += &format!(
        ", {}, {}, {}, energy {:.9}",
        plural(certificate.zero_modes, "zero mode"),
        plural(certificate.newton_iterations, "Newton iteration"),
        escapes(certificate),
        certificate.energy
    );
    if let Some(given) = certificate.energy_given {
        line += &format!(" (the state given: {given:.9})");
    }
    if let Some(diameter) = certificate.coarsened {
        line += &format!("; polished from groups of diameter at most {diameter:.1e} rad");
    }
    if let Some(distance) = certificate.distance_given {
        line += &format!("; atoms within {distance:.2e} rad of the state given (Hausdorff)");
    }
    if let Some(kink) = &certificate.kink {
        line += &format!(
            "; atom {} is {:.1e} from the line of neuron {}",
            kink.atom, kink.distance, kink.neuron
        );
    }
    if certificate.perceptron_unresolved {
        line += "; the perceptron is below the rounding of attention";
    }
    if let Some(s) = flow {
        line += &format!(
            "; flow: {} after {} steps (t = {:.1})",
            s.stop_reason.as_str(),
            s.steps,
            s.t_final
        );
    }
    line + &format!("; {runtime_s:.2} s")
}

/// Runs `stationary`.
pub fn run(args: &Args) -> Result<(), Failure> {
    let settings = args.task.particle_settings("stationary")?;
    let resolved = resolve(&settings).map_err(Failure::input)?;
    if let Some(out) = &args.out {
        crate::output::require_npy(out)?;
    }
    if let Some(figure) = &args.figure {
        crate::output::require_figure(figure, resolved.params.model.dim)?;
    }
    let from = match &args.from {
        Some(path) => Some(read_state(path, resolved.params.model.dim)?),
        None => None,
    };
    // Rows with masses are atoms already: merged only where they coincide, unless
    // `stop.certify_merge` says otherwise; unit rows are particles, merged by the default rule.
    let atoms_given = from.as_ref().is_some_and(|(_, with_masses)| *with_masses);
    let from = from.map(|(state, _)| state);
    let escape = !args.no_escape;
    crate::args::check_memory(&resolved.params)?;
    let problem = Problem::new(resolved.params, resolved.initial, resolved.perceptron)
        .map_err(Failure::input)?;
    let started = Instant::now();
    // Without a state, the flow runs until its cluster count has settled and certification
    // takes over (or, when the certificate finds no stationary point there, to its own stop).
    let (certificate, flow) = match from {
        Some(state) => {
            let mut options = CertifyOptions {
                escape,
                ..certify_options(&problem.params, &state)
            };
            if atoms_given && problem.params.stop.certify_merge.is_none() {
                options.merge_tol = CertifyOptions::default().merge_tol;
            }
            let certificate =
                certify(&problem.dynamics, &state, &options, Par::Rayon).map_err(Failure::run)?;
            (certificate, None)
        }
        None => {
            let result = simulate_certified(&problem, escape, Par::Rayon).map_err(Failure::run)?;
            let Some(certificate) = result.certificate else {
                return Err(Failure::Run(anyhow!(
                    "the end state ({} after {} steps) has more than {MAX_CERTIFIED_ATOMS} atoms \
                     after merging and was not coarsened into fewer (a run that spreads, \
                     clusters too many or too wide for groups of up to {COARSEN_MAX:e} rad, or \
                     groups Newton's method kept apart): too many to certify here; write it \
                     with `simulate --out` and certify it with --from (every particle polished)",
                    result.summary.stop_reason.as_str(),
                    result.summary.steps
                )));
            };
            (certificate, Some(result.summary))
        }
    };
    let runtime_s = started.elapsed().as_secs_f64();
    if args.json {
        let value = json(&certificate, flow.as_ref(), runtime_s);
        println!(
            "{}",
            serde_json::to_string_pretty(&value).expect("plain JSON")
        );
    } else {
        println!("{}", describe(&certificate, flow.as_ref(), runtime_s));
    }
    if let Some(out) = &args.out {
        crate::output::write_file(out, &crate::output::state_npy(&certificate.state()))?;
    }
    if let Some(figure) = &args.figure {
        let atoms = certificate.state();
        let title = format!(
            "β = {}, {}: {}, {}",
            problem.params.model.beta,
            problem.params.perceptron.activation.as_str(),
            certificate.classification.as_str(),
            plural(atoms.len(), "atom")
        );
        let clusters = atoms
            .positions
            .chunks_exact(atoms.dim)
            .zip(&atoms.masses)
            .map(|(x, m)| (x.to_vec(), *m))
            .collect();
        crate::output::write_state_figure(
            figure,
            &title,
            &atoms,
            &problem.dynamics.perceptron,
            clusters,
            None,
        )?;
    }
    Ok(())
}
