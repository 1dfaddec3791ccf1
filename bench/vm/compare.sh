# SPDX-License-Identifier: LGPL-2.1-or-later
# bench/compare's scenario: two builds of the broker side by side on one
# device, each on a socket of its own, called in turn by acquire-latency
# --compare (vmtest.compare=ITERATIONS on the kernel command line).
# vfio-brokerd-base is the build compared against, vfio-brokerd this one.
. /tests/lib.sh

iterations=$(sed -n 's/.*vmtest\.compare=\([0-9]*\).*/\1/p' /proc/cmdline)
bdf=0000:00:04.0
echo "BENCHINFO mode=compare kernel=$(uname -r) cpus=$(grep -c ^processor /proc/cpuinfo)"

vfio-brokerd-base --socket /tmp/base.sock --policy "$TEST_POLICY" --policy-dir /tmp/policy.d >/tmp/base.log 2>&1 &
base=$!
vfio-brokerd --socket /tmp/this.sock --policy "$TEST_POLICY" --policy-dir /tmp/policy.d >"$BROKER_LOG" 2>&1 &
this=$!
for _ in $(seq 100); do
	[ -S /tmp/base.sock ] && [ -S /tmp/this.sock ] && break
	usleep 20000
done
[ -S /tmp/base.sock ] && [ -S /tmp/this.sock ] || { cat /tmp/base.log "$BROKER_LOG"; fail "the brokers did not come up"; }
acquire-latency --compare "$iterations" "$bdf" /tmp/base.sock "$base" /tmp/this.sock "$this" ||
	{ cat /tmp/base.log "$BROKER_LOG"; fail "acquire-latency --compare"; }
kill "$base" "$this"
wait "$base" || fail "vfio-brokerd-base exited $?"
wait "$this" || fail "vfio-brokerd exited $?"
echo "BENCHDONE"
