#!/usr/bin/env bash
# Starts a one-node Slurm on this machine (munged, slurmctld, slurmd), for the executor test and for trying
# `--executor slurm` without a cluster. Usage: scripts/slurm-localhost.sh start|stop DIR
# DIR receives slurm.conf, the daemons' state, logs and pid files; export SLURM_CONF=DIR/slurm.conf to use it.
# Needs root and Debian's slurm-wlm and munge. No cgroups (proctrack/linuxproc): a container is enough.
set -euo pipefail
cmd=${1:?usage: slurm-localhost.sh start|stop DIR}
dir=$(realpath -m "${2:?usage: slurm-localhost.sh start|stop DIR}")
host=$(hostname -s)
cpus=${SLURM_LOCAL_CPUS:-$(nproc)}

stop() {
  for d in slurmd slurmctld; do
    if [[ -f $dir/$d.pid ]]; then kill "$(cat "$dir/$d.pid")" 2>/dev/null || true; fi
  done
  sleep 1
  # munged is shared with any other user of this machine's munge socket: started here only if none ran.
  if [[ -f $dir/munged.started ]]; then
    kill "$(cat /run/munge/munged.pid 2>/dev/null)" 2>/dev/null || true
    rm -f "$dir/munged.started"
  fi
}

if [[ $cmd == stop ]]; then stop; exit 0; fi
[[ $cmd == start ]] || { echo "slurm-localhost.sh: expected start or stop, found '$cmd'" >&2; exit 2; }

mkdir -p "$dir/state" "$dir/spool"
mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
cat > "$dir/slurm.conf" <<CONF
ClusterName=advlab-local
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MinJobAge=600
KillWait=5
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
echo "CgroupPlugin=autodetect" > "$dir/cgroup.conf"

if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  mkdir -p /run/munge && chown munge:munge /run/munge 2>/dev/null || true
  runuser -u munge -- /usr/sbin/munged || /usr/sbin/munged --force
  touch "$dir/munged.started"
  for _ in $(seq 1 10); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.5; done
fi
export SLURM_CONF=$dir/slurm.conf
/usr/sbin/slurmctld -f "$dir/slurm.conf"
/usr/sbin/slurmd -f "$dir/slurm.conf"
for _ in $(seq 1 30); do
  if sinfo -h -o %T 2>/dev/null | grep -qE '^idle'; then echo "slurm-localhost: node $host up, $cpus CPUs, SLURM_CONF=$dir/slurm.conf"; exit 0; fi
  sleep 1
done
echo "slurm-localhost: the node did not come up in 30 s; logs in $dir (slurmctld.log, slurmd.log)" >&2
sinfo >&2 || true
exit 1
