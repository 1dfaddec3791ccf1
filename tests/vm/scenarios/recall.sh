# SPDX-License-Identifier: LGPL-2.1-or-later
# Release with escalation (daemon/broker/recall.c): an administrator's
# release-lease or the kernel's request (an unbind of a leased device) recalls
# the lease.  A client that reads its events releases and keeps running; `run`
# forwards the recall to COMMAND as a signal; a COMMAND that ignores it is sent
# SIGTERM after RecallGraceSec, then SIGKILL, and the group ends free; an
# unbind through sysfs under the default policy completes within grace +
# escalation (also for a VMM-mode lease, and for one whose client took the REQ interrupt away:
# heard by the cdev going, where the kernel has cdevs); a
# hot-unplug reaches a client that reads its events; RecallEscalation=none ends the lease and quarantines the group
# until its files close.  Each step is in `leases`, `list` and the audit log
# (its records' fields: scenarios/journal.sh).
. /tests/lib.sh

lease_of() { vfio-brokerctl leases | awk -v bdf="$1" '$NF == bdf { print $1 }'; }
lease_state() { vfio-brokerctl leases | awk -v bdf="$1" '$NF == bdf { print $(NF - 1) }'; }
# ready LOG: until COMMAND (or the client) says it holds the device.
ready() {
	for _ in $(seq 250); do grep -qE 'ready|holding' "$1" && return 0; usleep 20000; done
	cat "$1" >&2
	fail "the holder in $1 did not come up"
}
logged() { grep -q "$1" "$BROKER_LOG" || fail "the broker's log lacks '$1'"; }
# still_running LOG: the honouring client of LOG ($honour in the background) kept running after it
# released; SIGTERM ends it, with status 0.
still_running() {
	pid=$(sed -n 's/.*holding (pid \([0-9]*\)).*/\1/p' "$1")
	kill -0 "$pid" || fail "the honouring client of $1 did not keep running"
	kill "$pid"
	rc=0
	wait "$honour" || rc=$?
	[ "$rc" = 0 ] || fail "the honouring client of $1 exited $rc"
}

start_system_bus
cat >/tmp/recall.conf <<'POLICY'
[Broker]
ResetRequired=no
RecallGraceSec=2

[Pool edu]
VendorDevice=1234:11e8

[Grant testers]
Pool=edu
User=root alice bob
POLICY
POLICY=/tmp/recall.conf start_broker
wait_bus_name

# 1. A client that honours the recall: it hears the event, releases, and keeps running.
as_alice client-dma --honour-recall 0000:00:03.0 >/tmp/honour.log 2>&1 </dev/null &
honour=$!
ready /tmp/honour.log
lease=$(lease_of 0000:00:03.0)
[ -n "$lease" ] || fail "leases does not show 0000:00:03.0"
[ "$(lease_state 0000:00:03.0)" = held ] || fail "a fresh lease is '$(lease_state 0000:00:03.0)', not held"
vfio-brokerctl release-lease "$lease" | grep -q "lease $lease recalled" || fail "release-lease $lease"
ms=$(wait_state 0000:00:03.0 free 1800)
echo "recall: the honouring client released ${ms} ms after release-lease (grace 2000 ms)"
for _ in $(seq 100); do grep -q 'still running' /tmp/honour.log && break; usleep 20000; done
cat /tmp/honour.log
grep -q 'recalled (an administrator asked for it over D-Bus; 2000 ms of grace)' /tmp/honour.log ||
	fail "the client's event does not say who asked and the grace"
still_running /tmp/honour.log
logged "lease $lease of uid 1000: recalled (an administrator asked for it over D-Bus)"
grep -q 'SIGTERM to' "$BROKER_LOG" && fail "a client that released in time was escalated"

# 2. run forwards the recall to COMMAND as the signal it is told (--recall-signal), and COMMAND's exit ends the lease.
as_alice vfio-brokerctl run --recall-signal USR1 0000:00:03.0 -- \
	sh -c 'trap "echo got USR1; exit 3" USR1; echo ready; while :; do sleep 0.1; done' >/tmp/forward.log 2>&1 &
run=$!
ready /tmp/forward.log
vfio-brokerctl release-lease "$(lease_of 0000:00:03.0)" >/dev/null || fail "release-lease (forwarded)"
rc=0
wait "$run" || rc=$?
cat /tmp/forward.log
[ "$rc" = 3 ] || fail "run exited $rc, not COMMAND's 3 after USR1"
grep -q 'got USR1' /tmp/forward.log || fail "COMMAND did not get SIGUSR1"
grep -q 'the broker wants lease [0-9]* back' /tmp/forward.log || fail "run did not say the broker wants the lease back"
[ "$(state 0000:00:03.0)" = free ] || fail "0000:00:03.0 not free after COMMAND exited"

# 3. A COMMAND that ignores SIGTERM and keeps the fds: escalated after the grace (SIGTERM, then SIGKILL 2 s later).
as_alice vfio-brokerctl run 0000:00:03.0 -- sh -c 'trap "" TERM; echo ready; exec sleep 600' >/tmp/ignore.log 2>&1 &
run=$!
ready /tmp/ignore.log
lease=$(lease_of 0000:00:03.0)
t0=$(now_ms)
vfio-brokerctl release-lease "$lease" >/dev/null || fail "release-lease (ignored)"
[ "$(state 0000:00:03.0)" = recalled ] || fail "list says '$(state 0000:00:03.0)' during the grace, not recalled"
[ "$(lease_state 0000:00:03.0)" = recalled:asked ] || fail "leases says '$(lease_state 0000:00:03.0)', not recalled:asked"
for _ in $(seq 300); do [ "$(lease_state 0000:00:03.0)" = recalled:sigterm ] && break; usleep 20000; done
[ "$(lease_state 0000:00:03.0)" = recalled:sigterm ] || fail "leases never said recalled:sigterm"
wait_state 0000:00:03.0 free 6000 >/dev/null
ms=$(($(now_ms) - t0))
echo "recall: an ignoring COMMAND escalated, its group free ${ms} ms after release-lease (grace 2000 + 2000 ms)"
[ "$ms" -ge 3500 ] || fail "the group was free after $ms ms: before the escalation's SIGKILL was due"
rc=0
wait "$run" || rc=$?
cat /tmp/ignore.log
[ "$rc" = 137 ] || fail "run exited $rc, not 137 (COMMAND killed)"
logged "lease $lease of uid 1000: not released within 2 s: SIGTERM to 1 process(es) holding its files"
logged "lease $lease of uid 1000: still held after SIGTERM: SIGKILL to 1 process(es)"
grep -q "lease $lease of uid 1000 released (recalled (an administrator asked for it over D-Bus): escalated to SIGKILL)" \
	"$BROKER_LOG" || fail "the release does not say it was escalated"
as_alice vfio-brokerctl run 0000:00:03.0 -- true || fail "0000:00:03.0 cannot be leased after the escalation"

# 4. RecallEscalation=none: the lease ends after the grace, the group waits in quarantine for the fds.
mkdir -p /tmp/policy.d
printf '[Broker]\nRecallEscalation=none\nRecallGraceSec=1\n' >/tmp/policy.d/50-none.conf
kill -HUP "$BROKER_PID"
for _ in $(seq 100); do [ "$(grep -c 'policy reloaded' "$BROKER_LOG")" -ge 1 ] && break; usleep 20000; done
as_alice vfio-brokerctl run 0000:00:03.0 -- sh -c 'trap "" TERM; echo ready $$; exec sleep 600' >/tmp/none.log 2>&1 &
run=$!
ready /tmp/none.log
vfio-brokerctl release-lease "$(lease_of 0000:00:03.0)" >/dev/null || fail "release-lease (none)"
wait_state 0000:00:03.0 quarantined 4000 >/dev/null
sleeper=$(sed -n 's/^ready \([0-9]*\)$/\1/p' /tmp/none.log)
kill -0 "$sleeper" || fail "RecallEscalation=none killed COMMAND"
logged "RecallEscalation=none: the lease ends"
kill -9 "$sleeper"
wait "$run" || true
wait_state 0000:00:03.0 free 5000 >/dev/null
rm /tmp/policy.d/50-none.conf

# 5. The kernel asks: an unbind of a leased device through sysfs, under the default policy (no Recall keys:
#    5 s of grace, then SIGTERM and SIGKILL), completes within grace + escalation.
stop_broker
start_broker
wait_bus_name
as_alice vfio-brokerctl run 0000:00:04.0 -- sh -c 'trap "" TERM; echo ready; exec sleep 600' >/tmp/unbind.log 2>&1 &
run=$!
ready /tmp/unbind.log
lease=$(lease_of 0000:00:04.0)
t0=$(now_ms)
echo 0000:00:04.0 >/sys/bus/pci/drivers/vfio-pci/unbind
ms=$(($(now_ms) - t0))
echo "recall: the unbind of a leased device returned after ${ms} ms (default grace 5000 + 2000 ms)"
[ "$ms" -ge 5000 ] && [ "$ms" -le 12000 ] || fail "the unbind took $ms ms, not grace + escalation"
[ -e /sys/bus/pci/devices/0000:00:04.0/driver ] && fail "0000:00:04.0 is still bound"
rc=0
wait "$run" || rc=$?
[ "$rc" = 137 ] || fail "run exited $rc, not 137 (COMMAND killed)"
# Heard by the REQ interrupt, or first by the cdev going where the kernel has cdevs.
grep -qE "lease $lease of uid 1000: recalled \((the kernel asks for 0000:00:04.0 back: it is being unbound or removed|0000:00:04.0 is being unbound or removed: its VFIO cdev is gone)\)" "$BROKER_LOG" ||
	fail "the broker's log does not say why lease $lease was recalled"
logged "lease $lease of uid 1000: still held after SIGTERM: SIGKILL to 1 process(es)"
echo 0000:00:04.0 >/sys/bus/pci/drivers_probe
wait_state 0000:00:04.0 free 3000 >/dev/null
as_alice vfio-brokerctl run 0000:00:04.0 -- true || fail "0000:00:04.0 cannot be leased after its rebind"

# 6. A hot-unplug (sysfs remove) of a device a client holds: the kernel asks, the client that reads its events
#    releases, the removal completes well within the grace, the client keeps running; a rescan brings it back.
as_alice client-dma --honour-recall 0000:00:04.0 >/tmp/unplug.log 2>&1 </dev/null &
honour=$!
ready /tmp/unplug.log
t0=$(now_ms)
echo 1 >/sys/bus/pci/devices/0000:00:04.0/remove
ms=$(($(now_ms) - t0))
echo "recall: the removal of a device held by an honouring client returned after ${ms} ms"
[ "$ms" -lt 5000 ] || fail "the removal took $ms ms: the client did not release in its grace"
[ -e /sys/bus/pci/devices/0000:00:04.0 ] && fail "0000:00:04.0 is still there"
for _ in $(seq 100); do grep -q 'still running' /tmp/unplug.log && break; usleep 20000; done
grep -qE 'recalled \((the kernel asks for 0000:00:04.0 back|0000:00:04.0 is being unbound or removed: its VFIO cdev is gone)' /tmp/unplug.log ||
	{ cat /tmp/unplug.log; fail "the client did not hear the kernel's request"; }
still_running /tmp/unplug.log
[ -z "$(state 0000:00:04.0)" ] || fail "a removed device is listed as $(state 0000:00:04.0)"
echo 1 >/sys/bus/pci/rescan
echo vfio-pci >/sys/bus/pci/devices/0000:00:04.0/driver_override
echo 0000:00:04.0 >/sys/bus/pci/drivers_probe 2>/dev/null || true
wait_state 0000:00:04.0 free 3000 >/dev/null

# 7. A VMM-mode lease: the VMM binds the cdev and takes the REQ, so the broker hears the unbind by its cdev going
#    (the kernel deletes it before it waits for the fds), and escalates as for the others.
if [ -e /dev/iommu ] && [ -d /sys/bus/pci/devices/0000:00:04.0/vfio-dev ]; then
	as_alice vfio-brokerctl run --vmm 0000:00:04.0 -- sh -c 'trap "" TERM; echo ready; exec sleep 600' >/tmp/vmm.log 2>&1 &
	run=$!
	ready /tmp/vmm.log
	t0=$(now_ms)
	echo 0000:00:04.0 >/sys/bus/pci/drivers/vfio-pci/unbind
	ms=$(($(now_ms) - t0))
	echo "recall: the unbind of a device in a VMM-mode lease returned after ${ms} ms"
	[ "$ms" -le 12000 ] || fail "the unbind took $ms ms"
	wait "$run" || true
	logged "recalled (0000:00:04.0 is being unbound or removed: its VFIO cdev is gone)"
	echo 0000:00:04.0 >/sys/bus/pci/drivers_probe
	wait_state 0000:00:04.0 free 3000 >/dev/null
	# 8. A legacy lease whose client took the REQ interrupt away from the broker (its own
	#    VFIO_DEVICE_SET_IRQS) and ignores SIGTERM: the broker hears the unbind by the cdev going all
	#    the same, and the unbind completes within grace + escalation (without that, never).
	as_alice client-dma --steal-req 0000:00:04.0 >/tmp/thief.log 2>&1 &
	thief=$!
	ready /tmp/thief.log
	grep -q 'the REQ interrupt is ours now' /tmp/thief.log || { cat /tmp/thief.log; fail "client-dma did not take the REQ"; }
	t0=$(now_ms)
	echo 0000:00:04.0 >/sys/bus/pci/drivers/vfio-pci/unbind &
	unbind=$!
	for _ in $(seq 150); do kill -0 "$unbind" 2>/dev/null || break; usleep 100000; done
	ms=$(($(now_ms) - t0))
	if kill -0 "$unbind" 2>/dev/null; then
		kill -9 "$thief"
		fail "the unbind of a device whose REQ the client took did not return in 15 s"
	fi
	echo "recall: the unbind of a device whose client took its REQ returned after ${ms} ms"
	[ "$ms" -ge 5000 ] || fail "the unbind took $ms ms, less than the grace"
	wait "$thief" || true
	logged "recalled (0000:00:04.0 is being unbound or removed: its VFIO cdev is gone)"
	echo 0000:00:04.0 >/sys/bus/pci/drivers_probe
	wait_state 0000:00:04.0 free 3000 >/dev/null
else
	echo "recall: $(uname -r) has no iommufd and VFIO cdevs: no VMM-mode unbind, no unbind heard without the REQ"
fi
stop_broker
kill "$DBUS_PID"
echo "recall: passed"
