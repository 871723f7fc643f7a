# Starts and stops a single-node Slurm for tests/slurm/run.sh (sourced, not run).
#
# slurm_start DIR: installs slurm-wlm and munge if missing, writes DIR/slurm.conf (exported as
# SLURM_CONF, so every client and job uses it and /etc/slurm is left alone), starts munged
# (unless one already answers), slurmctld and slurmd in the foreground of background jobs,
# recording their pids in SLURM_TEST_PIDS, and waits until sinfo shows the node idle.
# slurm_stop: cancels the jobs still known, stops the daemons it started by pid, then kills, by
# pid, any process left whose command line names DIR.

SLURM_TEST_PIDS=()
# The lifetime of job credentials in the test cluster, in seconds (Slurm's minimum is 5).
SLURM_TEST_CRED_EXPIRE=5
SLURM_TEST_DIR=

slurm_fail() {
    echo "tests/slurm: FAIL: $*" >&2
    exit 1
}

slurm_start() {
    local dir=$1
    SLURM_TEST_DIR=$dir
    mkdir -p "$dir"
    if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
        # A fresh machine has no package lists: install from the cached ones if they serve,
        # else update them once and install again.
        echo "tests/slurm: installing slurm-wlm and munge"
        DEBIAN_FRONTEND=noninteractive apt-get install -y slurm-wlm munge >"$dir/apt.log" 2>&1 ||
            { apt-get update >>"$dir/apt.log" 2>&1 &&
                DEBIAN_FRONTEND=noninteractive apt-get install -y slurm-wlm munge \
                    >>"$dir/apt.log" 2>&1; } ||
            { tail -20 "$dir/apt.log" >&2; slurm_fail "apt-get install slurm-wlm munge failed"; }
    fi
    local host cpus
    host=$(hostname -s)
    cpus=$(nproc)
    mkdir -p "$dir/state" "$dir/spool"
    export SLURM_CONF=$dir/slurm.conf
    cat >"$SLURM_CONF" <<EOF
# A single-node Slurm for sphereflow's tests (tests/slurm/cluster.sh).
ClusterName=sphereflowtest
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# A requeued job may start again only once the credentials of its last run have expired
# (cred_expire + 1 s; 120 s by default): short here, so that requeued elements come back soon.
AuthInfo=cred_expire=$SLURM_TEST_CRED_EXPIRE
SlurmctldPort=${SLURM_TEST_CTLD_PORT:-6817}
SlurmdPort=${SLURM_TEST_SLURMD_PORT:-6818}
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
KillWait=10
MinJobAge=600
MaxArraySize=1001
NodeName=$host CPUs=$cpus State=UNKNOWN
# Four elements may share a core: the tests run more elements than this machine has cores.
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE OverSubscribe=FORCE:4 State=UP
EOF
    # munge: the key under /etc/munge (the package creates it), the daemon as user munge.
    if [ ! -s /etc/munge/munge.key ]; then
        mungekey --create --keyfile=/etc/munge/munge.key 2>/dev/null ||
            dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
        chown munge:munge /etc/munge/munge.key
        chmod 400 /etc/munge/munge.key
    fi
    if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
        echo "tests/slurm: using the munged already running"
    else
        mkdir -p /run/munge /var/log/munge /var/lib/munge
        chown munge:munge /run/munge /var/log/munge /var/lib/munge
        setpriv --reuid=munge --regid=munge --init-groups /usr/sbin/munged --foreground \
            >"$dir/munged.out" 2>&1 &
        SLURM_TEST_PIDS+=($!)
        local i
        for i in $(seq 50); do
            munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break
            sleep 0.2
        done
        munge -n 2>/dev/null | unmunge >/dev/null 2>&1 ||
            { cat "$dir/munged.out" >&2; slurm_fail "munged did not start"; }
    fi
    slurmctld -D -c -f "$SLURM_CONF" >"$dir/slurmctld.out" 2>&1 &
    SLURM_TEST_PIDS+=($!)
    slurmd -D -f "$SLURM_CONF" >"$dir/slurmd.out" 2>&1 &
    SLURM_TEST_PIDS+=($!)
    local state=
    for i in $(seq 60); do
        state=$(sinfo -h -n "$host" -o %t 2>/dev/null || true)
        [ "$state" = idle ] && break
        sleep 1
    done
    if [ "$state" != idle ]; then
        echo "--- slurmctld log" >&2
        tail -30 "$dir/slurmctld.log" "$dir/slurmctld.out" >&2 2>/dev/null || true
        echo "--- slurmd log" >&2
        tail -30 "$dir/slurmd.log" "$dir/slurmd.out" >&2 2>/dev/null || true
        slurm_fail "Slurm did not come up: node $host is '${state:-unknown}', not idle, after 60 s"
    fi
    echo "tests/slurm: Slurm is up: node $host, $cpus CPUs (pids ${SLURM_TEST_PIDS[*]})"
}

# Waits until a job (array) has left the queue; fails after $2 seconds.
slurm_wait() {
    local job=$1 limit=$2 start=$SECONDS
    while [ -n "$(squeue -h -j "$job" -o %i 2>/dev/null || true)" ]; do
        [ $((SECONDS - start)) -le "$limit" ] ||
            slurm_fail "job $job still queued or running after $limit s: $(squeue -j "$job" 2>&1)"
        sleep 1
    done
}

slurm_stop() {
    [ -n "$SLURM_TEST_DIR" ] || return 0
    local pid i
    if [ -n "${SLURM_CONF:-}" ]; then
        scancel --user=root >/dev/null 2>&1 || true
        for i in $(seq 30); do
            [ -z "$(squeue -h -o %i 2>/dev/null || true)" ] && break
            sleep 1
        done
    fi
    # Daemons last started first stopped: slurmd, slurmctld, munged.
    for ((i = ${#SLURM_TEST_PIDS[@]} - 1; i >= 0; i--)); do
        kill -TERM "${SLURM_TEST_PIDS[i]}" 2>/dev/null || true
    done
    for pid in "${SLURM_TEST_PIDS[@]}"; do
        for i in $(seq 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    # Anything a job left behind names our folder (its store, sweep or scripts).
    local left
    left=$(pgrep -f -- "$SLURM_TEST_DIR" || true)
    if [ -n "$left" ]; then
        echo "tests/slurm: killing leftover processes $left" >&2
        kill -KILL $left 2>/dev/null || true
    fi
    # Step daemons of our slurmd carry our SLURM_CONF in their environment.
    for pid in $(pgrep -x slurmstepd || true); do
        if tr '\0' '\n' 2>/dev/null <"/proc/$pid/environ" |
            grep -qxF "SLURM_CONF=$SLURM_TEST_DIR/slurm.conf"; then
            echo "tests/slurm: killing leftover slurmstepd $pid" >&2
            kill -KILL "$pid" 2>/dev/null || true
        fi
    done
    SLURM_TEST_PIDS=()
    SLURM_TEST_DIR=
}
