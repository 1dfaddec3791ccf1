# SPDX-License-Identifier: LGPL-2.1-or-later
# The bed is real: raw VFIO ioctls, edu DMA through the IOMMU, MSI on an eventfd.
raw-dma 0000:00:03.0
