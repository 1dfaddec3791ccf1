/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "broker/authorize.h"

static PolicyIdentity identity_of(const Connection *c) {
        return (PolicyIdentity) {
                .uid = c->uid,
                .gid = c->gid,
                .groups = c->groups,
                .n_groups = c->n_groups,
                .cgroup = c->pinned ? c->cgroup : NULL, /* a stranger's, for all we know */
                .label = c->label,
        };
}

static PolicyDevice policy_device_of(const PciDevice *d) {
        return (PolicyDevice) {
                .bdf = d->bdf,
                .vendor = (uint16_t) d->vendor,
                .device = (uint16_t) d->device,
                .class_code = d->class_code,
                .iommu_group = d->iommu_group,
        };
}

const Grant *authorize_device(Connection *c, const PciDevice *d, unsigned irq_mask, KernelMode mode, char *why,
                              size_t size) {
        PolicyIdentity id = identity_of(c);
        PolicyDevice pd = policy_device_of(d);

        return policy_decide(&c->broker->policy, &id, &pd, irq_mask,
                             mode == KERNEL_MODE_LEGACY ? POLICY_BACKEND_LEGACY : POLICY_BACKEND_IOMMUFD, why, size);
}

bool authorize_may_manage(Broker *b, const PciDevice *d) {
        PolicyDevice pd = policy_device_of(d);
        const Policy *p = &b->policy;

        if (!b->managed)
                return false;
        for (size_t i = 0; i < p->n_pools; i++)
                if (p->pools[i].managed && pool_contains(&p->pools[i], &pd))
                        return true;
        return false;
}

bool authorize_managed(Connection *c, const Grant *g, const PciDevice *d) {
        PolicyDevice pd = policy_device_of(d);

        return c->broker->managed && policy_device_managed(&c->broker->policy, g, &pd);
}
