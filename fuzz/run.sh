#!/usr/bin/env bash
# Fuzzes sphereflow's readers of untrusted input with libFuzzer through `cargo fuzz`, on the
# stable toolchain (no sanitizer: these readers have no unsafe code; panics, aborts, timeouts
# and out-of-memory are the findings):
#
#   sweep_plan       sweep parsing and planning (`Sweep::parse`, profiles, `Plan::new`)
#   npy_read         the `.npy` reader of positions, weights and states (`read_npy`)
#   checkpoint_read  checkpoints read and checked against their task, then resumed
#
#   fuzz/run.sh [seconds] [target ...]   # default 600 s per target, every target;
#                                        # installs cargo-fuzz if it is missing
#
# Corpora start from the repository's examples (the paper's sweeps and the bad sweep files of
# tests/data/bad; the .npy files there; the bad checkpoints of tests/data/bad_checkpoints) and
# grow in fuzz/corpus/<target> (not committed). Findings land in fuzz/artifacts/<target>; the
# script exits non-zero when there is one.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-600}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(sweep_plan npy_read checkpoint_read)
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
status=0
for target in "${targets[@]}"; do
    corpus=corpus/$target
    mkdir -p "$corpus" "artifacts/$target"
    case "$target" in
        sweep_plan) seeds=(../sweeps/*/*.toml ../tests/data/bad/*.toml); dict=(-dict=sweep.dict) ;;
        npy_read) seeds=(../tests/data/bad/*.npy); dict=() ;;
        checkpoint_read) seeds=(../tests/data/bad_checkpoints/*.json); dict=() ;;
        *) echo "unknown target $target" >&2; exit 2 ;;
    esac
    for file in "${seeds[@]}"; do
        [ -e "$file" ] && cp "$file" "$corpus/seed-$(basename "$(dirname "$file")")-$(basename "$file")"
    done
    cargo fuzz build -s none --release "$target"
    log=artifacts/$target.log
    # -timeout: a single input taking longer than 10 s is a hang; -rss_limit_mb: 2 GiB.
    cargo fuzz run -s none --release "$target" "$corpus" -- \
        "${dict[@]}" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -max_len=65536 -print_final_stats=1 2>&1 | tee "$log" || true
    findings=$(find "artifacts/$target" -type f \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
    echo "$target: $findings finding(s) (in fuzz/artifacts/$target)"
    [ "$findings" -eq 0 ] || status=1
done
exit "$status"
