#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The benchmark under systemd, run in the systemd test bed's guest as its
# scenario by bench/run-systemd, which puts ITERATIONS=N on the line below.
ITERATIONS=${ITERATIONS:-30}
# Acquire + release of 0000:00:04.0 (bench/acquire-latency: each call timed
# beside the same ioctls done directly, in the same run) with the broker
# three ways, one after the other in the same boot:
#   unit     the installed units: socket-activated, every lease change saved
#            to the FD store and the state file, logs to the journal
#   journal  vfio-brokerd by hand (no service manager), logs to the journal
#   console  by hand, logs to a file: the broker bench/run measures
# Prints acquire-latency's BENCH lines, each series renamed NAME-direct,
# NAME-broker, NAME-switched, then BENCHDONE.
set -u
BDF=0000:00:04.0

fail() {
	echo "FAIL: $*"
	journalctl --no-pager -u vfio-brokerd.service | tail -n 20
	exit 1
}

# acquire-latency runs as root: a grant for it.
cat >>/etc/vfio-broker/policy.conf <<'EOT'

[Grant bench]
Pool=edu
User=root
EOT

measure() { # NAME [VAR=VALUE...]: acquire-latency's series, renamed NAME-...
	local name=$1
	shift
	env "$@" acquire-latency "$ITERATIONS" "$BDF" >/tmp/bench.out 2>&1 || { cat /tmp/bench.out; fail "acquire-latency ($name)"; }
	sed -n "s/^BENCH series=acquire-/BENCH series=$name-/p" /tmp/bench.out
}

vfio-brokerctl list >/dev/null || fail "the socket did not start the service"
measure unit
journalctl --no-pager -u vfio-brokerd.service | grep 'did not confirm' && fail "the FD store barrier failed"
systemctl stop vfio-brokerd.socket vfio-brokerd.service

for target in journal console; do
	vfio-brokerd --socket /tmp/bench.sock --log-target "$target" >"/tmp/brokerd-$target.log" 2>&1 &
	pid=$!
	for _ in $(seq 100); do [ -S /tmp/bench.sock ] && break; sleep 0.1; done
	[ -S /tmp/bench.sock ] || { cat "/tmp/brokerd-$target.log"; fail "vfio-brokerd ($target) did not come up"; }
	measure "$target" VFIO_BROKER_SOCKET=/tmp/bench.sock
	kill "$pid"
	wait "$pid"
	rm -f /tmp/bench.sock
done
echo BENCHDONE
exit 0
