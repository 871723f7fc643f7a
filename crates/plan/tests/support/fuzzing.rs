//! What the proptest fuzzing of sweeps (`tests/fuzz_sweeps.rs`) and the `cargo fuzz` target
//! (`fuzz/fuzz_targets/sweep_plan.rs`) share: the valid sweep files they start from and the
//! check that parsing and planning a text either succeeds or fails with an error naming the
//! file, without panicking.

use std::path::Path;

use sphereflow_plan::{Plan, PlanOptions, Sweep};

/// The name the fuzzed text is parsed under; every error must start with it.
pub const ORIGIN: &str = "fuzzed.toml";

/// Valid sweep files to mutate: the paper's sweeps and one using every construct.
pub const SEEDS: &[&str] = &[
    include_str!("../../../../sweeps/paper/s1_beta.toml"),
    include_str!("../../../../sweeps/paper/s2_beta.toml"),
    include_str!("../../../../sweeps/paper/many_seeds.toml"),
    include_str!("../../../../sweeps/paper/perceptron_scale.toml"),
    include_str!("../../../../sweeps/paper/side_by_side.toml"),
    "[sweep]\nname = \"all\"\ndescription = \"every construct\"\n\
     [model]\nkernel = \"paper\"\n[perceptron]\nwidth = 3\n\
     [init]\npositions_file = \"x0.npy\"\n[stop]\nmax_steps = 100\n\
     [grid]\nmodel.beta = { logspace = [-1, 2, 4] }\ninit.seed = { range = [0, 10, 3] }\n\
     perceptron.scale = { linspace = [0.5, 2, 3] }\nstop.t_max = { geomspace = [1, 100, 3] }\n\
     [[grid.zip]]\nintegrator.dt = [0.1, 0.05]\nintegrator.method = [\"euler\", \"rk4\"]\n\
     [[grid.exclude]]\nmodel.beta = 0.1\ninit.seed = [3, 6]\n\
     [[grid.include]]\nperceptron.scale = [0.5, 2]\n\
     [profile.quick]\nstop.max_steps = 10\ninit.seed = [1, 2]\n",
];

/// Parses and plans a text (then each of its profiles); panics on an error not naming the file.
pub fn parse_and_plan(text: &str, base: &Path) {
    let options = PlanOptions::default();
    let check = |error: sphereflow_plan::PlanError| {
        let message = error.to_string();
        assert!(
            message.starts_with(ORIGIN),
            "error without its origin: {message}\nfor:\n{text}"
        );
    };
    let sweep = match Sweep::parse(text, ORIGIN, base, "fuzzed") {
        Ok(sweep) => sweep,
        Err(error) => return check(error),
    };
    for name in sweep.profiles.keys() {
        match sweep.with_profile(name) {
            Ok(profiled) => {
                if let Err(error) = Plan::new(profiled, &options) {
                    check(error);
                }
            }
            Err(error) => check(error),
        }
    }
    if let Err(error) = Plan::new(sweep, &options) {
        check(error);
    }
}

/// Writes the 2 × 2 `x0.npy` the seed file using every construct refers to.
pub fn write_positions(base: &Path) {
    use npyz::WriterBuilder;
    let mut file = std::fs::File::create(base.join("x0.npy")).unwrap();
    let mut writer = npyz::WriteOptions::<f64>::new()
        .default_dtype()
        .shape(&[2, 2])
        .writer(&mut file)
        .begin_nd()
        .unwrap();
    writer.extend([1.0, 0.0, 0.0, 1.0]).unwrap();
    writer.finish().unwrap();
}
