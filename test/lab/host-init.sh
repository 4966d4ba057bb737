#!/bin/sh
# Runs as PID 1 of a lab host's new namespaces: mounts the overlay and
# the kernel file systems, then execs systemd chrooted into the overlay.
# Arguments: ROOT LOWER UPPER WORK DOCKER HOSTNAME, then the cgroup
# hierarchies as MOUNTDIR=OPTIONS pairs (OPTIONS is cgroup2 for the
# unified hierarchy).
set -eu
ROOT=$1 LOWER=$2 UPPER=$3 WORK=$4 DOCKER=$5 NAME=$6
shift 6
mount -t overlay overlay -o "lowerdir=$LOWER,upperdir=$UPPER,workdir=$WORK" "$ROOT"

mount -t proc -o nosuid,nodev,noexec proc "$ROOT/proc"
# /proc/sys is read-only except /proc/sys/net, which belongs to the host's own netns.
mount --bind "$ROOT/proc/sys" "$ROOT/proc/sys"
mount --bind "$ROOT/proc/sys/net" "$ROOT/proc/sys/net"
mount -o remount,bind,ro "$ROOT/proc/sys"
mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$ROOT/sys"

mount -t tmpfs -o mode=755,nosuid,nodev,noexec tmpfs "$ROOT/sys/fs/cgroup"
for spec in "$@"; do
  dir=${spec%%=*} options=${spec#*=}
  mkdir -p "$ROOT/sys/fs/cgroup/$dir"
  if [ "$options" = cgroup2 ]; then
    mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 "$ROOT/sys/fs/cgroup/$dir"
  else
    mount -t cgroup -o "nosuid,nodev,noexec,$options" cgroup "$ROOT/sys/fs/cgroup/$dir"
  fi
done

mount -t tmpfs -o mode=755,nosuid tmpfs "$ROOT/dev"
mknod -m 666 "$ROOT/dev/null" c 1 3
mknod -m 666 "$ROOT/dev/zero" c 1 5
mknod -m 666 "$ROOT/dev/full" c 1 7
mknod -m 666 "$ROOT/dev/random" c 1 8
mknod -m 666 "$ROOT/dev/urandom" c 1 9
mknod -m 666 "$ROOT/dev/tty" c 5 0
ln -s /proc/self/fd "$ROOT/dev/fd"
ln -s /proc/self/fd/0 "$ROOT/dev/stdin"
ln -s /proc/self/fd/1 "$ROOT/dev/stdout"
ln -s /proc/self/fd/2 "$ROOT/dev/stderr"
mkdir "$ROOT/dev/pts" "$ROOT/dev/shm" "$ROOT/dev/mqueue"
mount -t devpts -o newinstance,ptmxmode=0666,mode=620,gid=5,nosuid,noexec devpts "$ROOT/dev/pts"
ln -s pts/ptmx "$ROOT/dev/ptmx"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$ROOT/dev/shm"
mount -t mqueue -o nosuid,nodev,noexec mqueue "$ROOT/dev/mqueue"
mount -t tmpfs -o mode=755,nosuid,nodev tmpfs "$ROOT/run"

# Docker's overlay2 storage driver cannot use an overlayfs as its backing store.
mkdir -p "$ROOT/var/lib/docker"
mount --bind "$DOCKER" "$ROOT/var/lib/docker"

hostname "$NAME"
exec chroot "$ROOT" /usr/bin/env -i container=unshare TERM=linux /lib/systemd/systemd
