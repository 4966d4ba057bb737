#!/bin/sh
# Launches a lab host: moves itself into the host's cgroups before
# unshare, so the new cgroup namespace is rooted there and systemd's
# children stay in them, then enters the host's network namespace.
# Arguments: COUNT, COUNT cgroup directories, the netns name, the command.
set -e
count=$1; shift
i=0
while [ "$i" -lt "$count" ]; do echo $$ > "$1/cgroup.procs"; shift; i=$((i + 1)); done
exec ip netns exec "$@"
