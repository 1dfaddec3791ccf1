# SPDX-License-Identifier: LGPL-2.1-or-later
# The D-Bus admin API on a real dbus-daemon running Debian's system bus
# configuration with units/org.vfiobroker1.conf: who may call what, ListLeases,
# ReleaseLease (the holder's REQ eventfd signalled), ReloadPolicy, the
# properties and the LeaseAcquired/LeaseReleased signals, the bus going away
# and coming back, and the name handed from one broker to the next.
. /tests/lib.sh
as_admin() { runas 1001 1001,2001 "$@"; } # bob, in vfio-broker-admin

start_system_bus
dbus_pid=$DBUS_PID
busctl --system monitor org.vfiobroker1 >/tmp/monitor.txt 2>&1 &
monitor=$!

start_broker
wait_bus_name
grep -q "no D-Bus" "$BROKER_LOG" && fail "the broker did not get onto the bus"

# Counts are for anyone to read.
as_alice vfio-brokerctl status | tee /tmp/status
grep -q '^Leases  *0$' /tmp/status || fail "status: not 0 leases"

runas 1000 1000 client-dma --wait-req 0000:00:03.0 >/tmp/req.log 2>&1 </dev/null &
for _ in $(seq 250); do grep -q holding /tmp/req.log && break; usleep 20000; done
grep -q holding /tmp/req.log || { cat /tmp/req.log; fail "alice's client did not get 0000:00:03.0"; }

vfio-brokerctl status | tee /tmp/status
grep -q '^Leases  *1$' /tmp/status || fail "status: not 1 lease"
grep -q '^LeasedGroups  *1$' /tmp/status || fail "status: not 1 leased group"
vfio-brokerctl leases | tee /tmp/leases
line=$(grep ' 0000:00:03.0$' /tmp/leases) || fail "leases does not show 0000:00:03.0"
set -- $line
[ "$2" = 1000 ] || fail "leases: uid is '$2', not 1000"
lease=$1
# --json: one fixed schema (vfio-brokerctl(1)); status and leases alike.
vfio-brokerctl leases --json=short | tee /tmp/leases.json
grep -qE '^\[\{"id":'"$lease"',"uid":1000,"pid":[0-9]+,"since_usec":[0-9]+,"cgroup":("[^"]*"|null),"iommu_groups":\[[0-9]+\],"state":"held","devices":\["0000:00:03.0"\]\}\]$' \
	/tmp/leases.json || fail "leases --json=short is not as documented"
vfio-brokerctl --json=short status | grep -qE '^\{"connections":[0-9]+,"leases":1,"leased_groups":1,"quarantined_groups":0\}$' ||
	fail "status --json=short is not as documented"
vfio-brokerctl leases --no-legend | grep -q '^LEASE' && fail "leases --no-legend prints the legend"
as_admin vfio-brokerctl leases | grep -q ' 0000:00:03.0$' || fail "the admin group cannot list leases"
rc=0
as_alice vfio-brokerctl leases 2>/tmp/err || rc=$?
cat /tmp/err
[ "$rc" = 125 ] || fail "alice listed the leases (exit $rc)"
# dbus-daemon's denial comes through as a sentence that says who may and how, not as its match rules.
grep -q 'ListLeases: permission denied: the admin API is for root and the members of the vfio-broker-admin group' /tmp/err &&
	! grep -q 'Rejected send message' /tmp/err || fail "alice's refusal is not the sentence"
rc=0
as_alice busctl --system call org.vfiobroker1 /org/vfiobroker1 org.vfiobroker1.Manager ReleaseLease t "$lease" 2>/tmp/err || rc=$?
cat /tmp/err
[ "$rc" != 0 ] && grep -q 'Access denied' /tmp/err ||
	fail "alice's ReleaseLease was not refused by the bus policy (exit $rc)"
[ "$(state 0000:00:03.0)" = leased ] || fail "alice's refused ReleaseLease ended the lease"

# ReleaseLease recalls the lease: the holder hears it on its REQ eventfd, closes everything, the group is free
# (scenarios/recall.sh: the event, the grace and the escalation).
rc=0
vfio-brokerctl release-lease 999 2>/tmp/err || rc=$?
[ "$rc" = 125 ] && grep -q 'no lease 999' /tmp/err || { cat /tmp/err; fail "release-lease 999: exit $rc"; }
as_admin vfio-brokerctl release-lease "$lease" || fail "release-lease $lease"
for _ in $(seq 250); do grep -q 'asked for the device back' /tmp/req.log && break; usleep 20000; done
cat /tmp/req.log
grep -q 'asked for the device back' /tmp/req.log || fail "the client was not asked (REQ eventfd)"
ms=$(wait_state 0000:00:03.0 free 3000)
echo "dbus: group free ${ms} ms after release-lease"
grep -q "recalled (an administrator asked for it over D-Bus): the client was told (and its REQ eventfd signalled)" \
	"$BROKER_LOG" || fail "no log of the administrator's recall"

# ReloadPolicy through vfio-brokerctl and through a plain D-Bus call; a broken drop-in is refused.
vfio-brokerctl reload || fail "reload"
busctl --system call org.vfiobroker1 /org/vfiobroker1 org.vfiobroker1.Manager ReloadPolicy || fail "ReloadPolicy"
mkdir -p /tmp/policy.d
printf '[Grant x]\nPool=nonesuch\nUser=root\n' >/tmp/policy.d/50-broken.conf
rc=0
as_admin vfio-brokerctl reload 2>/tmp/err || rc=$?
cat /tmp/err
[ "$rc" = 125 ] && grep -q '50-broken.conf:2' /tmp/err || fail "a broken reload: exit $rc"
rm /tmp/policy.d/50-broken.conf
[ "$(grep -c 'policy reloaded' "$BROKER_LOG")" = 2 ] || fail "not 2 reloads logged"

# ListDevices
busctl --system call org.vfiobroker1 /org/vfiobroker1 org.vfiobroker1.Manager ListDevices >/tmp/devices
grep -q '"0000:00:03.0" 4660 4584 "vfio-pci" [0-9]* "free"' /tmp/devices || { cat /tmp/devices; fail "ListDevices"; }

kill "$monitor"
cat /tmp/monitor.txt | grep -E 'Member=|STRING|UINT64' | head -20
grep -q 'Member=LeaseAcquired' /tmp/monitor.txt || fail "no LeaseAcquired signal"
grep -q 'Member=LeaseReleased' /tmp/monitor.txt || fail "no LeaseReleased signal"
grep -q 'client gone' /tmp/monitor.txt || fail "LeaseReleased does not say why"

# dbus-daemon goes away and comes back: clients are served meanwhile, and the
# admin API returns on its own (the broker connects again, 1 s then backing off).
kill "$dbus_pid"
wait "$dbus_pid" 2>/dev/null || true
for _ in $(seq 100); do grep -q 'D-Bus: connection lost' "$BROKER_LOG" && break; usleep 20000; done
grep -q 'D-Bus: connection lost' "$BROKER_LOG" || fail "the broker did not notice the bus going away"
as_alice vfio-brokerctl list >/dev/null || fail "alice not served without a bus"
rm -f /run/dbus/system_bus_socket
dbus-daemon --system --nofork --nopidfile >>/tmp/dbus.log 2>&1 &
dbus_pid=$!
for _ in $(seq 250); do busctl --system status org.vfiobroker1 >/dev/null 2>&1 && break; usleep 20000; done
vfio-brokerctl status >/tmp/status || fail "no admin API after dbus-daemon came back"
grep -q 'connected to the system bus again' "$BROKER_LOG" || fail "no reconnection logged"
echo "dbus: the admin API came back with the bus"
grep -q 'serving the admin API as org.vfiobroker1' "$BROKER_LOG" || fail "the broker did not say it serves the admin API"

# A second broker while the first has the name, as when an old broker's bus
# connection outlives it for a moment: the second waits in the name's queue,
# says so and not that it serves, and takes the admin API over once the
# first is gone.
vfio-brokerd --socket /tmp/second.sock --policy "$TEST_POLICY" --policy-dir /tmp/policy.d >/tmp/second.log 2>&1 &
second=$!
for _ in $(seq 250); do grep -q 'belongs to another connection' /tmp/second.log && break; usleep 20000; done
grep -q 'belongs to another connection' /tmp/second.log || { cat /tmp/second.log; fail "the second broker did not queue for the name"; }
grep -q 'serving the admin API' /tmp/second.log && { cat /tmp/second.log; fail "the second broker says it serves while the first has the name"; }
stop_broker
for _ in $(seq 250); do grep -q 'serving the admin API' /tmp/second.log && break; usleep 20000; done
grep -q 'serving the admin API' /tmp/second.log || { cat /tmp/second.log; fail "the second broker did not take the name over"; }
owner=$(busctl --system status org.vfiobroker1 | sed -n 's/^PID=//p')
[ "$owner" = "$second" ] || fail "org.vfiobroker1 belongs to pid '$owner', not to the second broker ($second)"
vfio-brokerctl status >/dev/null || fail "no admin API from the second broker"
echo "dbus: a second broker took the name over from the first"
kill "$second"
rc=0
wait "$second" || rc=$?
[ "$rc" = 0 ] || { cat /tmp/second.log; fail "the second broker exited $rc"; }
grep -qE 'Sanitizer|runtime error' /tmp/second.log && { cat /tmp/second.log; fail "sanitizer report from the second broker"; }

kill "$dbus_pid"
echo "dbus: passed"
