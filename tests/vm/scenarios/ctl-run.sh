# vfio-brokerctl run: fds described in VFIO_BROKER_FDS, exit status, errors; list and info.
. /tests/lib.sh
start_broker
vfio-brokerctl list
vfio-brokerctl list --json | grep -q '"bdf": "0000:00:04.0"' || fail "list --json lacks 0000:00:04.0"
vfio-brokerctl info 0000:00:04.0 | tee /tmp/info
grep -q 'region 0: size 0x100000' /tmp/info || fail "info does not show the edu's 1 MiB BAR0"

as_alice vfio-brokerctl run --irq 0000:00:04.0:msi:1 0000:00:04.0 -- fds-dma 0000:00:04.0 ||
	fail "fds-dma under vfio-brokerctl run"
[ "$(state 0000:00:04.0)" = free ] || fail "0000:00:04.0 not free after run"

rc=0
as_alice vfio-brokerctl run 00:04.0 -- sh -c 'exit 7' || rc=$?
[ "$rc" = 7 ] || fail "run exited $rc, not COMMAND's 7"

refused as_alice 0000:02:02.0 'bound to e1000e'

rc=0
as_alice vfio-brokerctl run --irq 0000:00:04.0:bogus 0000:00:04.0 -- true 2>/dev/null || rc=$?
[ "$rc" = 1 ] || fail "a bad --irq exited $rc, not 1"
stop_broker
echo "ctl-run: passed"
