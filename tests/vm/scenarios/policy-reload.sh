# SPDX-License-Identifier: LGPL-2.1-or-later
# Cgroup grants; a broken policy at start and on reload; a reload that removes a
# grant leaves existing leases alone and refuses new ones.
. /tests/lib.sh
[ -f /sys/fs/cgroup/cgroup.procs ] || fail "no cgroup2 hierarchy"
mkdir -p /sys/fs/cgroup/machine.slice/ctr1
in_container() { sh -c 'echo $$ >/sys/fs/cgroup/machine.slice/ctr1/cgroup.procs && exec "$@"' sh "$@"; }

cat >/tmp/reload.conf <<'POLICY'
[Pool containers]
Device=0000:01:01.0 0000:01:02.0

[Pool alice]
Device=0000:00:03.0 0000:00:04.0

[Grant containers]
Pool=containers
Cgroup=/machine.slice/*

[Grant alice]
Pool=alice
User=alice
POLICY

# A broken file: the daemon refuses to start, naming FILE:LINE.
printf '[Grant x]\nPool=alice\nUser=alice\nColour=blue\n' >/tmp/broken.conf
rc=0
vfio-brokerctl policy check /tmp/reload.conf /tmp/broken.conf 2>/tmp/err || rc=$?
cat /tmp/err
[ "$rc" = 1 ] && grep -q '^/tmp/broken.conf:4: unknown key Colour' /tmp/err || fail "policy check of a broken file"
rc=0
vfio-brokerd --policy /tmp/broken.conf --socket /tmp/other.sock >/tmp/start.log 2>&1 || rc=$?
cat /tmp/start.log
[ "$rc" != 0 ] && grep -q '/tmp/broken.conf:4' /tmp/start.log || fail "the daemon started with a broken policy"

POLICY=/tmp/reload.conf start_broker
# Cgroup grant: bob inside /machine.slice/ctr1 gets a device, bob outside does not.
refused as_bob 0000:01:01.0 'no grant names uid 1001 \(gid 1001, cgroup (/|unverified),'
if pins_peers; then
	in_container runas 1001 1001 client-dma 0000:01:01.0 || fail "bob in the container's cgroup"
	grep -q 'GRANT .*0000:01:01.0 .*cgroup /machine.slice/ctr1 .*by grant "containers"' "$BROKER_LOG" ||
		fail "the cgroup grant is not logged"
else # no SO_PEERPIDFD: a cgroup read through a pid is not trusted (scenario identity)
	refused in_container 0000:01:01.0 'cgroup unverified'
fi

# A broken drop-in on reload: logged, and the old policy stays in force.
mkdir -p /tmp/policy.d
printf '[Pool broken]\nDevice=nonsense\n' >/tmp/policy.d/50-broken.conf
kill -HUP "$BROKER_PID"
for _ in $(seq 100); do grep -q 'reload failed' "$BROKER_LOG" && break; usleep 20000; done
grep -q 'reload failed, the policy in force stays: /tmp/policy.d/50-broken.conf:2: Device=nonsense' "$BROKER_LOG" ||
	fail "the broken reload is not logged with FILE:LINE"
as_alice client-dma 0000:00:03.0 >/dev/null || fail "the old policy is not in force after a broken reload"
rm /tmp/policy.d/50-broken.conf

# A reload that removes alice's grant: her lease stays, new ones are refused.
hold 0000:00:03.0
sed -i '/^\[Grant alice\]/,$d' /tmp/reload.conf
kill -HUP "$BROKER_PID"
for _ in $(seq 100); do grep -q 'policy reloaded' "$BROKER_LOG" && break; usleep 20000; done
grep -q 'policy reloaded' "$BROKER_LOG" || fail "no reload"
[ "$(state 0000:00:03.0)" = leased ] || fail "the reload ended alice's lease"
kill -0 "$HOLDER" || fail "alice's client died"
refused as_alice 0000:00:04.0 'no grant names uid 1000'
kill "$HOLDER"
wait_state 0000:00:03.0 free 2000 >/dev/null
stop_broker
echo "policy-reload: passed"
