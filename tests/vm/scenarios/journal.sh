# SPDX-License-Identifier: LGPL-2.1-or-later
# The audit trail: grant, deny, refuse, release, quarantine and reset as structured
# journal records with their MESSAGE_IDs and fields, sent with journald's
# native protocol (read here by a stand-in for journald's socket).
. /tests/lib.sh
GRANT=0b28f17e8455441fbfe08fdabf0cd487
DENY=d6b5c09f88a04524b00222931e2c5e42
RELEASE=7d84da23683c41e28386001d994f2896
QUARANTINE=1e3a2acff8de4ef8b70b0f7b19044a51
RESET=0a6e2f8a36e74596968eb099eeff093f
REFUSE=2d3594be02d145458b7ea56127067741

mkdir -p /run/systemd/journal
journal-capture /run/systemd/journal/socket /tmp/journal.txt &
capture=$!
for _ in $(seq 100); do [ -S /run/systemd/journal/socket ] && break; usleep 20000; done
[ -S /run/systemd/journal/socket ] || fail "journal-capture did not come up"

start_broker --log-target journal
as_alice client-dma 0000:00:03.0 >/dev/null || fail "client-dma"
as_dave() { runas 1003 1003 "$@"; }
refused as_dave 0000:00:03.0 'no grant names uid 1003'
as_alice client-dma --fork-child 0000:00:04.0 >/tmp/fork.log 2>&1 || { cat /tmp/fork.log; fail "client-dma --fork-child"; }
child=$(sed -n 's/^client-dma: child \([0-9]*\) keeps.*/\1/p' /tmp/fork.log)
wait_state 0000:00:04.0 quarantined 2000 >/dev/null
refused as_bob 0000:00:04.0 'quarantined'
kill -9 "$child"
wait_state 0000:00:04.0 free 3000 >/dev/null
# Refusals that are not the policy's are audited too; an acquire that fails half-way releases nothing it never granted.
refused as_alice 0000:02:01.0 'not viable'
exec 3<>"/dev/vfio/$(basename "$(readlink /sys/bus/pci/devices/0000:00:03.0/iommu_group)")"
refused as_alice 0000:00:03.0 'held open outside the broker'
exec 3>&-
stop_broker
kill "$capture"
group4=$(basename "$(readlink /sys/bus/pci/devices/0000:00:04.0/iommu_group)")

# record ID FIELD=VALUE...: one record of the capture has MESSAGE_ID=ID and every field given.
record() {
	id=$1
	shift
	want=$(IFS='|'; echo "$*")
	awk -v id="MESSAGE_ID=$id" -v want="$want" '
		BEGIN { n = split(want, w, "|") }
		$0 == "----" {
			if (rec[id]) { ok = 1; for (i = 1; i <= n; i++) if (!rec[w[i]]) ok = 0; if (ok) found = 1 }
			delete rec; next
		}
		{ rec[$0] = 1 }
		END { exit found ? 0 : 1 }' /tmp/journal.txt || {
		cat /tmp/journal.txt >&2
		fail "no record $id with $*"
	}
	echo "journal: $id has $*"
}
record $GRANT PRIORITY=6 SYSLOG_IDENTIFIER=vfio-brokerd VFIO_BROKER_LEASE=1 VFIO_BROKER_UID=1000 \
	VFIO_BROKER_DEVICE=0000:00:03.0 VFIO_BROKER_GRANT=testers VFIO_BROKER_CLIENT=client-dma
record $RELEASE VFIO_BROKER_LEASE=1 VFIO_BROKER_UID=1000 "VFIO_BROKER_RESULT=released by the client"
record $RESET VFIO_BROKER_LEASE=1 "VFIO_BROKER_RESULT=0/1 reset"
record $DENY PRIORITY=5 VFIO_BROKER_UID=1003
record $QUARANTINE PRIORITY=5 VFIO_BROKER_LEASE=2 VFIO_BROKER_GROUP=$group4
record $RESET VFIO_BROKER_LEASE=2 VFIO_BROKER_GROUP=$group4
record $RELEASE VFIO_BROKER_LEASE=2 "VFIO_BROKER_RESULT=client gone"
record $REFUSE PRIORITY=5 VFIO_BROKER_UID=1001 VFIO_BROKER_RESULT=quarantined
record $REFUSE PRIORITY=5 VFIO_BROKER_UID=1000 VFIO_BROKER_RESULT=not-viable
record $REFUSE PRIORITY=5 VFIO_BROKER_UID=1000 VFIO_BROKER_RESULT=busy
if grep -q 'VFIO_BROKER_RESULT=acquire failed' /tmp/journal.txt; then
	cat /tmp/journal.txt >&2
	fail "a RELEASE record for a lease that was never granted"
fi
# Everything went to the journal, nothing to stderr.
[ ! -s "$BROKER_LOG" ] || { cat "$BROKER_LOG"; fail "records on stderr in journal mode"; }

# No journald (its socket gone): the records are not lost, they go to stderr, with a warning once.
wait "$capture" 2>/dev/null || : # killed above
rm -f /run/systemd/journal/socket
start_broker --log-target journal
as_alice client-dma 0000:00:03.0 >/dev/null || fail "client-dma without a journal"
stop_broker
cat "$BROKER_LOG"
[ "$(grep -c 'the journal is not there (no /run/systemd/journal/socket): records go to stderr' "$BROKER_LOG")" = 1 ] ||
	fail "no single warning that the journal is missing"
grep -q 'GRANT lease [0-9]*: 0000:00:03.0' "$BROKER_LOG" || fail "the GRANT record was lost without a journal"
echo "journal: passed"
