# SPDX-License-Identifier: LGPL-2.1-or-later
# The benchmark, run in the test bed's guest by bench/run.  Full or smoke
# mode comes on the kernel command line (vmtest.bench=full|smoke), and the
# sections to run with vmtest.bench_only=fds,acquire,resets,scale,concurrent,vmm
# (default: all; vmm only where QEMU is, the guest of the kernel with iommufd); every figure goes to the console as the BENCH* lines of
# bench/stats.h, and bench/run makes the table and the plot of them.
. /tests/lib.sh

mode=$(sed -n 's/.*vmtest\.bench=\([a-z]*\).*/\1/p' /proc/cmdline)
case "$mode" in
full) fetches=100000 dbus_calls=20000 acquires=1000 scale_fetches=20000 scales="1000 10000" resets=3000 cycles=300 ;;
*) fetches=2000 dbus_calls=1000 acquires=30 scale_fetches=1000 scales="100 1000" resets=200 cycles=20 ;;
esac
only=$(sed -n 's/.*vmtest\.bench_only=\([a-z,]*\).*/\1/p' /proc/cmdline)
section() { [ -z "$only" ] || case ",$only," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }
bdf=0000:00:04.0
echo "BENCHINFO mode=$mode kernel=$(uname -r) cpus=$(grep -c ^processor /proc/cpuinfo)"

# 1. and 2. 4 fds back: the physical limit (a raw SEQPACKET echo), the broker
# (FetchLease on an INTx lease), a D-Bus method through a private dbus-daemon
if section fds; then
start_broker
cat >/tmp/bench-bus.conf <<'CONF'
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=/tmp/bench-bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
    <allow own="*"/>
  </policy>
</busconfig>
CONF
dbus-daemon --config-file=/tmp/bench-bus.conf --nofork --nopidfile >/tmp/dbus.log 2>&1 &
dbus_pid=$!
for _ in $(seq 100); do [ -S /tmp/bench-bus ] && break; usleep 20000; done
[ -S /tmp/bench-bus ] || { cat /tmp/dbus.log; fail "dbus-daemon did not come up"; }
as_alice fds-latency "$fetches" "$dbus_calls" "$bdf" unix:path=/tmp/bench-bus || { cat /tmp/dbus.log; fail "fds-latency"; }
kill "$dbus_pid"
stop_broker
fi

# 3. acquire + release: the same ioctls done directly by root, and through the broker
if section acquire; then
start_broker
acquire-latency "$acquires" "$bdf" || fail "acquire-latency"
stop_broker
fi

# 5. beside resets: a client's FetchLease while another tenant acquires and releases, each release
# resetting (off the loop): the bridge group's two edu by a bus reset, the virtio-rng by its FLR
if section resets; then
to_vfio_pci 0000:03:00.0 virtio-pci
cat >/tmp/bench-reset.conf <<'POLICY'
[Broker]
ResetRequired=no

[Pool resettable]
VendorDevice=1234:11e8 1af4:1044

[Grant bench]
Pool=resettable
User=root
POLICY
POLICY=/tmp/bench-reset.conf start_broker
reset-beside "$resets" "$bdf" bus 0000:01:01.0 0000:01:02.0 || fail "reset-beside bus"
reset-beside "$resets" "$bdf" flr 0000:03:00.0 || fail "reset-beside flr"
# the baseline: the same FLR with no broker in it (root writes its sysfs reset file): what the guest's
# one vCPU spends on a reset, which every process beside it feels
reset-beside "$resets" "$bdf" sysfs-flr sysfs:0000:03:00.0 || fail "reset-beside sysfs-flr"
# and the bus reset's: root does the kernel's part of such a release itself (VFIO_DEVICE_PCI_HOT_RESET)
reset-beside "$resets" "$bdf" vfio-bus vfio:0000:01:01.0 0000:01:02.0 || fail "reset-beside vfio-bus"
# context: a tenant whose device has no reset (an edu of the root bus): the broker's own part of
# acquire + release, which its loop does for the tenant whatever the device
reset-beside "$resets" "$bdf" none 0000:00:03.0 || fail "reset-beside none"
stop_broker
fi

# 4. scale: a fresh broker for each count, its limits raised to fit
if section scale; then
ulimit -n 65536
for n in $scales; do
	start_broker --max-connections-per-uid $((n + 16)) --max-fds-in-flight 4096
	idle-clients "$BROKER_PID" "$n" "$scale_fetches" "$bdf" || fail "idle-clients $n"
	stop_broker
done
fi

# 6. concurrency: acquire + release with 1, 2 and 4 clients at once, each on a group of its own.
# The kernel's: the two edu devices on the root bus (a group each, no reset).  The broker's own
# work: four functions of a generated sysfs tree on the fake backend.
if section concurrent; then
start_broker
acquire-concurrent "$cycles" "$BROKER_PID" 0000:00:03.0 0000:00:04.0 >/tmp/conc || fail "acquire-concurrent (kernel)"
sed 's/^BENCHCONC /BENCHCONC kind=kernel /' /tmp/conc
stop_broker
for i in 1 2 3 4; do
	d=/tmp/conc-sys/devices/pci0000:00/0000:10:00.$i
	mkdir -p "$d" /tmp/conc-sys/bus/pci/devices /tmp/conc-sys/bus/pci/drivers/vfio-pci \
		"/tmp/conc-sys/kernel/iommu_groups/$((20 + i))/devices"
	printf 'DRIVER=vfio-pci\nPCI_CLASS=20000\nPCI_ID=8086:10ED\nPCI_SUBSYS_ID=8086:0000\nPCI_SLOT_NAME=0000:10:00.%s\n' "$i" >"$d/uevent"
	ln -s "$d" "/tmp/conc-sys/bus/pci/devices/0000:10:00.$i"
	ln -s /tmp/conc-sys/bus/pci/drivers/vfio-pci "$d/driver"
	ln -s "$d" "/tmp/conc-sys/kernel/iommu_groups/$((20 + i))/devices/0000:10:00.$i"
	ln -s "/tmp/conc-sys/kernel/iommu_groups/$((20 + i))" "$d/iommu_group"
done
printf '[Pool vfs]\nVendorDevice=8086:10ed\n[Grant root]\nPool=vfs\nUser=root\n' >/tmp/bench-conc.conf
POLICY=/tmp/bench-conc.conf start_broker --backend fake --sysfs /tmp/conc-sys
acquire-concurrent "$cycles" "$BROKER_PID" 0000:10:00.1 0000:10:00.2 0000:10:00.3 0000:10:00.4 >/tmp/conc ||
	fail "acquire-concurrent (fake)"
sed 's/^BENCHCONC /BENCHCONC kind=fake /' /tmp/conc
stop_broker
fi
# 7. a VM launcher's view (in the guest of the kernel with iommufd, which has QEMU 10: bench/run runs
# this section there): from "the launcher asks" to "QEMU has realized the vfio-pci device", each
# sample a whole QEMU (-S: no guest code runs; QMP quit once it is up) with the device, three ways
# taking turns: root's QEMU opening the group itself (legacy), root's QEMU opening /dev/iommu and
# the cdev itself, and alice's through vfio-brokerctl run --vmm (the broker's acquire, its fds
# passed to QEMU, the release after).  Then acquire + release alone in each mode, side by side.
if section vmm && command -v qemu-system-x86_64 >/dev/null; then
cat >/tmp/bench-vmm.conf <<'POLICY'
[Broker]
ResetRequired=no

[Pool edu]
VendorDevice=1234:11e8

[Grant vms]
Pool=edu
User=root alice
MemlockLimit=256M
POLICY
POLICY=/tmp/bench-vmm.conf start_broker
head -c 65536 /dev/zero | tr '\0' '\364' >/tmp/hlt.bin
chmod 644 /tmp/hlt.bin
vbdf=0000:00:04.0
qemu="qemu-system-x86_64 -machine q35 -accel tcg -m 64 -bios /tmp/hlt.bin -display none -nodefaults -no-user-config -S -qmp stdio"
qmp='{"execute":"qmp_capabilities"}\n{"execute":"quit"}\n'
case "$mode" in full) vmm_runs=30 vmm_cycles=200 ;; *) vmm_runs=3 vmm_cycles=10 ;; esac
for _ in $(seq "$vmm_runs"); do
	time-run --up return qemu-legacy-root sh -c "printf '$qmp' | exec $qemu -device vfio-pci,host=$vbdf" ||
		fail "root's QEMU with the device (legacy)"
	time-run --up return qemu-iommufd-root sh -c "printf '$qmp' | exec $qemu -object iommufd,id=iommufd0 \
		-device vfio-pci,host=$vbdf,iommufd=iommufd0" || fail "root's QEMU with the device (iommufd)"
	as_alice time-run --up return qemu-broker-vmm vfio-brokerctl run --vmm "$vbdf" -- \
		sh -c "printf '$qmp' | exec $qemu \$VFIO_BROKER_QEMU_ARGS" || fail "alice's QEMU on the broker's fds"
done
for _ in $(seq "$vmm_cycles"); do
	time-run run-legacy vfio-brokerctl run "$vbdf" -- true || fail "run (legacy)"
	time-run run-iommufd vfio-brokerctl run --iommufd "$vbdf" -- true || fail "run --iommufd"
	time-run run-vmm vfio-brokerctl run --vmm "$vbdf" -- true || fail "run --vmm"
done
stop_broker
fi
echo "BENCHDONE"
