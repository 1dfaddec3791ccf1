#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The systemd test bed's package scenario: a guest with none of the project
# installed gets the Debian packages (scripts/build-deb; mkimage --debs puts
# them in /usr/local/lib/vmtest/debs) with dpkg, as an admin would, and starts
# from that fresh install: no policy written, no group made, no unit enabled
# by hand.  Then a purge must leave no file behind.
set -eu
. /usr/local/lib/vmtest/lib.sh
debs=/usr/local/lib/vmtest/debs

# What is on the root filesystem but the package manager's own records, logs and caches.
files() {
	find / -xdev \( -path /proc -o -path /sys -o -path /dev -o -path /tmp -o -path /var/tmp -o -path /var/log \
		-o -path /var/lib/dpkg -o -path /var/lib/apt -o -path /var/cache -o -path /var/lib/systemd \
		-o -path /usr/local/lib/vmtest \) -prune -o -print | sort
}
files >/tmp/before

echo "package: installing $(cd $debs && echo *.deb)"
dpkg -i $debs/*.deb >/tmp/dpkg.log 2>&1 || { cat /tmp/dpkg.log; fail "dpkg -i"; }
for p in vfio-brokerd vfio-brokerctl libvfio-broker1 libvfio-broker-dev; do
	[ "$(dpkg-query -W -f '${db:Status-Status}' "$p")" = installed ] || fail "$p is not installed"
done

# What the postinst did: the admin group (sysusers.d), the socket enabled and listening;
# the service waits for its first client.
getent group vfio-broker-admin >/dev/null || fail "no vfio-broker-admin group after the install"
systemctl is-enabled --quiet vfio-brokerd.socket || fail "the socket unit is not enabled"
systemctl is-active --quiet vfio-brokerd.socket || fail "the socket unit is not active"
[ "$(systemctl is-active vfio-brokerd.service)" = inactive ] || fail "the service runs before any client"
# The CDI spec, made by the enabled vfio-broker-cdi.service: with a policy that grants nothing, the catch-all alone.
systemctl is-enabled --quiet vfio-broker-cdi.service && systemctl is-active --quiet vfio-broker-cdi.service ||
	fail "vfio-broker-cdi.service is not enabled and active"
grep -q '"name": "all"' /run/cdi/vfio-broker.json || { cat /run/cdi/vfio-broker.json; fail "no CDI spec in /run/cdi"; }
documentation_resolves
vfio-brokerctl policy check >/tmp/check.log || { cat /tmp/check.log; fail "the shipped policy fails policy check"; }
grep -q "^policy ok: 0 pool(s), 0 grant(s)" /tmp/check.log || { cat /tmp/check.log; fail "the shipped policy grants"; }

# D-Bus activation: the first admin call starts the service.
vfio-brokerctl status >/tmp/status.log 2>&1 || { cat /tmp/status.log; fail "status (D-Bus activation)"; }
[ "$(systemctl is-active vfio-brokerd.service)" = active ] || fail "the admin call did not start the service"
echo "package: the admin API started the broker ($(head -n 1 /tmp/status.log))"

# Socket activation: stopped, the service comes back for alice's first connection.
systemctl stop vfio-brokerd.service
as_alice vfio-brokerctl list >/tmp/list.log 2>&1 || { cat /tmp/list.log; fail "alice's list (socket activation)"; }
[ "$(systemctl is-active vfio-brokerd.service)" = active ] || fail "alice's connection did not start the service"
grep -q "^$BDF" /tmp/list.log || { cat /tmp/list.log; fail "alice's list shows no $BDF"; }
echo "package: alice's connection started the broker"

# The shipped policy grants nothing: alice is refused, and told why.
if as_alice client-dma "$BDF" >/tmp/refused.log 2>&1; then
	fail "the shipped policy let alice lease $BDF"
fi
grep -q "no grant" /tmp/refused.log || { cat /tmp/refused.log; fail "alice's refusal does not say why"; }
echo "package: the shipped policy refused alice: $(grep -m1 'no grant' /tmp/refused.log)"

# A grant in policy.d, a reload, and alice's DMA round trip.
cat >/etc/vfio-broker/policy.d/50-test.conf <<'EOT'
[Broker]
ResetRequired=no

[Pool edu]
VendorDevice=1234:11e8

[Grant tenants]
Pool=edu
User=alice
EOT
systemctl reload vfio-brokerd.service
as_alice client-dma "$BDF" || fail "alice's DMA round trip after the grant"
echo "package: alice's DMA lease under the packaged broker"

# Purge: the admin's own file first (dpkg leaves what it did not ship), then the packages.
rm /etc/vfio-broker/policy.d/50-test.conf
apt-get purge -y -q vfio-brokerd vfio-brokerctl libvfio-broker1 libvfio-broker-dev >/tmp/purge.log 2>&1 ||
	{ cat /tmp/purge.log; fail "apt-get purge"; }
for d in /run/vfio-broker /run/vfio-brokerd /run/cdi/vfio-broker.json; do
	[ ! -e $d ] || { ls -la $d; fail "$d is left after the purge"; }
done
systemctl is-active --quiet vfio-brokerd.service && fail "the service still runs after the purge"
# Left alone on purpose: the system group (Debian never removes one; /etc/group itself is not a new file).
files >/tmp/after
if ! diff -u /tmp/before /tmp/after >/tmp/left.diff; then
	cat /tmp/left.diff
	fail "the purge left files behind (or removed some)"
fi
echo "package: the purge left no file behind"
