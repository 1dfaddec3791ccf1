/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The state file's records, each kind written and adopted in one place:
 *
 *   conn ID UID GID PID CGROUP LABEL NAME [events] [restart-notice]
 *                                               fds vb-cID (socket and pidfd)
 *   lease ID CONN SINCE MEMLOCK CUR MAX MODE IOAS
 *                                               fds vb-lID (domain, groups, eventfds)
 *   group LEASE NUMBER GRANT                    (fds under vb-lLEASE: the group, or its cdevs)
 *   device LEASE INDEX BDF GROUP IRQS           (no fd: opened again through its group)
 *   eventfd LEASE DEVICE INDEX KIND TYPE VECTOR ID
 *                                               (fd under vb-lLEASE; without ID: vb-lLEASE-dDEVICE-eINDEX)
 *   quarantine NUMBER LEASE UID MODE GRANT      fd  vb-qNUMBER (legacy; iommufd keeps no fd)
 *   used NUMBER UID GRANT
 *   recall LEASE STEP SINCE NEXT WHY            (after its lease: STEP 1 asked, 2 SIGTERM sent;
 *                                               SINCE and NEXT, the next step's time, CLOCK_REALTIME us)
 *
 * The numbers are the file's own and never change meaning: IRQS has bit N
 * for interrupt type N (0 INTx, 1 MSI, 2 MSI-X, 3 err, 4 req); MODE is 0
 * legacy, 1 iommufd, 2 vmm (absent, as older brokers wrote it: 0); GRANT the
 * grant a group was taken by, the reset ledger's tenant with the uid ("-" or
 * absent: not known); an eventfd's
 * KIND is 3 for an interrupt, 4 for INTx's unmask, its TYPE 1 to 5 for INTx
 * to req.  Older brokers stored the pidfd as vb-cID-pidfd, the domain as
 * vb-lID-ctr and each group as vb-lLEASE-gNUMBER; adoption still reads those
 * (they are stored anew under today's names).
 *
 * Legacy device fds are not stored: an open device fd anywhere keeps its
 * group from being detached, and systemd drops a stored fd only some time
 * after it is told to.  A new broker opens the devices again through the
 * stored group fd.  An iommufd group is its cdevs, stored as the group; a
 * release lets go of them (and waits for the store to) before it asks the
 * kernel whether they are still bound (broker/lease.c).
 */
#include "system/records.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/connection.h"
#include "broker/group.h"
#include "broker/lease.h"
#include "common/util.h"
#include "system/state-file.h"
#include "util/log.h"

#define FILE_KIND_IRQ 3
#define FILE_KIND_UNMASK 4

_Static_assert(KERNEL_MODE_LEGACY == 0 && KERNEL_MODE_IOMMUFD == 1 && KERNEL_MODE_VMM == 2,
               "MODE in the file is KernelMode's number");

/* ---- writing ---- */

/* Grant names are words ([Grant NAME] allows no blank): written as they are, "-" for none. */
static const char *grant_or_dash(const char *grant) {
        return grant && grant[0] ? grant : "-";
}

static void grant_from_file(char *dst, size_t size, const char *field) {
        string_copy(dst, size, strcmp(field, "-") == 0 ? "" : field);
}

/* The record of an eventfd, and its fd: under the lease's name, or one of its own when the kernel shows no id. */
static int write_eventfd(FILE *f, const Lease *l, size_t i, size_t k, LeaseEventfd *e, int *lease_fds, size_t *n,
                         WantList *w) {
        if (e->id == -1) {
                int id = eventfd_id(e->fd);

                e->id = id >= 0 ? id : -2; /* -2: the kernel shows none */
        }
        fprintf(f, "eventfd %" PRIu64 " %zu %zu %d %d %" PRIu32, l->id, i, k,
                e->kind == LEASE_FD_UNMASK ? FILE_KIND_UNMASK : FILE_KIND_IRQ, (int) e->irq_type + 1, e->vector);
        if (e->id >= 0) {
                fprintf(f, " %d\n", e->id);
                lease_fds[(*n)++] = e->fd;
                return 0;
        }
        fputc('\n', f);
        return want_fd(w, e->fd, false, "vb-l%" PRIu64 "-d%zu-e%zu", l->id, i, k);
}

/* A lease's records; its domain, groups and eventfds go under one name. */
static int write_lease(FILE *f, const Connection *c, Lease *l, WantList *w) {
        _cleanup_free_ int *fds = NULL;
        size_t n_fds = 1 + l->n_groups * KERNEL_MAX_GROUP_FDS, n = 0;
        int r = 0;

        for (size_t i = 0; i < l->n_devices; i++)
                n_fds += l->devices[i].n_eventfds;
        fds = calloc(n_fds, sizeof(int));
        if (!fds)
                return -ENOMEM;
        fprintf(f, "lease %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %llu %llu %d %" PRIu32 "\n", l->id, c->id,
                l->since_usec, l->memlock, (unsigned long long) l->saved_memlock.rlim_cur,
                (unsigned long long) l->saved_memlock.rlim_max, (int) lease_mode(l), kernel_domain_ioas(l->domain));
        fds[n++] = kernel_domain_fd(l->domain);
        for (size_t i = 0; i < l->n_groups; i++) {
                fprintf(f, "group %" PRIu64 " %d %s\n", l->id, l->groups[i]->number, grant_or_dash(l->groups[i]->grant));
                n += kernel_group_fds(l->groups[i]->kernel, fds + n, KERNEL_MAX_GROUP_FDS);
        }
        for (size_t i = 0; i < l->n_devices; i++) {
                LeasedDevice *d = &l->devices[i];

                fprintf(f, "device %" PRIu64 " %zu %s %d %" PRIu32 "\n", l->id, i, d->bdf, d->group->number,
                        d->irq_types);
                for (size_t k = 0; k < d->n_eventfds && r >= 0; k++)
                        r = write_eventfd(f, l, i, k, &d->eventfds[k], fds, &n, w);
        }
        if (l->recall.step != RECALL_NONE) {
                fprintf(f, "recall %" PRIu64 " %d %" PRIu64 " %" PRIu64 " ", l->id, (int) l->recall.step,
                        l->recall.since_usec, l->recall.next_usec);
                state_write_string(f, l->recall.why);
                fputc('\n', f);
        }
        return r < 0 ? r : want_fds(w, fds, n, l->n_groups > 0, "vb-l%" PRIu64, l->id);
}

static int write_connection(FILE *f, Connection *c, WantList *w) {
        Lease *l;
        int r;

        fprintf(f, "conn %" PRIu64 " %u %u %u ", c->id, (unsigned) c->uid, (unsigned) c->gid, (unsigned) c->pid);
        state_write_string(f, c->cgroup);
        fputc(' ', f);
        state_write_string(f, c->label);
        fputc(' ', f);
        state_write_string(f, c->name);
        fputs(c->events ? " events" : "", f);
        fputs(c->restart_notice ? " restart-notice\n" : "\n", f);
        r = want_fds(w, (const int[]) { c->fd, c->pidfd }, 2, false, "vb-c%" PRIu64, c->id);
        LIST_FOREACH(l, &c->leases, link)
                r = r < 0 ? r : write_lease(f, c, l, w);
        return r;
}

int records_write(FILE *f, Broker *b, WantList *w) {
        Connection *c;
        Group *g;
        int r = 0;

        LIST_FOREACH(c, &b->connections, link)
                if (LIST_FIRST(&c->leases))
                        r = r < 0 ? r : write_connection(f, c, w);
        LIST_FOREACH(g, &b->groups, link)
                /* being reset counts as quarantined: a broker after a crash asks the kernel again */
                if (g->state == GROUP_QUARANTINED || g->state == GROUP_RESETTING) {
                        int fds[KERNEL_MAX_GROUP_FDS];
                        /* (an iommufd group being reset holds cdevs its job opens and closes: none are kept) */
                        size_t n = g->state == GROUP_RESETTING && kernel_group_mode(g->kernel) != KERNEL_MODE_LEGACY
                                           ? 0 : kernel_group_fds(g->kernel, fds, ELEMENTSOF(fds));

                        fprintf(f, "quarantine %d %" PRIu64 " %u %d %s\n", g->number, g->lease_id, (unsigned) g->uid,
                                (int) kernel_group_mode(g->kernel), grant_or_dash(g->grant));
                        r = r < 0 ? r : want_fds(w, fds, n, true, "vb-q%d", g->number);
                }
        for (size_t i = 0; i < b->ledger.n; i++)
                fprintf(f, "used %d %u %s\n", b->ledger.items[i].number, (unsigned) b->ledger.items[i].uid,
                        grant_or_dash(b->ledger.items[i].grant));
        return r;
}

/* ---- adopting ---- */

static size_t take_one(int *fds, int fd) {
        fds[0] = fd;
        return fd >= 0;
}

/* The fds of group @number under the name: the group (legacy: one), or each of its cdevs. */
static size_t take_group_fds(Returned *returned, int number, KernelMode mode, int *fds, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));
static size_t take_group_fds(Returned *returned, int number, KernelMode mode, int *fds, const char *fmt, ...) {
        size_t n = 0, max = mode == KERNEL_MODE_LEGACY ? 1 : KERNEL_MAX_GROUP_FDS;
        char name[64];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(name, sizeof(name), fmt, ap);
        va_end(ap);
        while (n < max) {
                int fd = returned_take(returned, FD_GROUP, number, "%s", name);
                if (fd < 0)
                        break;
                fds[n++] = fd;
        }
        return n;
}

static int adopt_connection(const char *line, void *userdata) {
        Adoption *a = userdata;
        char s1[512], s2[512], s3[512], s4[16] = "", s5[16] = "";
        unsigned uid, gid, pid;
        uint64_t id;
        Connection *c;
        int fd, pidfd;

        if (sscanf(line, "conn %" SCNu64 " %u %u %u %511s %511s %511s %15s %15s", &id, &uid, &gid, &pid, s1, s2, s3, s4,
                   s5) < 7)
                return 0;
        Connection saved = { .id = id, .uid = uid, .gid = gid, .pid = (pid_t) pid,
                             .events = strcmp(s4, "events") == 0,
                             .restart_notice = strcmp(s4, "restart-notice") == 0 || strcmp(s5, "restart-notice") == 0 };
        fd = returned_take(a->returned, FD_SOCKET, 0, "vb-c%" PRIu64, id);
        pidfd = returned_take(a->returned, FD_NOT_SOCKET, 0, "vb-c%" PRIu64, id);
        if (pidfd < 0) /* stored by an older broker */
                pidfd = returned_take_any(a->returned, "vb-c%" PRIu64 "-pidfd", id);
        state_read_string(s1, saved.cgroup, sizeof(saved.cgroup));
        state_read_string(s2, saved.label, sizeof(saved.label));
        state_read_string(s3, saved.name, sizeof(saved.name));
        if (fd < 0 || pidfd < 0) {
                safe_close(fd);
                safe_close(pidfd);
                return log_errno(LOG_WARNING, -EBADF, "connection %" PRIu64 ": its fds are not in the store", id);
        }
        return connection_adopt(a->broker, fd, pidfd, &saved, &c);
}

static int adopt_lease(const char *line, void *userdata) {
        Adoption *a = userdata;
        uint64_t id, conn, since, memlock;
        unsigned long long cur, max;
        KernelDomain *domain;
        int fd, r, mode = KERNEL_MODE_LEGACY;
        uint32_t ioas = 0;
        Connection *c;
        Lease *l;

        if (sscanf(line, "lease %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %llu %llu %d %" SCNu32, &id, &conn,
                   &since, &memlock, &cur, &max, &mode, &ioas) < 6 || mode < 0 || mode >= _KERNEL_MODE_MAX)
                return 0;
        fd = returned_take(a->returned, FD_DOMAIN, 0, "vb-l%" PRIu64, id);
        if (fd < 0) /* stored by an older broker */
                fd = returned_take_any(a->returned, "vb-l%" PRIu64 "-ctr", id);
        c = broker_find_connection(a->broker, conn);
        if (!c || fd < 0) {
                safe_close(fd);
                return log_errno(LOG_WARNING, -ENOENT, "lease %" PRIu64 ": its connection or container is gone", id);
        }
        r = kernel_domain_adopt(kernel_backend_for_mode(a->broker->config.backend, mode), mode, fd, ioas, &domain);
        if (r < 0)
                return r;
        return lease_adopt(c, id, since, memlock, &(struct rlimit) { .rlim_cur = cur, .rlim_max = max }, domain, &l);
}

static int adopt_group(const char *line, void *userdata) {
        Adoption *a = userdata;
        int fds[KERNEL_MAX_GROUP_FDS];
        char grant[65] = "-";
        int number, r;
        KernelGroup *kg;
        size_t n;
        uint64_t id;
        Lease *l;
        Group *g;

        if (sscanf(line, "group %" SCNu64 " %d %64s", &id, &number, grant) < 2)
                return 0;
        l = broker_find_lease(a->broker, id);
        n = take_group_fds(a->returned, number, l ? lease_mode(l) : KERNEL_MODE_LEGACY, fds, "vb-l%" PRIu64, id);
        if (n == 0) /* stored by an older broker */
                n = take_one(fds, returned_take_any(a->returned, "vb-l%" PRIu64 "-g%d", id, number));
        if (!l || n == 0 || broker_find_group(a->broker, number)) {
                close_many(fds, n);
                return log_errno(LOG_WARNING, -ENOENT, "lease %" PRIu64 ": group %d: its lease or fd is "
                                 "gone, or another record holds it", id, number);
        }
        r = kernel_group_adopt(kernel_backend_for_mode(a->broker->config.backend, lease_mode(l)), number, fds, n,
                               l->domain, &kg);
        if (r >= 0)
                r = group_new(a->broker, number, kg, NULL, 0, &g);
        if (r < 0)
                return log_errno(LOG_WARNING, r, "lease %" PRIu64 ": adopting group %d: %s", id, number, strerror(-r));
        grant_from_file(g->grant, sizeof(g->grant), grant);
        r = lease_add_group(l, g);
        if (r < 0)
                group_free(g);
        return r;
}

static int adopt_device(const char *line, void *userdata) {
        Adoption *a = userdata;
        char bdf[512];
        unsigned irqs;
        uint64_t id;
        size_t index;
        int number, r;
        Group *g;
        Lease *l;

        if (sscanf(line, "device %" SCNu64 " %zu %511s %d %u", &id, &index, bdf, &number, &irqs) != 5)
                return 0;
        l = broker_find_lease(a->broker, id);
        g = broker_find_group(a->broker, number);
        if (!l || !g || !lease_has_group(l, g) || strlen(bdf) > BDF_STRLEN || l->n_devices != index)
                return -ENOENT;
        r = lease_adopt_device(l, bdf, g, irqs);
        if (r < 0)
                return log_errno(LOG_WARNING, r, "lease %" PRIu64 ": reopening %s: %s", id, bdf, strerror(-r));
        return 0;
}

static int adopt_eventfd(const char *line, void *userdata) {
        Adoption *a = userdata;
        int kind, type, id = -1, fields, fd;
        size_t device, index;
        unsigned vector;
        uint64_t lease;
        Lease *l;

        fields = sscanf(line, "eventfd %" SCNu64 " %zu %zu %d %d %u %d", &lease, &device, &index, &kind, &type, &vector,
                        &id);
        if (fields < 6)
                return 0;
        fd = fields == 7 ? returned_take(a->returned, FD_EVENTFD, id, "vb-l%" PRIu64, lease)
                         : returned_take_any(a->returned, "vb-l%" PRIu64 "-d%zu-e%zu", lease, device, index);
        l = broker_find_lease(a->broker, lease);
        if (!l || device >= l->n_devices || fd < 0 || (kind != FILE_KIND_IRQ && kind != FILE_KIND_UNMASK) ||
            type < 1 || type > _IRQ_TYPE_MAX) {
                safe_close(fd);
                return -ENOENT;
        }
        return leased_device_keep_eventfd(&l->devices[device], fd, kind == FILE_KIND_UNMASK ? LEASE_FD_UNMASK : LEASE_FD_IRQ,
                                          (IrqType) (type - 1), vector);
}

static int adopt_quarantine(const char *line, void *userdata) {
        Adoption *a = userdata;
        int fds[KERNEL_MAX_GROUP_FDS];
        char grant[65] = "-", known[65];
        int number, r, mode = KERNEL_MODE_LEGACY;
        KernelGroup *kg;
        unsigned uid;
        uint64_t id;
        size_t n;

        if (sscanf(line, "quarantine %d %" SCNu64 " %u %d %64s", &number, &id, &uid, &mode, grant) < 3 || mode < 0 ||
            mode >= _KERNEL_MODE_MAX)
                return 0;
        n = take_group_fds(a->returned, number, mode, fds, "vb-q%d", number);
        if (n == 0 && mode == KERNEL_MODE_LEGACY)
                return -ENOENT;
        if (broker_find_group(a->broker, number)) {
                close_many(fds, n);
                return log_errno(LOG_WARNING, -EEXIST, "quarantine of group %d: another record holds it", number);
        }
        r = kernel_group_adopt(kernel_backend_for_mode(a->broker->config.backend, mode), number, fds, n, NULL, &kg);
        if (r < 0)
                return r;
        grant_from_file(known, sizeof(known), grant);
        return group_adopt_quarantined(a->broker, number, kg, id, uid, known);
}

static int adopt_used(const char *line, void *userdata) {
        Adoption *a = userdata;
        char grant[65] = "-", known[65];
        unsigned uid;
        int number;

        if (sscanf(line, "used %d %u %64s", &number, &uid, grant) >= 2) {
                grant_from_file(known, sizeof(known), grant);
                ledger_mark_used(&a->broker->ledger, number, uid, known);
        }
        return 0;
}

static int adopt_recall(const char *line, void *userdata) {
        Adoption *a = userdata;
        uint64_t id, since, next;
        char field[512], why[160];
        Lease *l;
        int step;

        if (sscanf(line, "recall %" SCNu64 " %d %" SCNu64 " %" SCNu64 " %511s", &id, &step, &since, &next, field) < 5)
                return 0;
        l = broker_find_lease(a->broker, id);
        if (!l)
                return log_errno(LOG_WARNING, -ENOENT, "recall of lease %" PRIu64 ": no such lease adopted", id);
        state_read_string(field, why, sizeof(why));
        return lease_recall_resume(l, (RecallStep) step, since, next, why);
}

const StateRecordKind record_kinds[] = {
        { "conn", adopt_connection },
        { "lease", adopt_lease },
        { "group", adopt_group },
        { "device", adopt_device },
        { "eventfd", adopt_eventfd },
        { "quarantine", adopt_quarantine },
        { "used", adopt_used },
        { "recall", adopt_recall },
};
const size_t n_record_kinds = ELEMENTSOF(record_kinds);
