#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The systemd test bed's container scenario: Debian's podman (crun) runs containers that get
# an edu device through the broker's CDI spec (vfio-broker-cdi.service, /run/cdi) alone: the
# socket's directory mounted, no /dev/vfio, no capability more than a container without it.
# Nothing is pulled: the containers' root is built here from the installed binaries.
#   - rootful, in a slice a Cgroup= grant names: the DMA round trip with MSI, lease released
#     when the container stops; the same uid (root) in another cgroup is refused;
#   - rootless: alice's container does the round trip (the broker sees uid 1000), bob's is
#     refused and says so;
#   - podman kill of a container holding a lease frees the group.
set -eu
. /usr/local/lib/vmtest/lib.sh
started=$(date +%s)
echo "containers: $(podman --version), $(crun --version | head -n 1)"

# The spec, made at boot by the unit, names the device and the catch-all.
spec=/run/cdi/vfio-broker.json
systemctl is-active --quiet vfio-broker-cdi.service || fail "vfio-broker-cdi.service is not active"
grep -q "\"name\": \"$BDF\"" $spec && grep -q '"name": "all"' $spec || { cat $spec; fail "the spec lacks $BDF or all"; }
grep -q '"ro"' $spec && grep -q '"hostPath": "/run/vfio-broker"' $spec || { cat $spec; fail "the spec's mount"; }
echo "containers: $spec names $(grep -c '"name"' $spec) CDI devices"

# The root of every container: a shell, a few tools, client-dma and vfio-brokerctl, with their libraries.
root=/var/lib/vmtest/container-root
mkdir -p "$root"
for p in /bin/sh /bin/cat /bin/cut /bin/grep /bin/ls /bin/sleep /usr/bin/env /usr/local/bin/client-dma /usr/bin/vfio-brokerctl; do
	cp --parents -L "$p" "$root"
	for l in $(ldd "$p" | grep -o '/[^ ]*'); do cp --parents -nL "$l" "$root"; done
done
mkdir -p "$root/proc" "$root/sys" "$root/dev" "$root/tmp" "$root/run" "$root/etc"
chmod -R a+rX "$root"
# vfs: no overlay on the bed's ext4 image; with --rootfs no image is stored anyway.
printf '[storage]\ndriver = "vfs"\nrunroot = "/run/containers/storage"\ngraphroot = "/var/lib/containers/storage"\n' \
	>/etc/containers/storage.conf

# Rootful containers run as uid 0: only a grant by the containers' cgroup lets them lease.
cat >/etc/vfio-broker/policy.d/containers.conf <<'EOT'
[Grant tenant-containers]
Pool=edu
Cgroup=/vfiotenant.slice/*
EOT
systemctl reload vfio-brokerd.service 2>/dev/null || :
vfio-brokerctl policy explain --uid 0 --cgroup /vfiotenant.slice/libpod-1.scope "$BDF" | grep -q 'grant "tenant-containers"' ||
	fail "policy explain does not show the cgroup grant"

podman_run() { # [PODMAN ARGS...] -- COMMAND...: a container on our root, no network
	local args=()
	while [ "$1" != -- ]; do args+=("$1"); shift; done
	shift
	podman run --rm --network none --rootfs "${args[@]}" "$root" "$@"
}
inside='echo "CapEff $(grep ^CapEff /proc/self/status | cut -f2)"; ls -d /dev/vfio 2>/dev/null && echo HAS-DEV-VFIO
echo "socket $VFIO_BROKER_SOCKET"; grep " /run/vfio-broker " /proc/self/mounts; ls /run/vfio-broker 2>/dev/null; :'

# The reference: a container with no CDI device.
ref=$(podman_run -- /bin/sh -c "$inside") || fail "a plain container: $ref"
echo "containers: a plain container: $(echo $ref)"
grep -Eq '^CapEff [0-9a-f]{16}$' <<<"$ref" || fail "no CapEff in the plain container: $ref"

# Rootful, in the granted slice: the round trip, and the device free once it stops.
t=$(date +%s)
out=$(podman_run --cgroup-parent=vfiotenant.slice --device "vfiobroker.org/vfio=$BDF" -- /bin/sh -c \
	"$inside; client-dma; grep 0::/ /proc/self/cgroup" 2>&1) || { echo "$out"; fail "the rootful container"; }
echo "$out"
grep -q "$BDF: DMA round trip through the broker's lease passed" <<<"$out" || fail "no DMA round trip in the rootful container"
grep -q "CapEff $(sed -n 's/^CapEff //p' <<<"$ref")" <<<"$out" || fail "the container has other capabilities than a plain one"
grep -q HAS-DEV-VFIO <<<"$out" && fail "the container has /dev/vfio"
grep -q '^socket /run/vfio-broker/broker.sock' <<<"$out" || fail "VFIO_BROKER_SOCKET is not set"
grep -Eq ' /run/vfio-broker [a-z0-9]+ ro,nosuid,nodev,noexec' <<<"$out" || fail "the socket's directory is not mounted ro,nosuid,nodev,noexec"
[ "$(state_of "$BDF")" = free ] || fail "$BDF is $(state_of "$BDF") after the container stopped"
echo "containers: rootful in vfiotenant.slice: DMA round trip, $BDF free again ($(($(date +%s) - t)) s)"

# The same uid in podman's default cgroup (machine.slice): refused, and told why.
if out=$(podman_run --device "vfiobroker.org/vfio=$BDF" -- /usr/local/bin/client-dma 2>&1); then
	echo "$out"; fail "a rootful container outside the granted slice leased $BDF"
fi
grep -q 'no grant names uid 0 (gid 0, cgroup /machine.slice/' <<<"$out" || { echo "$out"; fail "the refusal does not name the cgroup"; }
echo "containers: the same uid in machine.slice refused: $(grep -o 'no grant names.*' <<<"$out" | head -n 1)"

# podman kill of a container holding a lease: the group comes back.
podman run -d --name holder --network none --cgroup-parent=vfiotenant.slice --device "vfiobroker.org/vfio=$BDF" \
	--rootfs "$root" /usr/local/bin/client-dma --hold >/dev/null || fail "the holding container"
wait_state "$BDF" leased 300 "the holding container did not lease it"
t=$(date +%s%N)
podman kill holder >/dev/null
wait_state "$BDF" free 100 "podman kill did not free the group"
echo "containers: podman kill freed $BDF in $((($(date +%s%N) - t) / 1000000)) ms"
podman rm -f holder >/dev/null 2>&1 || :

# Rootless: alice (granted by User=) and bob (not granted), each with a user namespace of subordinate ids.
for u in alice:1000:100000 bob:1001:200000; do
	IFS=: read -r name id sub <<<"$u"
	echo "$name:$sub:65536" >>/etc/subuid
	echo "$name:$sub:65536" >>/etc/subgid
	mkdir -p "/home/$name" "/run/user/$id"
	chown "$id:$id" "/home/$name" "/run/user/$id"
	chmod 700 "/run/user/$id"
done
rootless() { # UID COMMAND...
	local id=$1 name
	shift
	name=$(getent passwd "$id" | cut -d: -f1)
	runas "$id" "$id" env HOME="/home/$name" XDG_RUNTIME_DIR="/run/user/$id" USER="$name" \
		podman --cgroup-manager=cgroupfs run --rm --network none --rootfs "$@"
}
t=$(date +%s)
cursor=$(journalctl -n 0 --show-cursor | sed -n 's/^-- cursor: //p')
out=$(rootless 1000 --device "vfiobroker.org/vfio=$BDF" "$root" /bin/sh -c "$inside; client-dma" 2>&1) ||
	{ echo "$out"; fail "alice's rootless container"; }
echo "$out"
# Root in the container; the broker sees the host uid.
grep -q "client-dma: uid 0," <<<"$out" || fail "client-dma in alice's container is not uid 0 there"
journalctl --no-pager -u vfio-brokerd.service --after-cursor "$cursor" | grep -E "GRANT lease [0-9]+: $BDF .* to uid 1000 " ||
	fail "the broker did not log alice's host uid for the container's lease"
grep -q "$BDF: DMA round trip through the broker's lease passed" <<<"$out" || fail "no DMA round trip in alice's container"
grep -q HAS-DEV-VFIO <<<"$out" && fail "alice's container has /dev/vfio"
[ "$(state_of "$BDF")" = free ] || fail "$BDF is $(state_of "$BDF") after alice's container"
echo "containers: alice's rootless container: DMA round trip ($(($(date +%s) - t)) s)"
if out=$(rootless 1001 --device "vfiobroker.org/vfio=$BDF" "$root" /usr/local/bin/client-dma 2>&1); then
	echo "$out"; fail "bob's rootless container leased $BDF"
fi
grep -q 'no grant names uid 1001' <<<"$out" || { echo "$out"; fail "bob's container does not show the refusal"; }
echo "containers: bob's rootless container refused: $(grep -o 'no grant names.*' <<<"$out" | head -n 1)"

echo "containers: passed in $(($(date +%s) - started)) s"
