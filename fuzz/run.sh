#!/usr/bin/env bash
# Fuzzes sweep parsing and planning with libFuzzer through `cargo fuzz`, on the stable
# toolchain (no sanitizer: the planner has no unsafe code; panics, aborts, timeouts and
# out-of-memory are the findings).
#
#   fuzz/run.sh [seconds]     # default 600; installs cargo-fuzz if it is missing
#
# The corpus starts from every sweep file of the repository (the paper's sweeps and the bad
# files of tests/data/bad) and grows in fuzz/corpus/sweep_plan (not committed). Findings land
# in fuzz/artifacts/sweep_plan; the script exits non-zero when there is one.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-600}"
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
corpus=corpus/sweep_plan
mkdir -p "$corpus" artifacts/sweep_plan
for file in ../sweeps/*/*.toml ../tests/data/bad/*.toml; do
    cp "$file" "$corpus/seed-$(basename "$(dirname "$file")")-$(basename "$file")"
done
cargo fuzz build -s none --release sweep_plan
log=artifacts/sweep_plan.log
# -timeout: a single input planned for longer than 10 s is a hang; -rss_limit_mb: 2 GiB.
cargo fuzz run -s none --release sweep_plan "$corpus" -- \
    -dict=sweep.dict -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -max_len=8192 -print_final_stats=1 2>&1 | tee "$log"
findings=$(find artifacts/sweep_plan -type f \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
echo "findings: $findings (in fuzz/artifacts/sweep_plan)"
[ "$findings" -eq 0 ]
