#!/usr/bin/env bash
# `dunet submit --dry-run`: the rendered sbatch script for several configs, and [slurm] values
# that are refused with a message naming the key (nothing can inject a shell command).
# Usage: dry_run.sh PATH_TO_DUNET
source "$(dirname "$0")/../e2e/lib.sh"
DUNET=$(realpath "$1")
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"

expect_line() {  # expect_line FILE LINE
  grep -qxF -- "$2" "$1" || fail "expected the line '$2' in $1: $(cat "$1")"
}

# CPU defaults: one task, loopback MPI, requeue and the USR1 warning 180 s before the limit.
printf '[run]\nname = "cpu"\noutput_dir = "runs/cpu"\n' > cpu.toml
"$DUNET" submit cpu.toml --dry-run > cpu.sbatch
expect_line cpu.sbatch "#SBATCH --job-name=cpu"
expect_line cpu.sbatch "#SBATCH --nodes=1"
expect_line cpu.sbatch "#SBATCH --ntasks-per-node=1"
expect_line cpu.sbatch "#SBATCH --time=01:00:00"
expect_line cpu.sbatch "#SBATCH --signal=B:USR1@180"
expect_line cpu.sbatch "#SBATCH --requeue"
expect_line cpu.sbatch "#SBATCH --no-kill"
expect_line cpu.sbatch "#SBATCH --output=$WORK/runs/cpu/slurm-%j.out"
expect_line cpu.sbatch "export OMPI_MCA_btl=self,vader"
expect_line cpu.sbatch "CONFIG='$WORK/runs/cpu/slurm/cpu.toml'"
grep -q '^srun --mpi=pmix .* train --config "$CONFIG" --resume auto &$' cpu.sbatch ||
  fail "no srun --mpi=pmix line"
bash -n cpu.sbatch || fail "the script is not valid bash"
[ ! -e runs ] || fail "--dry-run must not write files"
echo "ok: CPU defaults"

# GPUs on two nodes, everything set, plus command-line flags that win over the file.
cat > gpu.toml <<'TOML'
[run]
name = "gpu"
output_dir = "runs/gpu"
[slurm]
nodes = 2
gpus_per_node = 4
cpus_per_task = 8
time = "1-00:00:00"
partition = "a100"
account = "lab"
qos = "high"
extra_sbatch = ["--constraint=nvlink", "--exclusive"]
setup = ["module load cuda/12.2", "export NCCL_DEBUG=WARN"]
signal_margin_s = 300
TOML
"$DUNET" submit gpu.toml --dry-run --partition h100 --time 12:00:00 > gpu.sbatch
for line in "#SBATCH --nodes=2" "#SBATCH --ntasks-per-node=4" "#SBATCH --gpus-per-node=4" \
            "#SBATCH --cpus-per-task=8" "#SBATCH --time=12:00:00" "#SBATCH --partition=h100" \
            "#SBATCH --account=lab" "#SBATCH --qos=high" "#SBATCH --constraint=nvlink" \
            "#SBATCH --exclusive" "#SBATCH --signal=B:USR1@300" "module load cuda/12.2" \
            "export NCCL_DEBUG=WARN"; do
  expect_line gpu.sbatch "$line"
done
grep -q "OMPI_MCA_btl=self,vader" gpu.sbatch && fail "multi-node jobs must not force shared memory"
echo "ok: GPU job on two nodes"

# requeue = false keeps the job from requeueing itself.
printf '[slurm]\nrequeue = false\n' > norequeue.toml
"$DUNET" submit norequeue.toml --dry-run > norequeue.sbatch
expect_line norequeue.sbatch "REQUEUE=0"
grep -q -- "--requeue" norequeue.sbatch && fail "requeue = false still asks for --requeue"
grep -q -- "--no-kill" norequeue.sbatch && fail "requeue = false still keeps a job with a lost node"
echo "ok: requeue off"

# After a lost node the job requeues itself on slurm.restart_nodes nodes, at most
# slurm.lost_node_requeues times, on dunet's exit status for a timed-out collective (4).
"$DUNET" submit cpu.toml --dry-run --nodes 4 --set slurm.restart_nodes=3 \
  --set slurm.lost_node_requeues=2 > restart.sbatch
expect_line restart.sbatch "#SBATCH --nodes=4"
grep -q 'if \[ "$status" -eq 4 \] && \[ "$REQUEUE" = 1 \]; then' restart.sbatch ||
  fail "no requeue on exit status 4: $(cat restart.sbatch)"
grep -q 'if \[ "$lost" -lt 2 \]' restart.sbatch || fail "lost_node_requeues not rendered"
grep -q 'NumNodes=3 ' restart.sbatch || fail "restart_nodes not rendered"
bash -n restart.sbatch || fail "the script is not valid bash"
expect_failure "restart on more nodes than asked for" "slurm.restart_nodes = '5': expected at most slurm.nodes (4)" \
  "$DUNET" submit cpu.toml --dry-run --nodes 4 --set slurm.restart_nodes=5
echo "ok: restart after a lost node"

# Values that could inject commands, or that SLURM would not understand, are refused.
expect_failure "partition with a command" "slurm.partition = 'a; rm -rf ~': expected a partition name" \
  "$DUNET" submit cpu.toml --dry-run --partition 'a; rm -rf ~'
expect_failure "time that is not a time" "slurm.time = 'soon': expected [D-]HH:MM:SS" \
  "$DUNET" submit cpu.toml --dry-run --time soon
expect_failure "extra sbatch with a substitution" "slurm.extra_sbatch = '--comment=\$(id)'" \
  "$DUNET" submit cpu.toml --dry-run --set 'slurm.extra_sbatch=["--comment=$(id)"]'
expect_failure "setup line with a line break" "slurm.setup" \
  "$DUNET" submit cpu.toml --dry-run --set 'slurm.setup=["echo a\necho b"]'
expect_failure "tasks that do not match GPUs" "slurm.tasks_per_node = '2': expected one task per GPU" \
  "$DUNET" submit cpu.toml --dry-run --set slurm.gpus_per_node=4 --set slurm.tasks_per_node=2
expect_failure "unknown slurm key" "slurm.partiton: unknown key (did you mean 'partition'?)" \
  "$DUNET" submit cpu.toml --dry-run --set slurm.partiton=x
expect_failure "margin too short to checkpoint" "slurm.signal_margin_s: expected an integer between 60" \
  "$DUNET" submit cpu.toml --dry-run --set slurm.signal_margin_s=5
echo "dry run: all checks passed"
