/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The acquire whose devices open off the loop: the kernel resets a device
 * with a reset as it is opened (a function-level reset sleeps 100 ms and
 * more, a bus reset longer), and no other client may wait behind that.
 * On the loop: the groups are reserved and the managed ones moved; in a
 * thread: the new domain takes the groups and the devices open, touching
 * nothing the loop shares; on the loop again: the lease is made of them,
 * unless the client went, the broker stops or the policy changed meanwhile,
 * when what was opened closes off the loop too.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "broker/acquire-internal.h"
#include "broker/devices.h"
#include "common/util.h"
#include "util/log.h"

/* What acquires off the loop of @uid are taking: devices, and leases in *@ret_leases. */
size_t acquire_pending_of_uid(Broker *b, uid_t uid, size_t *ret_leases) {
        size_t devices = 0, leases = 0;
        AcquireJob *j;

        LIST_FOREACH(j, &b->acquiring, link)
                if (j->uid == uid) {
                        devices += j->request.n_devices;
                        leases += !j->grows;
                }
        if (ret_leases)
                *ret_leases = leases;
        return devices;
}

bool broker_group_acquiring(Broker *b, int number, uid_t *ret_uid) {
        AcquireJob *j;

        LIST_FOREACH(j, &b->acquiring, link)
                for (size_t i = 0; i < j->request.n_devices; i++)
                        if (j->a.wants[i].pci.iommu_group == number) {
                                if (ret_uid)
                                        *ret_uid = j->uid;
                                return true;
                        }
        return false;
}

/*
 * Whether the kernel resets a device as this acquire opens it: one with a
 * reset, or in iommufd modes any of its group; and whether it may go off the
 * loop.
 */
bool acquire_opens_slowly(Acquire *a) {
        /* A lease that grows: only by groups it does not hold yet (the loop may end those it holds). */
        for (size_t i = 0; a->lease && i < a->request->n_devices; i++)
                if (broker_find_group(a->broker, a->wants[i].pci.iommu_group))
                        return false;
        for (size_t i = 0; i < a->request->n_devices; i++) {
                const DeviceWant *w = &a->wants[i];

                if (w->pci.reset != PCI_RESET_NONE)
                        return true;
                for (size_t k = 0; k < w->n_members; k++) {
                        PciDevice m;

                        if (device_cache_read_device(a->broker->devices, w->members[k], &m) >= 0 &&
                            m.reset != PCI_RESET_NONE)
                                return true;
                }
        }
        return false;
}

/* The group of an earlier want of the request in the same IOMMU group: -1 when none. */
static int earlier_in_group(const Acquire *a, size_t i) {
        for (size_t k = 0; k < i; k++)
                if (a->wants[k].pci.iommu_group == a->wants[i].pci.iommu_group)
                        return (int) k;
        return -1;
}

/* Close what open_work() opened (the kernel resets devices as they close): off the loop where it can be. */
static void close_opened(Acquire *a) {
        for (size_t i = 0; i < a->n_devices; i++)
                leased_device_teardown(&a->devices[i], a->broker->config.backend);
        a->n_devices = 0;
        for (size_t i = 0; i < ELEMENTSOF(a->kgroups); i++)
                if (a->kgroups[i]) {
                        (void) kernel_group_detach(a->kgroups[i]);
                        a->kgroups[i] = kernel_group_free(a->kgroups[i]);
                }
        a->domain = kernel_domain_free(a->domain);
}

/* The kernel's part, off the loop: each group into the new domain, each device opened.  Touches nothing shared. */
static void open_work(void *userdata) {
        AcquireJob *j = userdata;
        Acquire *a = &j->a;
        int r = 0;

        for (size_t i = 0; r == 0 && i < a->request->n_devices; i++) {
                int k = earlier_in_group(a, i);

                if (k < 0)
                        r = acquire_open_group(a, &a->wants[i], a->domain, &a->kgroups[i]);
                if (r == 0)
                        r = acquire_open_device(a, &a->wants[i], a->kgroups[k < 0 ? (int) i : k]);
        }
        if (r != 0)
                close_opened(a);
        j->r = r;
}

static void close_work(void *userdata) {
        close_opened(&((AcquireJob *) userdata)->a);
}

static void acquire_job_free(AcquireJob *j) {
        for (size_t i = 0; i < ELEMENTSOF(j->a.wants); i++)
                free(j->a.wants[i].members);
        free(j->a.moved);
        free(j);
}

/* The end: the reservation goes, and whoever waits hears. */
static void acquire_job_finish(AcquireJob *j, int r, size_t first) {
        Acquire *a = &j->a;

        LIST_REMOVE(j, link);
        if (r != 0 && a->connection)
                acquire_audit_refusal(a->connection, r, a->err, false);
        if (j->done)
                j->done(j->userdata, r, a->err, r == 0 ? a->lease : NULL, first);
        acquire_job_free(j);
}

static void close_done(void *userdata) {
        AcquireJob *j = userdata;

        acquire_give_back_moved(&j->a);
        acquire_job_finish(j, j->r, 0);
}

/* What open_work() opened becomes the lease's, on the loop, and the lease is the client's. */
static int commit_opened(AcquireJob *j, size_t *ret_first) {
        Acquire *a = &j->a;
        int r = 0;

        if (j->grows) {
                /* The groups count as the lease's domain's; the second handle on it goes. */
                for (size_t i = 0; i < ELEMENTSOF(a->kgroups); i++)
                        if (a->kgroups[i])
                                kernel_group_move_domain(a->kgroups[i], a->lease->domain);
                a->domain = kernel_domain_free(a->domain);
        } else {
                r = lease_new_with_domain(a->connection, TAKE_PTR(a->domain), &a->lease);
                if (r < 0) {
                        close_opened(a);
                        acquire_give_back_moved(a);
                        return broker_error_system(a->err, r, "out of memory");
                }
                a->new_lease = true;
        }
        for (size_t i = 0; i < a->request->n_devices; i++) {
                DeviceWant *w = &a->wants[i];
                int k = earlier_in_group(a, i);

                if (k >= 0)
                        w->group = a->wants[k].group;
                else if ((r = acquire_adopt_group(a, w, TAKE_PTR(a->kgroups[i]))) < 0)
                        break;
                a->devices[i].group = w->group;
        }
        if (r < 0)
                broker_error_system(a->err, r, "out of memory");
        else if (a->memlock > a->lease->memlock && (r = lease_apply_memlock(a->lease, a->memlock)) < 0)
                broker_error_system(a->err, r, "setting the client's RLIMIT_MEMLOCK: %s", strerror(-r));
        if (r < 0) {
                acquire_rollback(a);
                close_opened(a); /* the groups not adopted yet */
                return r;
        }
        return acquire_commit(a, ret_first);
}

static void open_done(void *userdata) {
        AcquireJob *j = userdata;
        Acquire *a = &j->a;
        Broker *b = a->broker;
        size_t first = 0;
        int r = j->r;

        if (j->grows && a->lease)
                a->lease->growing = NULL;
        if (r == 0) {
                if (!a->connection)
                        r = broker_error(a->err, BROKER_E_BUSY, "the client went away");
                else if (j->grows && !a->lease)
                        r = broker_error(a->err, BROKER_E_UNKNOWN_LEASE,
                                         "lease %llu ended while its new devices were being opened",
                                         (unsigned long long) j->request.lease_id);
                else if (b->ending != BROKER_RUNNING)
                        r = broker_error(a->err, BROKER_E_BUSY, "the broker is stopping: ask again once it is back");
                else if (j->policy_serial != b->policy_serial)
                        r = broker_error(a->err, BROKER_E_BUSY,
                                         "the policy was reloaded while the devices were being opened: ask again");
                if (r != 0) {
                        /* What it opened closes off the loop too: the kernel resets the devices again. */
                        j->r = r;
                        if (loop_run_job(b->loop, close_work, close_done, j) >= 0)
                                return;
                        close_work(j);
                        return close_done(j);
                }
                r = commit_opened(j, &first);
        } else
                acquire_give_back_moved(a);
        acquire_job_finish(j, r, first);
}

/* Validated and authorized, for a new lease: reserve the groups, move the managed ones, and open off the loop. */
int acquire_defer(Acquire *a, AcquireDoneFn done, void *userdata, AcquireJob **ret_job) {
        Broker *b = a->broker;
        AcquireJob *j;
        int r = 0;

        j = calloc(1, sizeof(*j));
        if (!j)
                return -ENOMEM;
        j->a = *a;
        for (size_t i = 0; i < ELEMENTSOF(a->wants); i++)
                a->wants[i].members = NULL; /* the job's now */
        j->request = *a->request;
        j->request.devices = NULL;
        j->a.request = &j->request;
        j->a.err = &j->err;
        j->uid = a->connection->uid;
        j->policy_serial = b->policy_serial;
        j->done = done;
        j->userdata = userdata;
        j->grows = a->lease != NULL;
        LIST_INSERT_HEAD(&b->acquiring, j, link);

        for (size_t i = 0; r == 0 && i < j->request.n_devices; i++)
                if (earlier_in_group(&j->a, i) < 0)
                        r = acquire_move_managed(&j->a, &j->a.wants[i]);
        if (r == 0 && j->grows) {
                /* Its own handle: the loop may end the lease (and close its domain) meanwhile. */
                r = kernel_domain_dup(a->lease->domain, &j->a.domain);
                if (r < 0)
                        broker_error_system(&j->err, r, "duplicating lease %llu's domain: %s",
                                            (unsigned long long) a->lease->id, strerror(-r));
        } else if (r == 0) {
                r = kernel_domain_new(kernel_backend_for_mode(b->config.backend, j->request.mode), j->request.mode,
                                      &j->a.domain);
                if (r < 0)
                        broker_error_system(&j->err, r, "opening %s: %s", j->request.mode == KERNEL_MODE_LEGACY
                                            ? "/dev/vfio/vfio" : "/dev/iommu (RLIMIT_MODE, IOAS)", strerror(-r));
        }
        if (r == 0) {
                r = loop_run_job(b->loop, open_work, open_done, j);
                if (r < 0)
                        broker_error_system(&j->err, r, "starting a thread to open the devices: %s", strerror(-r));
        }
        if (r != 0) {
                j->a.domain = kernel_domain_free(j->a.domain);
                acquire_give_back_moved(&j->a);
                if (j->grows)
                        a->lease->growing = NULL;
                *a->err = j->err;
                LIST_REMOVE(j, link);
                acquire_job_free(j);
                return r;
        }
        if (j->grows)
                a->lease->growing = j;
        log_debug("uid %u: acquire of %zu device(s) goes on off the loop (the kernel resets them as they open)",
                  (unsigned) j->uid, j->request.n_devices);
        *ret_job = j;
        return ACQUIRE_PENDING;
}

void acquire_job_lease_gone(AcquireJob *j) {
        if (j)
                j->a.lease = NULL;
}

void acquire_job_orphan(AcquireJob *j) {
        if (!j)
                return;
        j->done = NULL;
        j->a.connection = NULL;
}

