# scripts/demo: a DMA round trip with the first edu device.
echo "demo: edu device 0000:00:03.0 is bound to $(basename "$(readlink /sys/bus/pci/devices/0000:00:03.0/driver)")"
raw-dma 0000:00:03.0
