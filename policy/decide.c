/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The policy's decisions, on a policy policy.c parsed and finished: which
 * pools hold a device, which grants name a client, the first grant that
 * allows a request.
 */
#include "policy/policy.h"

#include <fnmatch.h>
#include <stdio.h>
#include <string.h>

bool pool_contains(const Pool *pool, const PolicyDevice *d) {
        for (size_t i = 0; i < pool->n_devices; i++)
                if (strcmp(pool->devices[i], d->bdf) == 0)
                        return true;
        for (size_t i = 0; i < pool->n_ids; i++)
                if (pool->ids[i].vendor == d->vendor && (pool->ids[i].device < 0 || pool->ids[i].device == d->device))
                        return true;
        for (size_t i = 0; i < pool->n_classes; i++)
                if ((d->class_code >> (4 * (6 - pool->classes[i].digits))) == pool->classes[i].value)
                        return true;
        for (size_t i = 0; i < pool->n_groups; i++)
                if (pool->groups[i] == d->iommu_group)
                        return true;
        return false;
}

static bool any_glob(char *const *patterns, size_t n, const char *s) {
        for (size_t i = 0; i < n; i++)
                if (fnmatch(patterns[i], s, 0) == 0)
                        return true;
        return false;
}

bool grant_matches_identity(const Grant *g, const PolicyIdentity *id) {
        bool ok;

        if (g->n_users > 0) {
                ok = false;
                for (size_t i = 0; i < g->n_users && !ok; i++)
                        ok = g->uids[i] == id->uid;
                if (!ok)
                        return false;
        }
        if (g->n_groups > 0) {
                ok = false;
                for (size_t i = 0; i < g->n_groups && !ok; i++) {
                        ok = g->gids[i] == id->gid;
                        for (size_t k = 0; k < id->n_groups && !ok; k++)
                                ok = g->gids[i] == id->groups[k];
                }
                if (!ok)
                        return false;
        }
        if (g->n_cgroups > 0 && (!id->cgroup || !any_glob(g->cgroups, g->n_cgroups, id->cgroup)))
                return false;
        if (g->n_labels > 0 && (!id->label || !*id->label || !any_glob(g->labels, g->n_labels, id->label)))
                return false;
        return true;
}

bool policy_device_managed(const Policy *p, const Grant *g, const PolicyDevice *d) {
        for (size_t k = 0; k < g->n_pool_names; k++)
                if (p->pools[g->pools[k]].managed && pool_contains(&p->pools[g->pools[k]], d))
                        return true;
        return false;
}

const Grant *policy_decide(const Policy *p, const PolicyIdentity *id, const PolicyDevice *d, unsigned irq_mask,
                           unsigned backend, char *why, size_t why_size) {
        const Grant *irq_refused = NULL, *backend_refused = NULL;
        size_t n_identity = 0;

        for (size_t i = 0; i < p->n_grants; i++) {
                const Grant *g = &p->grants[i];
                bool covered = false;

                if (!grant_matches_identity(g, id))
                        continue;
                n_identity++;
                for (size_t k = 0; k < g->n_pool_names && !covered; k++)
                        covered = pool_contains(&p->pools[g->pools[k]], d);
                if (!covered)
                        continue;
                if (g->has_irq && (irq_mask & ~g->irq_mask)) {
                        irq_refused = irq_refused ? irq_refused : g;
                        continue;
                }
                if (g->has_backend && !(backend & g->backend_mask)) {
                        backend_refused = backend_refused ? backend_refused : g;
                        continue;
                }
                return g;
        }
        if (backend_refused)
                snprintf(why, why_size, "grant \"%s\" (%s:%u) covers %s but not through %s", backend_refused->name,
                         backend_refused->file, backend_refused->line, d->bdf,
                         backend & POLICY_BACKEND_IOMMUFD ? "iommufd" : "the legacy VFIO API");
        else if (irq_refused)
                snprintf(why, why_size, "grant \"%s\" (%s:%u) covers %s but not the interrupt types requested",
                         irq_refused->name, irq_refused->file, irq_refused->line, d->bdf);
        else if (n_identity > 0)
                snprintf(why, why_size, "no grant for uid %u covers %s (%zu grant(s) name this client)",
                         (unsigned) id->uid, d->bdf, n_identity);
        else
                snprintf(why, why_size, "no grant names uid %u (gid %u, cgroup %s, label %s)", (unsigned) id->uid,
                         (unsigned) id->gid,
                         !id->cgroup ? "unverified" : *id->cgroup ? id->cgroup : "-",
                         id->label && *id->label ? id->label : "-");
        return NULL;
}
