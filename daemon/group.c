/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * IOMMU groups the broker holds open.  A group joins a lease whole; when the
 * lease ends the group is detached from the lease's container.  The kernel
 * refuses that (EBUSY) while any device fd of the group is still open, in
 * whichever process the client passed it to: the group is then quarantined
 * and retried with a growing delay until it can be detached, and only then,
 * after a reset where the devices support it, is it free again.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "log.h"
#include "sysfs.h"
#include "util.h"
#include "vfio.h"

#define RETRY_FIRST_USEC 10000ULL
#define RETRY_MAX_USEC 1000000ULL

const char *group_state_name(GroupState state) {
        return state == GROUP_LEASED ? "leased" : "quarantined";
}

int group_new(Broker *b, int number, int fd, char (*members)[BDF_STRLEN + 1], size_t n_members, Group **ret) {
        Group *g;
        int r;

        g = calloc(1, sizeof(*g));
        if (!g)
                return -ENOMEM;
        *g = (Group) { .broker = b, .number = number, .fd = fd, .state = GROUP_LEASED,
                       .members = members, .n_members = n_members };
        if (!members) {
                r = sysfs_group_members(b->config.sysfs_root, number, &g->members, &g->n_members);
                if (r < 0)
                        log_warning("group %d: cannot list its devices: %s", number, strerror(-r));
        }
        LIST_INSERT_HEAD(&b->groups, g, link);
        *ret = g;
        return 0;
}

Group *group_free(Group *g) {
        if (!g)
                return NULL;
        LIST_REMOVE(g, link);
        source_free(g->retry);
        safe_close(g->fd);
        free(g->members);
        free(g);
        return NULL;
}

/*
 * Reset every vfio-pci device of the group that offers a reset, through a
 * container of our own.  Counts the devices opened and those reset.
 */
static void group_reset(Group *g, size_t *ret_opened, size_t *ret_reset) {
        _cleanup_close_ int container = -EBADF;
        size_t opened = 0, reset = 0;
        int r;

        *ret_opened = *ret_reset = 0;
        r = vfio_container_open(&container);
        if (r >= 0)
                r = vfio_group_set_container(g->fd, container);
        if (r >= 0)
                r = vfio_container_set_iommu(container);
        if (r < 0) {
                log_warning("group %d: cannot attach it for reset: %s", g->number, strerror(-r));
                (void) vfio_group_unset_container(g->fd);
                return;
        }
        for (size_t i = 0; i < g->n_members; i++) {
                _cleanup_close_ int dev = -EBADF;
                struct vfio_device_info info;

                if (vfio_group_get_device(g->fd, g->members[i], &dev) < 0)
                        continue; /* a bridge, or a device of another driver */
                opened++;
                if (vfio_device_get_info(dev, &info) < 0 || !(info.flags & VFIO_DEVICE_FLAGS_RESET)) {
                        log_debug("group %d: %s offers no reset; the kernel's own reset on close applies",
                                 g->number, g->members[i]);
                        continue;
                }
                r = vfio_device_reset(dev);
                if (r < 0)
                        log_warning("group %d: reset of %s failed: %s", g->number, g->members[i], strerror(-r));
                else {
                        log_debug("group %d: %s reset", g->number, g->members[i]); /* counted in the RESET record */
                        reset++;
                }
        }
        (void) vfio_group_unset_container(g->fd);
        *ret_opened = opened;
        *ret_reset = reset;
}

/* 0: detached and freed; -EBUSY: still held elsewhere. */
static int group_try_detach(Group *g) {
        size_t opened, reset;
        Broker *b;
        char result[64];
        int r;

        r = vfio_group_unset_container(g->fd);
        if (r == -EBUSY)
                return r;
        if (r < 0)
                log_warning("group %d: VFIO_GROUP_UNSET_CONTAINER: %s", g->number, strerror(-r));
        group_reset(g, &opened, &reset);
        if (opened > 0 && reset == opened)
                broker_mark_group_clean(g->broker, g->number);
        else
                broker_mark_group_used(g->broker, g->number, g->uid);
        snprintf(result, sizeof(result), "%zu/%zu reset", reset, opened);
        log_audit(LOG_INFO, &AUDIT_RECORD(AUDIT_RESET, .lease = g->lease_id, .has_group = true, .group = g->number, .result = result),
                  "group %d: free again (was lease %llu of uid %u); %zu of %zu device(s) reset",
                  g->number, (unsigned long long) g->lease_id, (unsigned) g->uid, reset, opened);
        b = g->broker;
        group_free(g);
        broker_state_changed(b); /* after: the store lets go of its fd */
        return 0;
}

static void on_retry(Source *s, void *userdata) {
        Group *g = userdata;

        if (group_try_detach(g) == 0)
                return;
        g->backoff_usec = g->backoff_usec * 2 > RETRY_MAX_USEC ? RETRY_MAX_USEC : g->backoff_usec * 2;
        if (source_set_timer(g->retry, g->backoff_usec) < 0)
                log_error("group %d: cannot re-arm the quarantine timer", g->number);
}

void group_quarantine(Group *g) {
        int r;

        g->state = GROUP_QUARANTINED;
        g->backoff_usec = RETRY_FIRST_USEC;
        broker_state_changed(g->broker);
        log_audit(LOG_NOTICE, &AUDIT_RECORD(AUDIT_QUARANTINE, .lease = g->lease_id, .has_group = true, .group = g->number),
                  "group %d: quarantined: a device fd of lease %llu (uid %u) is still open elsewhere",
                  g->number, (unsigned long long) g->lease_id, (unsigned) g->uid);
        r = loop_add_timer(g->broker->loop, g->backoff_usec, on_retry, g, &g->retry);
        if (r < 0)
                log_error("group %d: cannot arm the quarantine timer: %s", g->number, strerror(-r));
}

void group_release(Group *g) {
        g->lease = NULL;
        if (group_try_detach(g) == 0)
                return;
        group_quarantine(g);
}
