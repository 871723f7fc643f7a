//! The analyzer on a real store: partial sweeps, values against the stored results, the
//! documented schemas (docs/tables.md), and Parquet files read back.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::AtomicBool;

use sphereflow_analyze::{
    analyze, column_name, write_tables, AnalyzeOptions, Column, Table, TABLES,
};
use sphereflow_exec::{run, RunOptions, Shard, Store};
use sphereflow_plan::{Plan, PlanOptions, Sweep};

const SWEEP: &str = "[model]\nparticles = 60\n[stop]\nmax_steps = 20000\n\
                     [grid]\nmodel.beta = [1, 4, 9]\nperceptron.activation = [\"relu\", \"none\"]\n\
                     init.seed = [1, 2]\n";

fn plan() -> Plan {
    let sweep = Sweep::parse(SWEEP, "t.toml", Path::new("."), "t").unwrap();
    Plan::new(sweep, &PlanOptions::default()).unwrap()
}

fn options() -> AnalyzeOptions {
    AnalyzeOptions {
        replicates: 200,
        ..AnalyzeOptions::default()
    }
}

/// `(column, type)` of each table in docs/tables.md, in order.
fn documented() -> BTreeMap<String, Vec<(String, String)>> {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/tables.md"))
            .unwrap();
    let mut tables: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    let mut current = None;
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("## ") {
            current = Some(name.trim().to_string());
            continue;
        }
        let Some(name) = &current else { continue };
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() >= 4
            && !cells[1].is_empty()
            && cells[1] != "column"
            && !cells[1].starts_with("---")
        {
            tables
                .entry(name.clone())
                .or_default()
                .push((cells[1].to_string(), cells[2].to_string()));
        }
    }
    tables
}

fn schema(table: &Table) -> Vec<(String, String)> {
    table
        .schema()
        .into_iter()
        .map(|(n, t)| (n, t.to_string()))
        .collect()
}

#[test]
fn tables_follow_their_documented_schemas_and_the_stored_results() {
    let plan = plan();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("store")).unwrap();
    let never = AtomicBool::new(false);
    // Half the sweep first: the rest is pending.
    let half = RunOptions {
        shard: Some(Shard::parse("1/2").unwrap()),
        ..RunOptions::default()
    };
    let first = run(&plan, &store, &half, &|_| {}, &never).unwrap();
    assert!(first.committed > 0 && first.committed < 12);
    let partial = analyze(&plan, Some(&store), &options()).unwrap();
    assert_eq!(partial.tasks.rows(), 12);
    assert_eq!(partial.counts["ok"], first.committed);
    assert_eq!(partial.counts["pending"], 12 - first.committed);
    assert_eq!(partial.bounds.rows(), first.committed);

    run(&plan, &store, &RunOptions::default(), &|_| {}, &never).unwrap();
    let analysis = analyze(&plan, Some(&store), &options()).unwrap();
    assert_eq!(analysis.counts["ok"], 12);

    // Schemas as documented (the fits table has the varying parameters after `group`).
    let documented = documented();
    assert_eq!(schema(&analysis.tasks), documented["tasks"]);
    assert_eq!(schema(&analysis.clusters), documented["clusters"]);
    assert_eq!(schema(&analysis.series), documented["series"]);
    assert_eq!(schema(&analysis.bounds), documented["bounds"]);
    let mut fits = schema(&analysis.fits);
    assert_eq!(
        fits.remove(1),
        ("activation".into(), "dictionary<string>".into())
    );
    assert_eq!(fits, documented["fits"]);
    let names: std::collections::BTreeSet<String> = sphereflow_plan::SCHEMA
        .iter()
        .map(|s| column_name(s.path))
        .collect();
    assert_eq!(
        names.len(),
        sphereflow_plan::SCHEMA.len(),
        "column names are unique"
    );

    // Values against the store.
    let Some(Column::Text(ids)) = analysis.tasks.column("task_id") else {
        panic!()
    };
    let Some(Column::Int(n_clusters)) = analysis.tasks.column("n_clusters") else {
        panic!()
    };
    let Some(Column::Float(betas)) = analysis.tasks.column("beta") else {
        panic!()
    };
    for (i, task) in plan.tasks.iter().enumerate() {
        assert_eq!(ids[i].as_deref(), Some(task.id.to_hex().as_str()));
        let stored = store.load(&task.id).unwrap();
        assert_eq!(
            n_clusters[i],
            Some(stored.summary.summary.n_clusters as i64)
        );
        assert_eq!(
            betas[i],
            Some(
                stored.summary.spec.parameters["model.beta"]
                    .as_f64()
                    .unwrap()
            )
        );
    }
    // Times are timestamps (microseconds, UTC) of the stored provenance.
    let Some(Column::Timestamp(started)) = analysis.tasks.column("started") else {
        panic!("started is not a timestamp")
    };
    let Some(Column::Timestamp(finished)) = analysis.tasks.column("finished") else {
        panic!("finished is not a timestamp")
    };
    for (i, task) in plan.tasks.iter().enumerate() {
        let provenance = store.load(&task.id).unwrap().summary.provenance;
        let micros = |text: &str| {
            let time = humantime::parse_rfc3339(text).unwrap();
            let since = time.duration_since(std::time::UNIX_EPOCH).unwrap();
            i64::try_from(since.as_micros()).unwrap()
        };
        assert_eq!(started[i], Some(micros(&provenance.started)));
        assert_eq!(finished[i], Some(micros(&provenance.finished)));
        assert!(started[i] <= finished[i]);
    }
    // Parameters whose default follows `model.dim` hold the value the task ran with.
    let Some(Column::Int(widths)) = analysis.tasks.column("width") else {
        panic!()
    };
    let Some(Column::Dict(retractions)) = analysis.tasks.column("retraction") else {
        panic!()
    };
    assert!(widths.iter().all(|w| *w == Some(2)), "{widths:?}");
    assert!(
        retractions.iter().all(|r| r.as_deref() == Some("exp")),
        "{retractions:?}"
    );
    let series_rows: usize = plan
        .tasks
        .iter()
        .map(|t| store.load(&t.id).unwrap().series.len())
        .sum();
    assert_eq!(analysis.series.rows(), series_rows);
    // The relu group × four quantities (the cluster count, the clusters where the perceptron
    // acts, heavy atoms, the largest mass) × two laws; the null runs (descent) spread out and
    // get no cluster fits.
    assert_eq!(analysis.fits.rows(), 8);
    assert!(analysis
        .group_fits
        .iter()
        .all(|f| f.group == "activation=relu"));
    assert_eq!(analysis.spread_runs, 6);
    assert_eq!(
        analysis.null_runs,
        (0, 0),
        "descent null runs are never compared with k*"
    );
    // Null runs on S^1 carry k*(β); perceptron runs do not.
    let Some(Column::Int(k_star)) = analysis.bounds.column("k_star") else {
        panic!()
    };
    assert_eq!(k_star.iter().filter(|k| k.is_some()).count(), 6);

    // Written and read back.
    let out = dir.path().join("tables");
    let written = write_tables(&analysis, &out).unwrap();
    assert_eq!(written.len(), TABLES.len());
    for (name, table) in [("tasks", &analysis.tasks), ("series", &analysis.series)] {
        let file = std::fs::File::open(out.join(format!("{name}.parquet"))).unwrap();
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap()
            .build()
            .unwrap();
        if name == "tasks" {
            let schema = arrow::record_batch::RecordBatchReader::schema(&reader);
            let field = schema.field_with_name("started").unwrap().clone();
            assert_eq!(
                field.data_type(),
                &arrow::datatypes::DataType::Timestamp(
                    arrow::datatypes::TimeUnit::Microsecond,
                    Some("UTC".into())
                )
            );
        }
        let rows: usize = reader.map(|b| b.unwrap().num_rows()).sum();
        assert_eq!(rows, table.rows(), "{name}");
    }
}

/// Runs stopped at the step cap are not converged: counted apart and never fitted.
#[test]
fn runs_stopped_at_the_step_cap_are_not_fitted() {
    let text = "[model]\nparticles = 40\n[stop]\nmax_steps = 20\n\
                [grid]\nmodel.beta = [1, 4, 9]\ninit.seed = [1, 2]\n";
    let sweep = Sweep::parse(text, "capped.toml", Path::new("."), "capped").unwrap();
    let plan = Plan::new(sweep, &PlanOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("store")).unwrap();
    let never = AtomicBool::new(false);
    run(&plan, &store, &RunOptions::default(), &|_| {}, &never).unwrap();
    let analysis = analyze(&plan, Some(&store), &options()).unwrap();
    assert_eq!(analysis.counts["ok"], 6);
    let Some(Column::Dict(reasons)) = analysis.tasks.column("stop_reason") else {
        panic!()
    };
    assert!(reasons.iter().all(|r| r.as_deref() == Some("max_steps")));
    assert_eq!(analysis.capped_runs, 6);
    assert_eq!(analysis.fits.rows(), 0);
    assert!(analysis.group_fits.is_empty() && analysis.draw_fits.is_empty());
}

/// Two ReLU neurons along the axes, both pulling (s_j < 0, descent): the perceptron acts
/// everywhere but on the closed third quadrant. Each final cluster is `active` exactly when its
/// centre lies off that quadrant, and `n_active_clusters` counts them; the dead zone keeps some
/// clusters after a short run from a uniform start, the rest of the circle others.
#[test]
fn clusters_say_whether_the_perceptron_acts_where_they_lie() {
    let dir = tempfile::tempdir().unwrap();
    let weights = [1.0, 0.0, -1.0, 0.0, 1.0, -1.0];
    let bytes = sphereflow_exec::store::npy_bytes(&weights, &[2, 3]);
    std::fs::write(dir.path().join("axes.npy"), bytes).unwrap();
    let text = "[model]\nparticles = 80\n[perceptron]\nweights_file = \"axes.npy\"\n\
                [stop]\nmax_steps = 300\n[grid]\nmodel.beta = [9, 16]\ninit.seed = [1, 2]\n";
    let sweep = Sweep::parse(text, "zone.toml", dir.path(), "zone").unwrap();
    let plan = Plan::new(sweep, &PlanOptions::default()).unwrap();
    let store = Store::open(&dir.path().join("store")).unwrap();
    let never = AtomicBool::new(false);
    run(&plan, &store, &RunOptions::default(), &|_| {}, &never).unwrap();
    let analysis = analyze(&plan, Some(&store), &options()).unwrap();
    assert_eq!(analysis.counts["ok"], 4);
    let (Some(Column::Text(ids)), Some(Column::FloatList(centres)), Some(Column::Bool(active))) = (
        analysis.clusters.column("task_id"),
        analysis.clusters.column("centre"),
        analysis.clusters.column("active"),
    ) else {
        panic!()
    };
    let mut per_task: BTreeMap<String, usize> = BTreeMap::new();
    let (mut on, mut off) = (0, 0);
    for ((id, centre), active) in ids.iter().zip(centres).zip(active) {
        let centre = centre.as_ref().unwrap();
        let in_dead_zone = centre[0] <= 0.0 && centre[1] <= 0.0;
        assert_eq!(*active, Some(!in_dead_zone), "{centre:?}");
        if in_dead_zone {
            off += 1;
        } else {
            on += 1;
            *per_task.entry(id.clone().unwrap()).or_default() += 1;
        }
    }
    assert!(on > 0 && off > 0, "{on} active, {off} in the dead zone");
    let (Some(Column::Text(task_ids)), Some(Column::Int(counts))) = (
        analysis.tasks.column("task_id"),
        analysis.tasks.column("n_active_clusters"),
    ) else {
        panic!()
    };
    for (id, count) in task_ids.iter().zip(counts) {
        let id = id.as_ref().unwrap();
        assert_eq!(
            *count,
            Some(per_task.get(id).copied().unwrap_or(0) as i64),
            "{id}"
        );
    }
}
