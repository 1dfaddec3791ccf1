#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The systemd test bed's scenario, run by vmtest.service as root once the
# guest (Debian 12, systemd as PID 1, the project installed by meson install)
# is up.  Its exit status is the result: any command that fails outside a
# test (an `if`, `||` or `&&`) fails the scenario (set -e).
set -eu
. /usr/local/lib/vmtest/lib.sh

echo "systemd: $(systemctl --version | head -n 1), kernel $(uname -r)"

documentation_resolves

# The socket is listening and the service has not started yet.
systemctl is-active --quiet vfio-brokerd.socket || fail "the socket unit is not active"
[ "$(systemctl is-active vfio-brokerd.service)" = inactive ] || fail "the service runs before any connection"
ls -l /run/vfio-broker/broker.sock

# The first connection starts it; READY is reached.
as_alice vfio-brokerctl list || fail "alice's first connection"
[ "$(systemctl is-active vfio-brokerd.service)" = active ] || fail "the service did not become active"
status=$(systemctl show -p StatusText --value vfio-brokerd.service)
echo "systemd: service active, status \"$status\""
case "$status" in serving*) ;; *) fail "no READY status" ;; esac

# The running daemon holds exactly CAP_SYS_RESOURCE, CAP_SYS_PTRACE and CAP_KILL (effective and
# permitted), nothing inheritable or ambient, and its bounding set is within the unit's
# CapabilityBoundingSet (those three and CAP_SYS_RAWIO).
pid=$(broker_pid)
grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb)' "/proc/$pid/status"
cap() { sed -n "s/^Cap$1:[[:space:]]*//p" "/proc/$pid/status"; }
for set in Eff Prm; do
	[ "$(cap $set)" = 0000000001080020 ] || fail "Cap$set is not CAP_SYS_RESOURCE, CAP_SYS_PTRACE and CAP_KILL alone"
done
for set in Inh Amb; do
	[ "$(cap $set)" = 0000000000000000 ] || fail "Cap$set is not empty"
done
[ $((0x$(cap Bnd) & ~0x10a0020)) = 0 ] || fail "CapBnd $(cap Bnd) reaches past the unit's CapabilityBoundingSet"

# An unprivileged client: the DMA round trip through its lease.
as_alice client-dma "$BDF" || fail "alice's DMA round trip"

# The kernel's uevents reach the sandboxed daemon (PrivateNetwork=yes): what it
# keeps of $BDF (daemon/host/devcache.c) gives way to an unbinding and a rebinding.
journalctl --no-pager -u vfio-brokerd.service | grep 'no kernel uevents' && fail "the daemon gets no kernel uevents"
echo "$BDF" >/sys/bus/pci/drivers/vfio-pci/unbind
rc=0
as_alice vfio-brokerctl run "$BDF" -- true 2>/tmp/err || rc=$?
[ "$rc" = 125 ] && grep -q 'has no driver' /tmp/err || { cat /tmp/err; fail "an unbound device was not refused as such"; }
echo "$BDF" >/sys/bus/pci/drivers_probe
as_alice client-dma "$BDF" || fail "alice's DMA round trip after the rebinding"
echo "systemd: an unbinding and a rebinding were seen by the next acquire"

# A group the broker calls free is free: under systemd its fd leaves the FD
# store before the release is answered, so the same client may take it again
# at once (a group can be open only once).
for i in 1 2 3; do
	as_alice client-dma --again "$BDF" >/tmp/again.log 2>&1 || { cat /tmp/again.log; fail "re-acquire $i right after a release"; }
done
journalctl --no-pager -u vfio-brokerd.service | grep 'did not confirm' && fail "the FD store barrier failed"
echo "systemd: the group was acquired again at once after each of 3 releases"

# The audit trail is in the journal, structured.
journalctl --no-pager -o verbose MESSAGE_ID=$GRANT | grep -E 'MESSAGE=|VFIO_BROKER_(UID|DEVICE|GRANT)='
journalctl --no-pager -o verbose MESSAGE_ID=$GRANT | grep -q 'VFIO_BROKER_UID=1000' || fail "no grant record for uid 1000"
journalctl --no-pager -o verbose MESSAGE_ID=$GRANT | grep -q "VFIO_BROKER_DEVICE=$BDF" || fail "the grant record lacks the device"
journalctl --no-pager MESSAGE_ID=$RELEASE | grep -q 'released by the client' || fail "no release record"

# Reload through systemctl, then through D-Bus.
systemctl reload vfio-brokerd.service || fail "systemctl reload"
vfio-brokerctl reload || fail "reload over D-Bus"
n=$(journalctl --no-pager -u vfio-brokerd.service | grep -c 'policy reloaded')
[ "$n" = 2 ] || fail "$n reloads in the journal, not 2"
vfio-brokerctl status || fail "status over D-Bus"

# Restarts lose no lease: alice holds $HELD through restart and SIGKILL.
# The iommufd backend under the units (the bed's own kernel): a release waits for the FD store
# to let go of the cdevs it kept before asking the kernel, so the group is free at once; an
# iommufd lease survives restarts with its IOAS, and its fds fetched from the new broker work;
# a quarantine of an iommufd group (a child keeps a bound cdev) survives a restart too.
if [ -e /dev/iommu ]; then
	quarantines=$(journalctl --no-pager -u vfio-brokerd.service | grep -c 'quarantined' || [ $? = 1 ]) # 1: none
	as_alice client-dma --iommufd --again "$BDF" || fail "an iommufd lease and its release under the units"
	[ "$(journalctl --no-pager -u vfio-brokerd.service | grep -c 'quarantined')" = "$quarantines" ] ||
		fail "a clean iommufd release was quarantined (the FD store's copies of the cdev)"
	runas 1000 1000 client-dma --iommufd --hold-dma --fetch "$HELD" >/tmp/hold.log 2>&1 </dev/null &
	holder=$!
	wait_for /tmp/hold.log holding
	restart restart
	[ "$(state_of "$HELD")" = leased ] || fail "the iommufd lease of $HELD is '$(state_of "$HELD")' after the restart"
	held_is_busy || fail "an acquire of the group of an iommufd lease was not refused after the restart"
	dma_again 2
	restart kill -s SIGKILL
	dma_again 3
	kill -TERM "$holder"
	wait "$holder" || { cat /tmp/hold.log; fail "the release of the iommufd lease after restarts"; }
	[ "$(state_of "$HELD")" = free ] || fail "$HELD not free after the iommufd lease's release"
	as_alice client-dma --iommufd --fork-child "$HELD" >/tmp/fork.log 2>&1 || { cat /tmp/fork.log; fail "--fork-child"; }
	child=$(sed -n 's/^client-dma: child \([0-9]*\) keeps.*/\1/p' /tmp/fork.log)
	wait_state "$HELD" quarantined 30 "with a child keeping a bound cdev"
	restart restart
	[ "$(state_of "$HELD")" = quarantined ] || fail "the iommufd quarantine did not survive the restart"
	kill -9 "$child"
	wait_state "$HELD" free 50 "after the child with the bound cdev died past a restart"
	echo "systemd: iommufd leases and quarantines survived restarts"
fi

hold_dma
restart restart
journalctl --no-pager -u vfio-brokerd.service | grep -q 'adopted 1 lease' || fail "the new broker adopted no lease"
[ "$(state_of "$HELD")" = leased ] || fail "$HELD is '$(state_of "$HELD")' after the restart, not leased"
held_is_busy || fail "a new acquire of the held group was not refused as busy"
dma_again 2

restart kill -s SIGKILL
[ "$(state_of "$HELD")" = leased ] || fail "$HELD is not leased after SIGKILL"
dma_again 3

# The client releases over the connection it had from the start; the group is free.
kill -TERM "$holder"
wait "$holder" || fail "the holder's release failed"
cat /tmp/hold.log
[ "$(state_of "$HELD")" = free ] || fail "$HELD not free after the release"

# A client that exits without releasing after a restart: the new broker releases and resets.
hold_dma
restart restart
kill -9 "$holder"
wait_state "$HELD" free 30 "after its client died past a restart"
journalctl --no-pager -o verbose MESSAGE_ID=7d84da23683c41e28386001d994f2896 | grep -q 'VFIO_BROKER_RESULT=client gone' ||
	fail "no release record for the client that died"
reset_recorded "$(broker_pid)" || fail "the new broker gave the group back without its RESET record"

# A client that dies while no broker runs (between a crash and the restart 3 s later): the
# next broker still adopts its connection (the FD store does not drop the socket on hangup,
# FDPOLL=0), sees it gone and releases and resets as for any client that dies.
mkdir -p /run/systemd/system/vfio-brokerd.service.d
printf '[Service]\nRestartSec=3\n' >/run/systemd/system/vfio-brokerd.service.d/gap.conf
systemctl daemon-reload
hold_dma
old=$(broker_pid)
systemctl kill -s SIGKILL vfio-brokerd.service
kill -9 "$holder"
killed "$holder"
wait_active "$old"
wait_state "$HELD" free 50 "after its client died while no broker ran"
journalctl --no-pager -o verbose _PID="$(broker_pid)" MESSAGE_ID=7d84da23683c41e28386001d994f2896 |
	grep -q 'VFIO_BROKER_RESULT=client gone' || fail "the new broker did not release the lease of the client that died in the gap"
reset_recorded "$(broker_pid)" || fail "the next broker gave the group back without its RESET record"
rm /run/systemd/system/vfio-brokerd.service.d/gap.conf
systemctl daemon-reload
echo "systemd: a client that died while no broker ran was released by the next one"

# A quarantined group (a child kept the device fd) stays quarantined across a restart, and is
# freed by the new broker once the child dies.
runas 1000 1000 client-dma --fork-child "$HELD" >/tmp/fork.log 2>&1 </dev/null || { cat /tmp/fork.log; fail "client-dma --fork-child"; }
child=$(sed -n 's/^client-dma: child \([0-9]*\) keeps.*/\1/p' /tmp/fork.log)
[ -n "$child" ] || fail "no child pid"
wait_state "$HELD" quarantined 30 "a child keeps its device fd"
restart restart
[ "$(state_of "$HELD")" = quarantined ] || fail "$HELD is '$(state_of "$HELD")' after the restart, not quarantined"
kill -9 "$child"
wait_state "$HELD" free 50 "after the child died past a restart"
echo "systemd: a quarantine survived the restart and ended with the child"

# A lease of two groups, the second joined by a later acquire, survives a restart whole.
hold_dma "$BDF" "$HELD"
restart restart
for d in "$BDF" "$HELD"; do
	[ "$(state_of "$d")" = leased ] || fail "$d is '$(state_of "$d")' after the restart, not leased"
done
dma_again 2
kill -TERM "$holder"
wait "$holder" || fail "the release of the two-group lease failed"
for d in "$BDF" "$HELD"; do
	[ "$(state_of "$d")" = free ] || fail "$d not free after the release of the two-group lease"
done
echo "systemd: a lease of two groups survived a restart"

# Interrupt eventfds come back as what they were: after a restart alice fetches her INTx lease
# (trigger and unmask eventfds, under one FD store name with the rest) from the new broker and
# does DMA on the fetched fds alone; swapped eventfds would never see the completion.
hold_dma --intx --fetch "$HELD"
grep -qE '^eventfd( [0-9]+){7}$' /run/vfio-brokerd/state || { cat /run/vfio-brokerd/state; fail "no eventfd record names its eventfd-id"; }
restart restart
dma_again 2
grep -q "fetched lease" /tmp/hold.log || fail "the holder did not fetch its lease"
kill -TERM "$holder"
wait "$holder" || fail "the release of the INTx lease failed"
[ "$(state_of "$HELD")" = free ] || fail "$HELD not free after the release of the INTx lease"
echo "systemd: interrupt eventfds survived a restart"

# An upgrade: the broker of the previous release (tests/systemd/previous-release, built by
# build-previous) holds a lease; the unit restarts onto this tree's broker, which must adopt it
# from the old one's state file and FD store: the client's DMA still works on the fds it had,
# and another acquire of the group is refused as busy.
previous=/usr/local/libexec/vfio-broker-previous/vfio-brokerd
[ -x "$previous" ] || fail "no previous broker in the image"
mkdir -p /run/systemd/system/vfio-brokerd.service.d
printf '[Service]\nExecStart=\nExecStart=%s\n' "$previous" >/run/systemd/system/vfio-brokerd.service.d/previous.conf
systemctl daemon-reload
restart restart
[ "$(readlink "/proc/$(broker_pid)/exe")" = "$previous" ] || fail "the unit does not run the previous broker"
hold_dma
rm /run/systemd/system/vfio-brokerd.service.d/previous.conf
systemctl daemon-reload
old=$(broker_pid)
restart restart
[ "$(readlink "/proc/$(broker_pid)/exe")" = /usr/sbin/vfio-brokerd ] || fail "the unit does not run this broker after the upgrade"
journalctl --no-pager _PID="$(broker_pid)" | grep -q 'adopted 1 lease' || fail "this broker adopted no lease of the previous one"
# The previous release kept its state in the socket's directory, which containers see: moved.
journalctl --no-pager _PID="$(broker_pid)" | grep -q 'moved /run/vfio-broker/state to /run/vfio-brokerd/state' ||
	fail "this broker did not move the previous one's state file"
[ ! -e /run/vfio-broker/state ] && [ -f /run/vfio-brokerd/state ] || { ls -la /run/vfio-broker /run/vfio-brokerd; fail "the state file is not in /run/vfio-brokerd alone"; }
[ "$(state_of "$HELD")" = leased ] || fail "$HELD is '$(state_of "$HELD")' after the upgrade, not leased"
held_is_busy || fail "an acquire of the group held across the upgrade was not refused as busy"
dma_again 2
kill -TERM "$holder"
wait "$holder" || fail "the release of the lease held across the upgrade failed"
[ "$(state_of "$HELD")" = free ] || fail "$HELD not free after the release of the upgraded lease"
echo "systemd: a lease of the previous release's broker (pid $old) survived the upgrade to this one"

# An older client, unchanged: the previous release's vfio-brokerctl with its own
# library speaks to this broker, which hands it legacy fds as before.
old_ctl=/usr/local/libexec/vfio-broker-previous/vfio-brokerctl
LD_LIBRARY_PATH=${old_ctl%/*} runas 1000 1000 "$old_ctl" run --irq "$BDF:msi" "$BDF" -- sh -c 'echo "$VFIO_BROKER_FDS"' \
	>/tmp/old-client || { cat /tmp/old-client; fail "the previous release's client against this broker"; }
grep -qE "^container=[0-9]+ device:$BDF=[0-9]+ msi:$BDF:0=[0-9]+\$" /tmp/old-client ||
	{ cat /tmp/old-client; fail "the previous release's client got other fds than before"; }
LD_LIBRARY_PATH=${old_ctl%/*} ldd "$old_ctl" | grep -q "${old_ctl%/*}/libvfio-broker.so.0" ||
	fail "the older client does not run on its own library"
echo "systemd: the previous release's client works unchanged against this broker"

# The reset ledger survives a restart: an edu (no reset) that alice held stays refused to bob
# under ResetRequired=yes after systemctl restart, and is alice's to take again.
mkdir -p /etc/vfio-broker/policy.d
printf '[Broker]\nResetRequired=yes\n\n[Grant bob]\nPool=edu\nUser=bob\n' >/etc/vfio-broker/policy.d/ledger.conf
systemctl reload vfio-brokerd.service || fail "reload with the ledger policy"
sleep 0.5
as_alice client-dma "$BDF" >/dev/null || fail "alice's lease of $BDF"
bob_refused() {
	local rc=0
	runas 1001 1001 vfio-brokerctl run "$BDF" -- true 2>/tmp/err || rc=$?
	cat /tmp/err
	[ "$rc" = 125 ] && grep -q 'last held by uid 1000 by grant "tenants" and could not be reset' /tmp/err
}
bob_refused || fail "bob got the edu alice left unreset"
restart restart
bob_refused || fail "bob got the edu alice left unreset after a restart: the ledger was lost"
as_alice client-dma "$BDF" >/dev/null || fail "alice could not take her own unreset edu again after the restart"
rm /etc/vfio-broker/policy.d/ledger.conf
systemctl reload vfio-brokerd.service || fail "reload without the ledger policy"
sleep 0.5
echo "systemd: the reset ledger survived a restart"

# A recall's escalation under the unit's sandbox (CAP_SYS_PTRACE for kcmp, CAP_KILL, pidfd_send_signal
# through the system-call filter): release-lease of a lease whose COMMAND ignores SIGTERM and keeps the
# fds; SIGTERM, then SIGKILL, to COMMAND alone (not to PID 1, which keeps the FD store's copies), the group
# free after grace + escalation, the steps in the journal as RECALL records.
# recall_stubborn GRACE: with RecallGraceSec=GRACE, alice's run of a COMMAND that ignores SIGTERM
# and keeps the fds, asked back by release-lease; its lease in $lease, the run's pid in $recaller.
recall_stubborn() {
	printf '[Broker]\nRecallGraceSec=%s\n' "$1" >/etc/vfio-broker/policy.d/recall.conf
	systemctl reload vfio-brokerd.service || fail "reload with RecallGraceSec=$1"
	sleep 0.5
	as_alice vfio-brokerctl run "$BDF" -- sh -c 'trap "" TERM; echo ready; exec sleep 600' >/tmp/recall.log 2>&1 &
	recaller=$!
	for _ in $(seq 100); do grep -q ready /tmp/recall.log && break; sleep 0.1; done
	lease=$(vfio-brokerctl leases | awk -v bdf="$BDF" '$NF == bdf { print $1 }')
	[ -n "$lease" ] || fail "no lease of $BDF to recall"
	vfio-brokerctl release-lease "$lease" || fail "release-lease $lease"
}
recall_stubborn 1
wait_state "$BDF" free 80 "after its recall's escalation"
rc=0
wait "$recaller" || rc=$?
[ "$rc" = 137 ] || { cat /tmp/recall.log; fail "the recalled run exited $rc, not 137"; }
journalctl --no-pager -o verbose MESSAGE_ID=bf73bf251f844347b7a3a5656e31d655 VFIO_BROKER_LEASE="$lease" >/tmp/recall.journal
for step in asked sigterm sigkill; do
	grep -q "VFIO_BROKER_RESULT=$step" /tmp/recall.journal || { cat /tmp/recall.journal; fail "no RECALL record '$step'"; }
done
systemctl is-active --quiet vfio-brokerd.service || fail "the broker is not active after the escalation"
echo "systemd: a recalled lease was escalated under the unit"

# A recall goes on across a restart: the broker restarted during the grace escalates on time.
recall_stubborn 4
asked=$(date +%s%N)
restart restart
vfio-brokerctl leases | grep -q "recalled" || { vfio-brokerctl leases; fail "the lease is not recalled after the restart"; }
journalctl --no-pager _PID="$(broker_pid)" | grep -q "lease $lease: its recall .* goes on from before the restart" ||
	fail "the new broker did not take up the recall"
wait_state "$BDF" free 150 "after a recall across a restart"
rc=0
wait "$recaller" || rc=$?
[ "$rc" = 137 ] || { cat /tmp/recall.log; fail "the run recalled across a restart exited $rc, not 137"; }
took=$((($(date +%s%N) - asked) / 1000000))
[ "$took" -ge 5500 ] || fail "the recall across a restart ended after $took ms, before grace + SIGTERM's 2 s"
echo "systemd: a recall went on across a restart: escalated to SIGKILL $took ms after it was asked"
rm /etc/vfio-broker/policy.d/recall.conf
systemctl reload vfio-brokerd.service || fail "reload without the recall policy"
sleep 0.5

# Managed binding under the unit. As shipped, sysfs is read-only (ProtectKernelTunables=yes):
# a Managed=yes device is refused, and stays on its host driver. With the documented drop-in
# (ReadWritePaths=/sys/bus/pci /sys/devices) the virtio-rng moves to vfio-pci for alice's lease,
# stays there across a SIGKILL of the broker while she holds it, and is back on virtio-pci
# when she lets go; the binding record is in /run/vfio-brokerd.
RNG=0000:03:00.0
rng_driver() { basename "$(readlink "/sys/bus/pci/devices/$RNG/driver" 2>/dev/null)" 2>/dev/null || echo none; }
[ "$(rng_driver)" = virtio-pci ] || fail "$RNG does not start on virtio-pci"
printf '[Pool rng]\nVendorDevice=1af4:1044\nManaged=yes\n[Grant rng]\nPool=rng\nUser=alice\n' \
	>/etc/vfio-broker/policy.d/managed.conf
systemctl reload vfio-brokerd.service || fail "reload with the managed pool"
sleep 0.5
rc=0
as_alice vfio-brokerctl run "$RNG" -- true 2>/tmp/err || rc=$?
[ "$rc" = 125 ] && grep -q 'needs a drop-in with ReadWritePaths=/sys/bus/pci /sys/devices' /tmp/err ||
	{ cat /tmp/err; fail "a managed acquire under the read-only sysfs: exit $rc, not 125 with the fix"; }
echo "systemd: as shipped, a managed acquire is refused: $(cat /tmp/err)"
[ "$(rng_driver)" = virtio-pci ] || fail "$RNG left virtio-pci under a read-only sysfs"
mkdir -p /run/systemd/system/vfio-brokerd.service.d
printf '[Service]\nReadWritePaths=/sys/bus/pci /sys/devices\n' >/run/systemd/system/vfio-brokerd.service.d/managed.conf
systemctl daemon-reload
restart restart
as_alice vfio-brokerctl run "$RNG" -- sh -c "echo held; exec sleep 600" >/tmp/rng.log 2>&1 &
rng_holder=$!
wait_for /tmp/rng.log held
[ "$(rng_driver)" = vfio-pci ] || fail "$RNG is on $(rng_driver) during the lease, not vfio-pci"
grep -q "^$RNG virtio-pci$" /run/vfio-brokerd/managed || { cat /run/vfio-brokerd/managed; fail "the move is not recorded"; }
restart kill -s SIGKILL
[ "$(rng_driver)" = vfio-pci ] || fail "$RNG left vfio-pci while its lease is held across the broker's restart"
pkill -f "sleep 600" || :
wait "$rng_holder" || :
for _ in $(seq 80); do [ "$(rng_driver)" = virtio-pci ] && break; sleep 0.1; done
[ "$(rng_driver)" = virtio-pci ] || fail "$RNG is on $(rng_driver) after the lease, not virtio-pci"
grep -q "^$RNG " /run/vfio-brokerd/managed && { cat /run/vfio-brokerd/managed; fail "the record still names $RNG"; }
[ "$(cat "/sys/bus/pci/devices/$RNG/driver_override")" = "(null)" ] || fail "the driver_override of $RNG is not cleared"
rm /run/systemd/system/vfio-brokerd.service.d/managed.conf /etc/vfio-broker/policy.d/managed.conf
systemctl daemon-reload
restart restart
echo "systemd: managed binding under the unit with the drop-in: virtio-pci -> vfio-pci -> virtio-pci, across a SIGKILL"

# systemctl stop is not a restart: the broker asks PID1 which it is, ends every lease on the
# way out (a RELEASE record each, "broker stopped") and removes the state file; the next start
# adopts nothing, and the group is free once the client lets go of it.
hold_dma
old=$(broker_pid)
systemctl stop vfio-brokerd.service || fail "systemctl stop"
journalctl --no-pager -o verbose _PID="$old" MESSAGE_ID=7d84da23683c41e28386001d994f2896 |
	grep -q 'VFIO_BROKER_RESULT=broker stopped' || fail "no release record for the lease when the broker stopped"
[ ! -e /run/vfio-brokerd/state ] || { cat /run/vfio-brokerd/state; fail "the state file outlived a stop"; }
kill -9 "$holder"
killed "$holder"
wait_state "$HELD" free 30 "after a stop and the client's exit"
journalctl --no-pager _PID="$(broker_pid)" | grep -q 'adopted' && fail "a start after a stop adopted something"
echo "systemd: a stop ended every lease"

echo "systemd: passed"
exit 0
