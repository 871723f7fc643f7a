"""Reads every table `sphereflow analyze` writes with pyarrow and with DuckDB, checks the
column types against docs/tables.md and a few values against the store's JSON summaries, then
runs every `sql` block of docs/tables.md against tables laid out as `reproduce` writes them
(`results/paper/<sweep>/`, two sweeps sharing tasks).

Usage: python3 tests/parquet/check_tables.py path/to/sphereflow
"""

import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = pathlib.Path(__file__).resolve().parents[2]

SWEEP = """
[sweep]
name = "parquet_check"
[model]
particles = 40
[stop]
max_steps = 5000
[grid]
model.beta = [1, 4, 9]
perceptron.activation = ["relu", "none"]
init.seed = [1, 2]
"""

ARROW_TYPES = {
    "int64": pa.int64(),
    "float64": pa.float64(),
    "bool": pa.bool_(),
    "string": pa.string(),
    "dictionary<string>": pa.dictionary(pa.int32(), pa.string()),
    "list<float64>": pa.list_(pa.float64()),
    "timestamp[us, UTC]": pa.timestamp("us", tz="UTC"),
}

# Two small sweeps named like two of the paper's, sharing two tasks (β = 4 and 9, relu, seed
# 42); their fits tables differ in their middle columns (only the first varies the activation).
# The step cap leaves room for every ReLU run to converge: runs stopped at the cap get no fits.
DOC_SWEEPS = {
    "s1_beta": """
[model]
particles = 30
[stop]
max_steps = 50000
[grid]
model.beta = [1, 4, 9]
perceptron.activation = ["relu", "none"]
""",
    "many_seeds": """
[model]
particles = 30
[perceptron]
activation = "relu"
[stop]
max_steps = 50000
[grid]
model.beta = [4, 9, 16]
init.seed = [42, 43]
""",
}


def documented_queries():
    """The `sql` blocks of docs/tables.md."""
    text = (ROOT / "docs" / "tables.md").read_text()
    return re.findall(r"```sql\n(.*?)```", text, flags=re.S)


def check_documented_queries(binary, tmp):
    """Writes tables as `reproduce` lays them out and runs every documented query on them."""
    (tmp / "sweeps").mkdir()
    for name, text in DOC_SWEEPS.items():
        (tmp / "sweeps" / f"{name}.toml").write_text(text)
        run(binary, "run", f"sweeps/{name}.toml", "--store", "store", cwd=tmp)
        run(binary, "analyze", f"sweeps/{name}.toml", "--store", "store",
            "--out", f"results/paper/{name}", "--replicates", "50", cwd=tmp)
    queries = documented_queries()
    assert len(queries) >= 4, queries
    here = os.getcwd()
    os.chdir(tmp)
    try:
        results = [duckdb.sql(query).fetchall() for query in queries]
        # Without union_by_name the first file's columns win, as the page says: here
        # (many_seeds first) s1_beta's `activation` is silently dropped.
        glob = "read_parquet('results/paper/*/fits.parquet'{})"
        plain = duckdb.sql(f"select * from {glob.format('')}").columns
        united = duckdb.sql(f"select * from {glob.format(', union_by_name = true')}").columns
        assert "activation" not in plain and "activation" in united, (plain, united)
    finally:
        os.chdir(here)
    for query, rows in zip(queries, results):
        assert rows, f"no rows from the documented query:\n{query}"
    by_query = dict(zip(queries, results))
    fits = next(rows for query, rows in by_query.items() if "fits.parquet" in query)
    assert {pathlib.Path(row[0]).parent.name for row in fits} == set(DOC_SWEEPS), fits
    counts = next(rows for query, rows in by_query.items() if "count(distinct task_id)" in query)
    rows, tasks = counts[0]
    # Shared: (β 4 and 9, relu, seed 42) are in both sweeps.
    assert (rows, tasks) == (12, 10), counts
    unique = next(rows for query, rows in by_query.items() if "distinct on (task_id)" in query)
    assert len(unique) == len({row[0] for row in unique}) == 10, unique
    for row in unique:
        started, finished = row[-2], row[-1]
        assert started.tzinfo is not None and started <= finished, row
    return len(queries)


def documented():
    """(column, type) of each table in docs/tables.md."""
    tables, current = {}, None
    for line in (ROOT / "docs" / "tables.md").read_text().splitlines():
        if line.startswith("## "):
            current = line[3:].strip()
            continue
        cells = [c.strip() for c in line.split("|")]
        if current and len(cells) >= 4 and cells[1] and cells[1] != "column" and not cells[1].startswith("---"):
            tables.setdefault(current, []).append((cells[1], cells[2]))
    return tables


def run(binary, *args, cwd):
    result = subprocess.run([binary, *args], cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result.stdout


def main():
    binary = str(pathlib.Path(sys.argv[1]).resolve())
    docs = documented()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        (tmp / "sweep.toml").write_text(SWEEP)
        run(binary, "run", "sweep.toml", "--store", "store", cwd=tmp)
        run(binary, "analyze", "sweep.toml", "--store", "store", "--out", "tables", "--replicates", "200", cwd=tmp)
        checked = 0
        for name, columns in docs.items():
            path = tmp / "tables" / f"{name}.parquet"
            table = pq.read_table(path)
            schema = [(f.name, f.type) for f in table.schema]
            if name == "fits":
                # The varying parameters sit after `group`: here, the activation.
                assert schema[1] == ("activation", ARROW_TYPES["dictionary<string>"]), schema[1]
                del schema[1]
            expected = [(c, ARROW_TYPES[t]) for c, t in columns]
            assert schema == expected, f"{name}: {schema} != {expected}"
            rows = duckdb.sql(f"select count(*) from read_parquet('{path}')").fetchall()[0][0]
            assert rows == table.num_rows, (name, rows, table.num_rows)
            checked += 1
        assert checked == 5, checked

        # Values against the JSON summaries of the store.
        tasks = pq.read_table(tmp / "tables" / "tasks.parquet").to_pylist()
        assert len(tasks) == 12 and all(t["status"] == "ok" for t in tasks)
        for task in tasks:
            task_id = task["task_id"]
            summary = json.loads((tmp / "store" / "objects" / task_id[:2] / task_id / "summary.json").read_text())
            for key in ["n_clusters", "n_heavy", "steps", "max_cluster_mass", "energy_final", "stop_reason"]:
                assert task[key] == summary["summary"][key], (key, task[key], summary["summary"][key])
            assert task["beta"] == summary["spec"]["parameters"]["model.beta"]
            assert task["activation"] == summary["spec"]["parameters"]["perceptron.activation"]
        by_beta = duckdb.sql(
            f"select beta, activation, count(*) as n, sum(n_clusters) as clusters "
            f"from read_parquet('{tmp / 'tables' / 'tasks.parquet'}') group by all order by all"
        ).fetchall()
        assert len(by_beta) == 6 and all(row[2] == 2 for row in by_beta), by_beta
        clusters = duckdb.sql(
            f"select t.task_id, t.n_clusters, count(c.cluster), sum(c.mass) "
            f"from read_parquet('{tmp / 'tables' / 'tasks.parquet'}') t "
            f"join read_parquet('{tmp / 'tables' / 'clusters.parquet'}') c using (task_id) group by all"
        ).fetchall()
        for task_id, n_clusters, rows, mass in clusters:
            assert rows == n_clusters, (task_id, rows, n_clusters)
            assert abs(mass - 1.0) < 1e-9, (task_id, mass)
        nulls = duckdb.sql(
            f"select count(*) from read_parquet('{tmp / 'tables' / 'bounds.parquet'}') where k_star is not null"
        ).fetchall()[0][0]
        assert nulls == 6, nulls
        # Parameters with a derived default hold the value the task ran with.
        for task in tasks:
            assert task["width"] == 2 and task["retraction"] == "exp", task
        queries = check_documented_queries(binary, tmp)
    print(f"parquet: 5 tables read by pyarrow {pa.__version__} and DuckDB {duckdb.__version__}: "
          f"schemas as documented, values as in the store; {queries} documented queries run")


if __name__ == "__main__":
    main()
