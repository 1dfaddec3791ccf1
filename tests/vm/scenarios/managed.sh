# SPDX-License-Identifier: LGPL-2.1-or-later
# Managed binding (Managed=yes): the virtio-rng goes from virtio-pci to vfio-pci
# for a lease, is reset on release and goes back; the e1000e leaves its host
# driver for a lease of the edu in its group and comes back after; a device
# the host uses (its network interface up) is refused naming it; a broker
# SIGKILLed between the moves and its reply gives everything back at its
# next start; an unmanaged pool behaves as before.
. /tests/lib.sh
driver() { basename "$(readlink "/sys/bus/pci/devices/$1/driver" 2>/dev/null)" 2>/dev/null || echo none; }
record_empty() { ! grep -q '^0000:' /run/vfio-brokerd/managed 2>/dev/null; }
cat >/tmp/managed.conf <<'POLICY'
[Broker]
ResetRequired=no

[Pool rng]
VendorDevice=1af4:1044
Managed=yes

[Pool wired]
Device=0000:02:01.0
Managed=yes

[Pool edu]
VendorDevice=1234:11e8

[Grant tenants]
Pool=rng wired edu
User=alice bob
POLICY
[ "$(driver 0000:03:00.0)" = virtio-pci ] || fail "0000:03:00.0 does not start on virtio-pci"
POLICY=/tmp/managed.conf start_broker
# list shows it before any lease: free, on its host driver until an acquire binds it.
vfio-brokerctl list | grep -E '^0000:03:00.0 .* free +.* on virtio-pci until leased \(Managed=yes\)' ||
	{ vfio-brokerctl list; fail "list does not offer the managed virtio-rng as free"; }

as_alice vfio-brokerctl run 0000:03:00.0 -- sh -c 'basename "$(readlink /sys/bus/pci/devices/0000:03:00.0/driver)"' \
	>/tmp/during || fail "a lease of the managed virtio-rng"
[ "$(cat /tmp/during)" = vfio-pci ] || fail "0000:03:00.0 was on '$(cat /tmp/during)' during its lease, not vfio-pci"
[ "$(driver 0000:03:00.0)" = virtio-pci ] || fail "0000:03:00.0 is on $(driver 0000:03:00.0) after the lease, not virtio-pci"
[ "$(cat /sys/bus/pci/devices/0000:03:00.0/driver_override)" = "(null)" ] || fail "driver_override of 0000:03:00.0 not cleared"
grep -q 'free again (was lease [0-9]* of uid 1000); 1 of 1 device(s) reset$' "$BROKER_LOG" || fail "no reset of the virtio-rng"
record_empty || { cat /run/vfio-brokerd/managed; fail "the record still names devices"; }

# The e1000e's group: the e1000e leaves e1000e while the edu beside it is leased.
hold 0000:02:01.0
[ "$(driver 0000:02:02.0)" = vfio-pci ] || fail "the e1000e is on $(driver 0000:02:02.0) during the lease, not vfio-pci"
grep -q '^0000:02:02.0 e1000e$' /run/vfio-brokerd/managed || { cat /run/vfio-brokerd/managed; fail "the e1000e is not recorded"; }
kill "$HOLDER"
# Given back, the e1000e makes the group not viable again: the edu is listed unavailable.
wait_state 0000:02:01.0 unavailable 10000 >/dev/null # (after its resets: the e1000e's take a few seconds under TCG)
[ "$(driver 0000:02:02.0)" = e1000e ] || fail "the e1000e is on $(driver 0000:02:02.0) after the lease, not e1000e"
record_empty || fail "the record still names the e1000e"

# The host's use: an interface up keeps the e1000e, and so its group, from moving.
ifname=$(ls /sys/bus/pci/devices/0000:02:02.0/net)
echo 0x1003 >"/sys/class/net/$ifname/flags"
refused as_alice 0000:02:01.0 "0000:02:02.0 is in use by the host: its network interface $ifname is up"
[ "$(driver 0000:02:02.0)" = e1000e ] || fail "a refused acquire moved the e1000e"
echo 0x1002 >"/sys/class/net/$ifname/flags"

# Killed between the moves and the reply: the next start gives everything back.
kill "$BROKER_PID"; wait "$BROKER_PID" || true
VFIO_BROKER_TEST_KILL_AFTER_MOVE=1 POLICY=/tmp/managed.conf start_broker
rc=0
as_alice vfio-brokerctl run 0000:02:01.0 -- true 2>/dev/null || rc=$?
wait "$BROKER_PID" 2>/dev/null || true
[ "$(driver 0000:02:02.0)" = vfio-pci ] || fail "the e1000e was not moved before the kill (it is on $(driver 0000:02:02.0))"
grep -q '^0000:02:02.0 e1000e$' /run/vfio-brokerd/managed || fail "the move was not recorded before the kill"
POLICY=/tmp/managed.conf start_broker
# (its socket is there before it gives back; it serves only after)
vfio-brokerctl list >/dev/null
[ "$(driver 0000:02:02.0)" = e1000e ] || fail "the next start did not give the e1000e back (it is on $(driver 0000:02:02.0))"
record_empty || fail "the record still names devices after the next start"
grep -q '0000:02:02.0: back on e1000e' "$BROKER_LOG" || fail "the give-back is not logged"

# Not managed: a device on its host driver is refused as before, and never touched.
cat >/tmp/unmanaged.conf <<'POLICY'
[Pool rng]
VendorDevice=1af4:1044

[Grant tenants]
Pool=rng
User=alice
POLICY
stop_broker
POLICY=/tmp/unmanaged.conf start_broker
refused as_alice 0000:03:00.0 '0000:03:00.0 is bound to virtio-pci, not vfio-pci'
[ "$(driver 0000:03:00.0)" = virtio-pci ] || fail "an unmanaged device was moved"
stop_broker
echo "managed: passed"
