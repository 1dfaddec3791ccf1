/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The policy's word for a connection: the adapter between the model and policy_decide(). */

#include "broker/connection.h"
#include "common/sysfs.h"

/* The grant that lets @c lease @d with @irq_mask (POLICY_IRQ_*) in @mode, or NULL and why. */
const Grant *authorize_device(Connection *c, const PciDevice *d, unsigned irq_mask, KernelMode mode, char *why,
                              size_t size);

/* Whether a Managed=yes pool holds @d (then the broker may move its group to vfio-pci for a lease). */
bool authorize_may_manage(Broker *b, const PciDevice *d);
/* Whether @d leased by @g is managed. */
bool authorize_managed(Connection *c, const Grant *g, const PciDevice *d);
