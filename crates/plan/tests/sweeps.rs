//! The sweep language and task identity: generators, zips, filters, deduplication, file inputs,
//! and property tests of the ids (formatting, key order, number spelling, explicit defaults and
//! new parameters never change an id; any change of a value does).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use proptest::prelude::*;
use sphereflow_plan::schema::check;
use sphereflow_plan::{
    task_id, task_id_in, Kind, ParamSpec, Plan, PlanError, PlanOptions, Setting, Sweep, Typed,
    SCHEMA,
};

fn plan_of(text: &str) -> Plan {
    plan_in(text, Path::new("."))
}

fn plan_in(text: &str, base: &Path) -> Plan {
    let sweep = Sweep::parse(text, "test.toml", base, "test").unwrap_or_else(|e| panic!("{e}"));
    Plan::new(sweep, &PlanOptions::default()).unwrap_or_else(|e| panic!("{e}"))
}

fn values_of(plan: &Plan, path: &str) -> Vec<Typed> {
    plan.tasks
        .iter()
        .map(|t| plan.value(t, path).unwrap())
        .collect()
}

fn ids(plan: &Plan) -> BTreeSet<String> {
    plan.tasks.iter().map(|t| t.id.to_hex()).collect()
}

#[test]
fn generators_give_their_documented_values() {
    let plan = plan_of("[grid]\ninit.seed = { range = [3, 10, 3] }\n");
    assert_eq!(
        values_of(&plan, "init.seed"),
        [3, 6, 9].map(Typed::Int).to_vec()
    );
    let plan = plan_of("[grid]\ninit.seed = { range = [2, -1, -1] }\n");
    assert_eq!(
        values_of(&plan, "init.seed"),
        [2, 1, 0].map(Typed::Int).to_vec()
    );
    let plan = plan_of("[grid]\nmodel.beta = { linspace = [0.1, 0.3, 3] }\n");
    let betas = values_of(&plan, "model.beta");
    assert_eq!(betas[0], Typed::Float(0.1));
    assert_eq!(betas[2], Typed::Float(0.3), "the end is exact");
    let Typed::Float(middle) = betas[1] else {
        unreachable!()
    };
    assert!((middle - 0.2).abs() < 1e-15);
    let plan = plan_of("[grid]\nmodel.beta = { logspace = [-1, 2, 4] }\n");
    let betas: Vec<f64> = values_of(&plan, "model.beta")
        .into_iter()
        .map(|t| match t {
            Typed::Float(x) => x,
            _ => unreachable!(),
        })
        .collect();
    for (got, want) in betas.iter().zip([0.1, 1.0, 10.0, 100.0]) {
        assert!((got / want - 1.0).abs() < 1e-14, "{got} vs {want}");
    }
    let plan = plan_of("[grid]\nmodel.beta = { geomspace = [1, 50, 3] }\n");
    let betas = values_of(&plan, "model.beta");
    assert_eq!(betas[2], Typed::Float(50.0));
    // Float sequences for an integer parameter are rounded.
    let plan = plan_of("[grid]\nmodel.particles = { geomspace = [100, 10000, 3] }\n");
    assert_eq!(
        values_of(&plan, "model.particles"),
        [100, 1000, 10000].map(Typed::Int).to_vec()
    );
}

#[test]
fn the_grid_is_the_product_of_axes_and_zips_vary_together() {
    let plan = plan_of(
        "[grid]\nmodel.beta = [1, 5]\nperceptron.activation = [\"relu\", \"none\"]\n\
         [[grid.zip]]\nmodel.particles = [10, 20, 30]\nintegrator.dt = [0.1, 0.05, 0.02]\n",
    );
    assert_eq!(plan.tasks.len(), 2 * 2 * 3);
    for task in &plan.tasks {
        let pair = (
            plan.value(task, "model.particles").unwrap(),
            plan.value(task, "integrator.dt").unwrap(),
        );
        assert!(
            [
                (Typed::Int(10), Typed::Float(0.1)),
                (Typed::Int(20), Typed::Float(0.05)),
                (Typed::Int(30), Typed::Float(0.02)),
            ]
            .contains(&pair),
            "{pair:?}"
        );
    }
    // The last axis varies fastest.
    let first: Vec<_> = plan.coordinates(&plan.tasks[1]);
    assert_eq!(first[0].0, "model.beta");
    assert_eq!(first[2].1, Typed::Int(20));
}

#[test]
fn filters_keep_and_drop_combinations() {
    let base =
        "[grid]\nmodel.attention = [\"usa\", \"sa\"]\nmodel.regime = [\"ascent\", \"descent\"]\n\
                perceptron.activation = [\"relu\", \"none\"]\n";
    let excluded = plan_of(&format!(
        "{base}[[grid.exclude]]\nmodel.attention = \"sa\"\nmodel.regime = \"ascent\"\n"
    ));
    assert_eq!(excluded.tasks.len(), 8 - 2);
    assert_eq!(excluded.filtered, 2);
    let included = plan_of(&format!(
        "{base}[[grid.include]]\nperceptron.activation = \"none\"\nmodel.regime = [\"descent\"]\n\
         [[grid.include]]\nmodel.attention = \"sa\"\n"
    ));
    // none+descent (2 attentions) or sa (4), overlapping in none+descent+sa: 2 + 4 - 1.
    assert_eq!(included.tasks.len(), 5);
    // A filter on a fixed parameter or a default applies to every combination.
    let on_default = plan_of(&format!("{base}[[grid.exclude]]\nmodel.dim = 3\n"));
    assert_eq!(on_default.tasks.len(), 8);
    assert_eq!(on_default.warnings.len(), 1, "{:?}", on_default.warnings);
    assert!(on_default.warnings[0].contains("matches no combination"));
}

#[test]
fn duplicate_cells_are_planned_once_with_a_warning() {
    let plan = plan_of("[grid]\nmodel.beta = [1, 1.0, 2]\nperceptron.width = [2, 3]\n");
    assert_eq!(plan.tasks.len(), 4);
    assert_eq!(plan.duplicates, 2);
    assert!(
        plan.warnings[0].contains("repeat an earlier task"),
        "{:?}",
        plan.warnings
    );
    // A default written out is the same task as the default left out.
    let plan = plan_of("[grid]\nmodel.particles = [1000, 999]\n");
    let default_id = task_id(&BTreeMap::new()).unwrap().id;
    assert!(ids(&plan).contains(&default_id));
}

#[test]
fn any_parameter_may_be_an_axis_including_seeds_and_the_null_run() {
    let plan = plan_of(
        "[grid]\ninit.seed = [1, 2]\nperceptron.seed = [3, 4]\n\
         perceptron.activation = [\"relu\", \"gelu\", \"none\"]\nmodel.dim = [2, 3]\n\
         model.attention = [\"usa\", \"sa\"]\nmodel.regime = [\"ascent\", \"descent\"]\n\
         model.particles = [10, 20]\nmeasure.cluster_cap = [true, false]\n",
    );
    assert_eq!(plan.tasks.len(), 2 * 2 * 3 * 2 * 2 * 2 * 2 * 2);
    let resolved = plan.resolve(&plan.tasks[0]).unwrap();
    assert_eq!(resolved.params.perceptron.width, 2, "width follows dim");
    let null = plan
        .tasks
        .iter()
        .find(|t| plan.value(t, "perceptron.activation") == Some(Typed::Text("none".into())))
        .unwrap();
    assert_eq!(
        plan.resolve(null).unwrap().params.perceptron.activation,
        sphereflow_solver::Activation::None
    );
}

/// Writes an n × d `.npy` of f64 by hand (the format: magic, version, header, data).
fn write_npy(path: &Path, rows: usize, cols: usize, values: &[f64]) {
    let header = format!("{{'descr': '<f8', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    let mut header = header.into_bytes();
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(b' ');
    }
    header.push(b'\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend((header.len() as u16).to_le_bytes());
    bytes.extend(header);
    for v in values {
        bytes.extend(v.to_le_bytes());
    }
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn file_inputs_resolve_against_the_sweep_file_and_enter_by_content() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = dir.path().join("inputs");
    std::fs::create_dir(&inputs).unwrap();
    let angles = [0.1f64, 1.0, 2.0, 3.0];
    let circle: Vec<f64> = angles.iter().flat_map(|a| [a.cos(), a.sin()]).collect();
    write_npy(&inputs.join("a.npy"), 4, 2, &circle);
    write_npy(&inputs.join("same.npy"), 4, 2, &circle);
    std::fs::write(dir.path().join("sweep.toml"), "").unwrap();
    let text = "[grid]\ninit.positions_file = [\"inputs/a.npy\", \"inputs/same.npy\"]\n";
    let plan = plan_in(text, dir.path());
    assert_eq!(plan.tasks.len(), 1, "same content, same task");
    assert_eq!(plan.duplicates, 1);
    let resolved = plan.resolve(&plan.tasks[0]).unwrap();
    assert_eq!(resolved.params.model.particles, 4);
    assert!(resolved.initial.is_some());
    // The wrong shape for the dimension is refused at planning, naming the file.
    let sweep = Sweep::parse(
        "[model]\ndim = 3\n[init]\npositions_file = \"inputs/a.npy\"\n",
        "t.toml",
        dir.path(),
        "t",
    )
    .unwrap();
    let error = Plan::new(sweep, &PlanOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with("t.toml:4:18:") && error.contains("2 columns"),
        "{error}"
    );
}

#[test]
fn grids_over_the_limit_need_confirmation() {
    let text =
        "[grid]\ninit.seed = { range = [0, 2000] }\nperceptron.seed = { range = [0, 600] }\n";
    let sweep = Sweep::parse(text, "t.toml", Path::new("."), "t").unwrap();
    assert!(Plan::new(sweep.clone(), &PlanOptions::default()).is_err());
    let plan = Plan::new(
        sweep,
        &PlanOptions {
            allow_large: true,
            ..PlanOptions::default()
        },
    )
    .unwrap();
    assert_eq!(plan.tasks.len(), 1_200_000);
}

// ---------------------------------------------------------------------------------------------
// Property tests of identity.

/// A valid value of a parameter, as TOML text, from a small pool per type.
fn value_text(spec: &ParamSpec, pick: u32) -> Option<String> {
    Some(match spec.kind {
        Kind::Int { min } => (min + i64::from(pick % 1000)).to_string(),
        Kind::Float { min, max, .. } => {
            let pool: [f64; 8] = [0.5, 1.0, 2.0, 0.1, 3.25, 1e-3, 7.0, 0.75];
            let mut x = pool[pick as usize % pool.len()];
            if let Some(max) = max {
                x = x.min(max);
            }
            if min.is_some_and(|m| m < 0.0) {
                x = -x;
            }
            format!("{x:?}")
        }
        Kind::Bool => pick.is_multiple_of(2).to_string(),
        Kind::Enum(names) => format!("\"{}\"", names[pick as usize % names.len()]),
        Kind::File => return None,
    })
}

/// Renders settings as a sweep file in one of several equivalent spellings.
fn render(settings: &[(&str, String)], style: u32, order: &[usize]) -> String {
    let mut by_section: BTreeMap<&str, Vec<(&str, String)>> = BTreeMap::new();
    for &i in order {
        let (path, value) = &settings[i];
        let (section, key) = path.split_once('.').unwrap();
        // An integral float may be written as an integer.
        let value = match value.strip_suffix(".0") {
            Some(integer) if style % 2 == 1 => integer.to_string(),
            _ => value.clone(),
        };
        by_section.entry(section).or_default().push((key, value));
    }
    let mut sections: Vec<_> = by_section.into_iter().collect();
    if style % 3 == 1 {
        sections.reverse();
    }
    let mut text = String::from("# rendered\n[sweep]\nname = \"p\"\n");
    for (section, keys) in sections {
        match style % 3 {
            0 => {
                text.push_str(&format!("\n[{section}]\n"));
                for (key, value) in keys {
                    text.push_str(&format!("{key}   =  {value}  # note\n"));
                }
            }
            1 => {
                let body: Vec<String> = keys.iter().map(|(k, v)| format!("{k} = {v}")).collect();
                text = format!("{section} = {{ {} }}\n{text}", body.join(", "));
            }
            _ => {
                for (key, value) in keys {
                    text = format!("{section}.{key}={value}\n{text}");
                }
            }
        }
    }
    text
}

fn id_of(text: &str) -> String {
    let sweep =
        Sweep::parse(text, "p.toml", Path::new("."), "p").unwrap_or_else(|e| panic!("{e}\n{text}"));
    task_id(&sweep.fixed).unwrap().id
}

fn settings_strategy() -> impl Strategy<Value = Vec<(&'static str, String)>> {
    let specs: Vec<&'static ParamSpec> = SCHEMA
        .iter()
        .filter(|s| !matches!(s.kind, Kind::File))
        .collect();
    (
        proptest::sample::subsequence(specs, 0..12),
        proptest::collection::vec(any::<u32>(), 12),
    )
        .prop_map(|(specs, picks)| {
            specs
                .into_iter()
                .zip(picks)
                .filter_map(|(spec, pick)| value_text(spec, pick).map(|v| (spec.path, v)))
                .collect()
        })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 200,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn spelling_order_and_explicit_defaults_keep_the_id(
        settings in settings_strategy(),
        style_a in 0u32..6,
        style_b in 0u32..6,
        shuffle in any::<u64>(),
        with_defaults in any::<bool>(),
    ) {
        let order_a: Vec<usize> = (0..settings.len()).collect();
        let mut order_b = order_a.clone();
        let mut state = shuffle;
        for i in (1..order_b.len()).rev() {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            order_b.swap(i, (state >> 33) as usize % (i + 1));
        }
        let mut explicit = settings.clone();
        if with_defaults {
            for spec in SCHEMA {
                if let Some(default) = spec.default {
                    if !explicit.iter().any(|(p, _)| *p == spec.path) {
                        let text = match spec.kind {
                            Kind::Enum(_) => format!("\"{default}\""),
                            _ => default.to_string(),
                        };
                        explicit.push((spec.path, text));
                    }
                }
            }
        }
        let order_c: Vec<usize> = (0..explicit.len()).rev().collect();
        let a = id_of(&render(&settings, style_a, &order_a));
        prop_assert_eq!(&a, &id_of(&render(&settings, style_b, &order_b)));
        prop_assert_eq!(&a, &id_of(&render(&explicit, style_b, &order_c)));
    }

    #[test]
    fn changing_one_value_changes_the_id(
        settings in settings_strategy(),
        which in any::<proptest::sample::Index>(),
        pick in any::<u32>(),
    ) {
        // Parameters the task's solver reads (the others never enter its id).
        let solver = if settings.iter().any(|(p, v)| *p == "model.solver" && v.contains("meanfield")) {
            sphereflow_plan::Solver::MeanField
        } else {
            sphereflow_plan::Solver::Particles
        };
        let specs: Vec<&ParamSpec> = SCHEMA
            .iter()
            .filter(|s| !matches!(s.kind, Kind::File) && (s.path == "model.solver" || solver.reads(s.path)))
            .collect();
        let spec = specs[which.index(specs.len())];
        let base: Vec<(&str, String)> =
            settings.into_iter().filter(|(p, _)| *p != spec.path).collect();
        // Two different valid values of the chosen parameter.
        let first = value_text(spec, pick).unwrap();
        let second = (1..50)
            .filter_map(|k| value_text(spec, pick.wrapping_add(k)))
            .find(|v| typed(spec, v) != typed(spec, &first))
            .unwrap();
        let mut a = base.clone();
        a.push((spec.path, first));
        let mut b = base;
        b.push((spec.path, second));
        let order: Vec<usize> = (0..a.len()).collect();
        prop_assert_ne!(id_of(&render(&a, 0, &order)), id_of(&render(&b, 0, &order)));
    }

    #[test]
    fn axis_order_does_not_change_the_tasks(a in 1usize..4, b in 1usize..4) {
        let betas: Vec<String> = (1..=a).map(|i| i.to_string()).collect();
        let seeds: Vec<String> = (1..=b).map(|i| (i * 7).to_string()).collect();
        let one = format!("[grid]\nmodel.beta = [{}]\ninit.seed = [{}]\n", betas.join(","), seeds.join(","));
        let two = format!("[grid]\ninit.seed = [{}]\nmodel.beta = [{}]\n", seeds.join(","), betas.join(","));
        prop_assert_eq!(ids(&plan_of(&one)), ids(&plan_of(&two)));
    }
}

fn typed(spec: &ParamSpec, text: &str) -> Typed {
    let value: toml::Value = format!("v = {text}").parse::<toml::Table>().unwrap()["v"].clone();
    let setting = Setting {
        value,
        origin: "test".into(),
        base: ".".into(),
    };
    check(spec, &setting).unwrap()
}

/// The schema with one more parameter, as a later release might add.
fn extended_schema() -> &'static [ParamSpec] {
    let mut specs = SCHEMA.to_vec();
    specs.push(ParamSpec {
        path: "model.temperature_ramp",
        kind: Kind::Float {
            min: Some(0.0),
            exclusive: false,
            max: None,
        },
        default: Some("0"),
        doc: "a parameter added later (test only)",
    });
    Box::leak(specs.into_boxed_slice())
}

#[test]
fn a_new_parameter_at_its_default_keeps_every_id() {
    let extended = extended_schema();
    let sweep = Sweep::parse(
        "[model]\nbeta = 10\nattention = \"sa\"\n[init]\nseed = 5\n",
        "t.toml",
        Path::new("."),
        "t",
    )
    .unwrap();
    let before = task_id(&sweep.fixed).unwrap();
    let mut with_new = sweep.fixed.clone();
    with_new.insert(
        "model.temperature_ramp".into(),
        Setting {
            value: toml::Value::Float(0.0),
            origin: "t.toml".into(),
            base: ".".into(),
        },
    );
    let after = task_id_in(extended, &with_new).unwrap();
    assert_eq!(before, after);
    assert_eq!(task_id_in(extended, &sweep.fixed).unwrap(), before);
    // Set away from its default, it changes the id.
    with_new.get_mut("model.temperature_ramp").unwrap().value = toml::Value::Float(0.5);
    assert_ne!(task_id_in(extended, &with_new).unwrap().id, before.id);
}

#[test]
fn profiles_override_fixed_values_and_axes() {
    let text = "[model]\nparticles = 1000\n[grid]\nmodel.beta = [1, 5, 10]\ninit.seed = [1, 2]\n\
                [profile.quick]\nmodel.particles = 50\ninit.seed = [7]\nmodel.beta = 3\n\
                perceptron.seed = { range = [0, 2] }\n";
    let sweep = Sweep::parse(text, "p.toml", Path::new("."), "p").unwrap();
    assert_eq!(
        Plan::new(sweep.clone(), &PlanOptions::default())
            .unwrap()
            .tasks
            .len(),
        6
    );
    let quick = sweep.with_profile("quick").unwrap();
    let plan = Plan::new(quick, &PlanOptions::default()).unwrap();
    assert_eq!(
        plan.tasks.len(),
        2,
        "β fixed at 3, one init seed, two perceptron seeds"
    );
    for task in &plan.tasks {
        assert_eq!(plan.value(task, "model.particles"), Some(Typed::Int(50)));
        assert_eq!(plan.value(task, "model.beta"), Some(Typed::Float(3.0)));
        assert_eq!(plan.value(task, "init.seed"), Some(Typed::Int(7)));
    }
    // An unknown profile is an error naming the file and the profiles there are; so is a bad
    // value in a profile.
    let unknown = sweep.with_profile("absent").unwrap_err();
    assert!(
        matches!(unknown, PlanError::UnknownProfile { .. }),
        "{unknown}"
    );
    assert!(
        unknown
            .to_string()
            .ends_with("no [profile.absent] (profiles: quick)"),
        "{unknown}"
    );
    let error = Sweep::parse(
        "[profile.quick]\nmodel.beta = -1\n",
        "p.toml",
        Path::new("."),
        "p",
    )
    .unwrap_err()
    .to_string();
    assert!(
        error.starts_with("p.toml:2:14:") && error.contains("model.beta"),
        "{error}"
    );
}

#[test]
fn only_regular_sweep_files_of_bounded_size_are_read() {
    let refusal = |path: &Path| match Sweep::read(path) {
        Ok(_) => panic!("{} was read as a sweep", path.display()),
        Err(error) => error.to_string(),
    };
    // A device that never ends, and a folder: refused by what they are, before any read.
    let message = refusal(Path::new("/dev/zero"));
    assert!(
        message.contains("/dev/zero") && message.contains("not a regular file"),
        "{message}"
    );
    let dir = tempfile::tempdir().unwrap();
    assert!(refusal(dir.path()).contains("not a regular file"));
    // A regular file past the limit: refused by its size.
    let big = dir.path().join("big.toml");
    let line = "# a comment line of a sweep file that goes on and on and on\n";
    std::fs::write(&big, line.repeat((16 << 20) / line.len() + 1)).unwrap();
    assert!(refusal(&big).contains("larger than"));
}
