/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The state file, one record per line, fields separated by spaces, strings
 * %-escaped:
 *   vfio-broker-state 1
 *   conn ID UID GID PID CGROUP LABEL NAME       fds vb-cID (socket and pidfd)
 *   lease ID CONN SINCE MEMLOCK CUR MAX         fds vb-lID (container, groups, eventfds)
 *   group LEASE NUMBER                          (fd under vb-lLEASE)
 *   device LEASE INDEX BDF GROUP IRQS           (no fd: see below)
 *   eventfd LEASE DEVICE INDEX KIND TYPE VECTOR ID
 *                                               (fd under vb-lLEASE; without ID: vb-lLEASE-dDEVICE-eINDEX)
 *   quarantine NUMBER LEASE UID                 fd  vb-qNUMBER
 *   used NUMBER UID
 * It is rewritten whole (to a temporary file, then renamed) after each change,
 * once per request (broker_state_hold()).
 *
 * Each name is one message to systemd when stored and one when dropped, so
 * fds that come and go together share one: a connection's socket and pidfd,
 * a lease's container, groups and eventfds.  Systemd hands them back in no
 * particular order: adoption tells them apart by what each fd is (identify():
 * a socket or not, the character device of a container or of group N, the
 * eventfd-id the kernel shows in fdinfo, recorded in the state file).  On a
 * kernel that shows no eventfd-id, each eventfd keeps a name of its own.  A
 * lease that gains a group or eventfds is sent again whole; systemd keeps an
 * fd it already holds once.  Older brokers stored the pidfd as vb-cID-pidfd,
 * the container as vb-lID-ctr, each group as vb-lLEASE-gNUMBER and each
 * eventfd under its own name; adoption still reads those and stores them
 * anew.
 *
 * Device fds are not stored: an open device fd anywhere keeps its group from
 * being detached, and systemd drops a stored fd only some time after it is
 * told to.  A new broker opens the devices again through the stored group fd.
 * A group can be open only once: when a group fd leaves the store the broker
 * waits for systemd to have closed it (a BARRIER=1, sync_store()) before it
 * goes on, so that a group it calls free can be opened at once, by the broker
 * or anyone else.
 */
#include "persist.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "log.h"
#include "util.h"
#include "vfio.h"

/* What one FDSTORE message carries at most: the kernel takes 253 fds per message. */
#define FDS_PER_MESSAGE 250

/* How long a release waits for systemd to close a group fd it dropped from the store. */
#define BARRIER_TIMEOUT_USEC (1000 * 1000ULL)

static char *state_path;

/* ---- the names and fds the store should hold ---- */

/*
 * One name in the store and its fds: a connection's socket and pidfd, a
 * lease's container, groups and eventfds, or one fd.  @group: one of them
 * is a group.
 */
typedef struct Want {
        char name[64];
        int *fds;
        size_t n_fds;
        bool group;
} Want;

typedef struct WantList {
        Want *items;
        size_t n, cap;
} WantList;

/* What the store holds under a name, as far as we know: SIZE_MAX fds when it holds some we let go of. */
typedef struct StoredName {
        char *name;
        size_t n_fds;
        bool group;
} StoredName;

static int want_fds(WantList *w, const int *fds, size_t n_fds, bool group, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));
static int want_fds(WantList *w, const int *fds, size_t n_fds, bool group, const char *fmt, ...) {
        Want *item;
        va_list ap;

        if (w->n == w->cap) {
                size_t cap = w->cap ? w->cap * 2 : 64;
                Want *p = reallocarray(w->items, cap, sizeof(*p));

                if (!p)
                        return -ENOMEM;
                w->items = p;
                w->cap = cap;
        }
        item = &w->items[w->n];
        *item = (Want) { .group = group };
        item->fds = calloc(n_fds ? n_fds : 1, sizeof(int));
        if (!item->fds)
                return -ENOMEM;
        for (size_t i = 0; i < n_fds; i++)
                if (fds[i] >= 0)
                        item->fds[item->n_fds++] = fds[i];
        if (item->n_fds == 0) {
                free(item->fds);
                return 0;
        }
        va_start(ap, fmt);
        vsnprintf(item->name, sizeof(item->name), fmt, ap);
        va_end(ap);
        w->n++;
        return 0;
}

static void want_list_done(WantList *w) {
        for (size_t i = 0; i < w->n; i++)
                free(w->items[i].fds);
        free(w->items);
}

#define want(w, fd, group, ...) want_fds(w, (const int[]) { fd }, 1, group, __VA_ARGS__)

/* Printable, no spaces: what the state file's fields may hold ("-" stands for the empty string). */
static void escape(FILE *f, const char *s) {
        if (!*s) {
                fputc('-', f);
                return;
        }
        for (; *s; s++) {
                unsigned char ch = (unsigned char) *s;

                if (ch > ' ' && ch < 127 && ch != '%' && ch != '-')
                        fputc(ch, f);
                else
                        fprintf(f, "%%%02x", ch);
        }
}

static void unescape(const char *in, char *out, size_t size) {
        size_t n = 0;

        if (strcmp(in, "-") == 0)
                in = "";
        for (; *in && n + 1 < size; in++) {
                unsigned v;

                if (in[0] == '%' && sscanf(in + 1, "%2x", &v) == 1) {
                        out[n++] = (char) v;
                        in += 2;
                } else
                        out[n++] = *in;
        }
        out[n] = 0;
}

/* The kernel's eventfd-id of @fd (unique while the eventfd lives), -1 if not an eventfd or too old a kernel. */
static int eventfd_id(int fd) {
        long long id = fdinfo_number(fd, "eventfd-id", 10);

        return id >= 0 && id <= INT_MAX ? (int) id : -1;
}

/*
 * A lease's records.  Its container, groups and eventfds go under one name;
 * an eventfd whose eventfd-id the kernel does not show goes under one of its
 * own (its record then has no id).
 */
static int collect_lease(const Connection *c, Lease *l, WantList *w, FILE *f) {
        _cleanup_free_ int *fds = NULL;
        size_t n_fds = 1 + l->n_groups, n = 0;
        int r = 0;

        for (size_t i = 0; i < l->n_devices; i++)
                n_fds += l->devices[i].n_eventfds;
        fds = calloc(n_fds, sizeof(int));
        if (!fds)
                return -ENOMEM;
        fprintf(f, "lease %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %llu %llu\n", l->id, c->id, l->since_usec,
                l->memlock, (unsigned long long) l->saved_memlock.rlim_cur,
                (unsigned long long) l->saved_memlock.rlim_max);
        fds[n++] = l->container_fd;
        for (size_t i = 0; i < l->n_groups; i++) {
                fprintf(f, "group %" PRIu64 " %d\n", l->id, l->groups[i]->number);
                fds[n++] = l->groups[i]->fd;
        }
        for (size_t i = 0; i < l->n_devices; i++) {
                LeasedDevice *d = &l->devices[i];

                fprintf(f, "device %" PRIu64 " %zu %s %d %" PRIu32 "\n", l->id, i, d->bdf, d->group->number,
                        d->irq_indices);
                for (size_t k = 0; k < d->n_eventfds; k++) {
                        LeaseEventfd *e = &d->eventfds[k];

                        if (e->id == -1) {
                                int id = eventfd_id(e->fd);

                                e->id = id >= 0 ? id : -2; /* -2: the kernel shows none */
                        }
                        fprintf(f, "eventfd %" PRIu64 " %zu %zu %d %d %" PRIu32, l->id, i, k, e->kind, e->irq_type,
                                e->vector);
                        if (e->id >= 0) {
                                fprintf(f, " %d\n", e->id);
                                fds[n++] = e->fd;
                        } else {
                                fputc('\n', f);
                                r = r < 0 ? r : want(w, e->fd, false, "vb-l%" PRIu64 "-d%zu-e%zu", l->id, i, k);
                        }
                }
        }
        return r < 0 ? r : want_fds(w, fds, n, l->n_groups > 0, "vb-l%" PRIu64, l->id);
}

static int collect(Broker *b, WantList *w, FILE *f) {
        Connection *c;
        Group *g;
        int r = 0;

        fprintf(f, "vfio-broker-state 1\n");
        LIST_FOREACH(c, &b->connections, link) {
                Lease *l;

                if (!LIST_FIRST(&c->leases))
                        continue;
                fprintf(f, "conn %" PRIu64 " %u %u %u ", c->id, (unsigned) c->uid, (unsigned) c->gid,
                        (unsigned) c->pid);
                escape(f, c->cgroup);
                fputc(' ', f);
                escape(f, c->label);
                fputc(' ', f);
                escape(f, c->name);
                fputc('\n', f);
                r = r < 0 ? r : want_fds(w, (const int[]) { c->fd, c->pidfd }, 2, false, "vb-c%" PRIu64, c->id);
                LIST_FOREACH(l, &c->leases, link)
                        r = r < 0 ? r : collect_lease(c, l, w, f);
        }
        LIST_FOREACH(g, &b->groups, link)
                if (g->state == GROUP_QUARANTINED) {
                        fprintf(f, "quarantine %d %" PRIu64 " %u\n", g->number, g->lease_id, (unsigned) g->uid);
                        r = r < 0 ? r : want(w, g->fd, true, "vb-q%d", g->number);
                }
        for (size_t i = 0; i < b->n_used_groups; i++)
                fprintf(f, "used %d %u\n", b->used_groups[i].number, (unsigned) b->used_groups[i].uid);
        return r;
}

static const Want *find_want(const WantList *w, const char *name) {
        for (size_t i = 0; i < w->n; i++)
                if (strcmp(w->items[i].name, name) == 0)
                        return &w->items[i];
        return NULL;
}

static StoredName *find_stored(const Broker *b, const char *name) {
        for (size_t i = 0; i < b->n_stored; i++)
                if (strcmp(b->stored[i].name, name) == 0)
                        return &b->stored[i];
        return NULL;
}

static void forget_stored(Broker *b) {
        for (size_t i = 0; i < b->n_stored; i++)
                free(b->stored[i].name);
        free(b->stored);
        b->stored = NULL;
        b->n_stored = 0;
}

/*
 * Bring the FD store in line with @w.  A name is dropped when no longer
 * wanted, or when the store may hold an fd under it that we do not want
 * (adoption let go of it).  A name is sent when new, when dropped just now,
 * or when it has more fds than the store holds (a lease's new group): sent
 * with all of them, since systemd keeps an fd it already holds once.  Drops
 * go first, and once a group fd was dropped the broker waits until systemd
 * has closed its copy: until then nobody can open the group.
 */
static int sync_store(Broker *b, const WantList *w) {
        bool dropped_group = false;
        StoredName *names;
        char msg[128];
        int r;

        for (size_t i = 0; i < b->n_stored; i++) {
                const Want *want = find_want(w, b->stored[i].name);

                if (want && b->stored[i].n_fds <= want->n_fds)
                        continue;
                snprintf(msg, sizeof(msg), "FDSTOREREMOVE=1\nFDNAME=%s", b->stored[i].name);
                (void) sd_notify(0, msg);
                b->stored[i].n_fds = 0; /* the store holds nothing under it now */
                dropped_group = dropped_group || b->stored[i].group;
        }
        if (dropped_group) {
                r = sd_notify_barrier(0, BARRIER_TIMEOUT_USEC);
                if (r < 0)
                        log_warning("the service manager did not confirm it let go of a group fd: %s; "
                                    "the group may stay busy for a moment", strerror(-r));
        }
        for (size_t i = 0; i < w->n; i++) {
                const StoredName *s = find_stored(b, w->items[i].name);

                if (s && s->n_fds >= w->items[i].n_fds)
                        continue;
                snprintf(msg, sizeof(msg), "FDSTORE=1\nFDPOLL=0\nFDNAME=%s", w->items[i].name);
                /* In parts if need be: systemd adds up the fds sent under one name. */
                for (size_t k = 0; k < w->items[i].n_fds; k += FDS_PER_MESSAGE) {
                        size_t n = w->items[i].n_fds - k < FDS_PER_MESSAGE ? w->items[i].n_fds - k : FDS_PER_MESSAGE;

                        r = sd_pid_notify_with_fds(0, 0, msg, w->items[i].fds + k, (unsigned) n);
                        if (r <= 0) {
                                log_warning("cannot keep %s in the FD store: %s; a restart would lose it",
                                            w->items[i].name, r < 0 ? strerror(-r) : "no service manager");
                                break;
                        }
                }
        }

        names = calloc(w->n + 1, sizeof(*names));
        if (!names)
                return -ENOMEM;
        for (size_t i = 0; i < w->n; i++) {
                names[i] = (StoredName) { .name = strdup(w->items[i].name), .n_fds = w->items[i].n_fds,
                                          .group = w->items[i].group };
                if (!names[i].name) {
                        for (size_t k = 0; k < i; k++)
                                free(names[k].name);
                        free(names);
                        return -ENOMEM;
                }
        }
        forget_stored(b);
        b->stored = names;
        b->n_stored = w->n;
        return 0;
}

static void persist_now(Broker *b) {
        _cleanup_free_ char *tmp = NULL;
        WantList w = {};
        FILE *f;
        int r;

        if (asprintf(&tmp, "%s.tmp", state_path) < 0)
                return log_error("cannot write the state: out of memory");
        f = fopen(tmp, "we");
        if (!f) {
                log_error("cannot write %s: %s; a restart would lose the leases", tmp, strerror(errno));
                return;
        }
        r = collect(b, &w, f);
        if (fclose(f) != 0 && r >= 0)
                r = -errno;
        if (r >= 0 && rename(tmp, state_path) < 0)
                r = -errno;
        if (r >= 0)
                r = sync_store(b, &w);
        if (r < 0)
                log_error("cannot save the state for restarts: %s", strerror(-r));
        want_list_done(&w);
}

void broker_state_changed(Broker *b) {
        if (b->state_hold > 0) {
                b->state_dirty = true;
                return;
        }
        /* At once: a group fd left in the store would keep the next client from opening the group. */
        if (b->persist && !b->keep_leases)
                persist_now(b);
}

void broker_state_hold(Broker *b) {
        b->state_hold++;
}

void broker_state_unhold(Broker *b) {
        if (--b->state_hold > 0 || !b->state_dirty)
                return;
        b->state_dirty = false;
        broker_state_changed(b);
}

int persist_enable(Broker *b, const char *state_file) {
        free(state_path);
        state_path = strdup(state_file);
        if (!state_path)
                return -ENOMEM;
        b->persist = true;
        return 0;
}

void persist_disable(Broker *b) {
        forget_stored(b);
        free(state_path);
        state_path = NULL;
        b->persist = false;
}

void persist_end(Broker *b) {
        if (state_path && unlink(state_path) < 0 && errno != ENOENT)
                log_warning("cannot remove %s: %s; the next start will find leases gone", state_path, strerror(errno));
        persist_disable(b);
}

/* ---- adoption ---- */

typedef enum FdKind {
        FD_ANY,
        FD_OTHER,
        FD_SOCKET,
        FD_NOT_SOCKET,  /* asked for only: anything but a socket */
        FD_CONTAINER,
        FD_GROUP,       /* number: the group's */
        FD_EVENTFD,     /* number: its eventfd-id */
} FdKind;

typedef struct FdId {
        FdKind kind;
        int number;
} FdId;

/* What a stored fd is, found out once: systemd hands fds back in no particular order. */
static FdId identify(int fd) {
        struct stat st;
        int number = -1;

        if (fstat(fd, &st) < 0)
                return (FdId) { FD_OTHER };
        if (S_ISSOCK(st.st_mode))
                return (FdId) { FD_SOCKET };
        switch (vfio_fd_kind(fd, &number)) {
        case VFIO_FD_CONTAINER:
                return (FdId) { FD_CONTAINER };
        case VFIO_FD_GROUP:
                return (FdId) { FD_GROUP, number };
        case VFIO_FD_OTHER:
                break;
        }
        number = eventfd_id(fd);
        return number >= 0 ? (FdId) { FD_EVENTFD, number } : (FdId) { FD_OTHER };
}

/* The fds systemd gave back, each with its name and what it is. */
typedef struct Store {
        StoredFd *fds;
        FdId *ids;
        size_t n;
} Store;

static bool fd_is(FdId id, FdKind kind, int number) {
        switch (kind) {
        case FD_ANY:
                return true;
        case FD_NOT_SOCKET:
                return id.kind != FD_SOCKET;
        case FD_GROUP:
        case FD_EVENTFD:
                return id.kind == kind && id.number == number;
        default:
                return id.kind == kind;
        }
}

/* The first stored fd of that name and @kind (and @number), out of @s; -ENOENT if none. */
static int take_kind(Store *s, FdKind kind, int number, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int take_kind(Store *s, FdKind kind, int number, const char *fmt, ...) {
        char name[64];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(name, sizeof(name), fmt, ap);
        va_end(ap);
        for (size_t i = 0; i < s->n; i++)
                if (s->fds[i].name && strcmp(s->fds[i].name, name) == 0 && s->fds[i].fd >= 0 &&
                    fd_is(s->ids[i], kind, number)) {
                        int fd = s->fds[i].fd;

                        s->fds[i].fd = -EBADF;
                        return fd;
                }
        return -ENOENT;
}

#define take(s, ...) take_kind(s, FD_ANY, 0, __VA_ARGS__)

static int adopt_line(Broker *b, char *line, Store *s) {
        char kind[16], s1[512], s2[512], s3[512];
        uint64_t id, other, since, memlock;
        unsigned long long cur, max;
        unsigned uid, gid, pid, u32;
        int number, k1, k2, fields;
        size_t i1, i2;
        Lease *l;
        int r;

        if (sscanf(line, "%15s", kind) != 1)
                return 0;
        if (strcmp(kind, "conn") == 0 &&
            sscanf(line, "conn %" SCNu64 " %u %u %u %511s %511s %511s", &id, &uid, &gid, &pid, s1, s2, s3) == 7) {
                Connection saved = { .id = id, .uid = uid, .gid = gid, .pid = (pid_t) pid }, *c;
                int fd = take_kind(s, FD_SOCKET, 0, "vb-c%" PRIu64, id);
                int pidfd = take_kind(s, FD_NOT_SOCKET, 0, "vb-c%" PRIu64, id);

                if (pidfd < 0) /* stored by an older broker */
                        pidfd = take(s, "vb-c%" PRIu64 "-pidfd", id);

                unescape(s1, saved.cgroup, sizeof(saved.cgroup));
                unescape(s2, saved.label, sizeof(saved.label));
                unescape(s3, saved.name, sizeof(saved.name));
                if (fd < 0 || pidfd < 0) {
                        safe_close(fd);
                        safe_close(pidfd);
                        return log_errno(LOG_WARNING, -EBADF, "connection %" PRIu64 ": its fds are not in the store", id);
                }
                r = connection_adopt(b, fd, pidfd, &saved, &c);
                if (r < 0) {
                        safe_close(fd);
                        safe_close(pidfd);
                }
                return r;
        }
        if (strcmp(kind, "lease") == 0 &&
            sscanf(line, "lease %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %llu %llu", &id, &other, &since,
                   &memlock, &cur, &max) == 6) {
                Connection *c;
                int fd = take_kind(s, FD_CONTAINER, 0, "vb-l%" PRIu64, id);

                if (fd < 0) /* stored by an older broker */
                        fd = take(s, "vb-l%" PRIu64 "-ctr", id);
                LIST_FOREACH(c, &b->connections, link)
                        if (c->id == other)
                                break;
                if (!c || fd < 0) {
                        safe_close(fd);
                        return log_errno(LOG_WARNING, -ENOENT, "lease %" PRIu64 ": its connection or container is gone", id);
                }
                r = lease_new(c, &l);
                if (r < 0) {
                        safe_close(fd);
                        return r;
                }
                b->next_lease_id--; /* lease_new() counted one */
                l->id = id;
                if (b->next_lease_id < id)
                        b->next_lease_id = id;
                l->since_usec = since;
                l->memlock = memlock;
                l->saved_memlock = (struct rlimit) { .rlim_cur = cur, .rlim_max = max };
                l->container_fd = fd;
                return 0;
        }
        if (strcmp(kind, "group") == 0 && sscanf(line, "group %" SCNu64 " %d", &id, &number) == 2) {
                int fd = take_kind(s, FD_GROUP, number, "vb-l%" PRIu64, id);
                Group *g;

                if (fd < 0) /* stored by an older broker */
                        fd = take(s, "vb-l%" PRIu64 "-g%d", id, number);
                l = broker_find_lease(b, id);
                if (!l || fd < 0 || broker_find_group(b, number)) {
                        safe_close(fd);
                        return log_errno(LOG_WARNING, -ENOENT, "lease %" PRIu64 ": group %d: its lease or fd is "
                                         "gone, or another record holds it", id, number);
                }
                r = group_new(b, number, fd, NULL, 0, &g);
                if (r < 0) {
                        safe_close(fd);
                        return r;
                }
                r = lease_add_group(l, g);
                if (r < 0)
                        group_free(g);
                return r;
        }
        if (strcmp(kind, "device") == 0 && sscanf(line, "device %" SCNu64 " %zu %511s %d %u", &id, &i1, s1, &number, &u32) == 5) {
                LeasedDevice d = { .fd = -EBADF, .irq_indices = u32 };

                l = broker_find_lease(b, id);
                d.group = broker_find_group(b, number);
                if (!l || !d.group || !lease_has_group(l, d.group) || strlen(s1) > BDF_STRLEN || l->n_devices != i1)
                        return -ENOENT;
                string_copy(d.bdf, sizeof(d.bdf), s1);
                r = vfio_group_get_device(d.group->fd, d.bdf, &d.fd);
                if (r < 0)
                        return log_errno(LOG_WARNING, r, "lease %" PRIu64 ": reopening %s: %s", id, d.bdf, strerror(-r));
                r = lease_add_device(l, &d);
                if (r < 0)
                        safe_close(d.fd);
                return r;
        }
        if (strcmp(kind, "eventfd") == 0 &&
            (fields = sscanf(line, "eventfd %" SCNu64 " %zu %zu %d %d %u %d", &id, &i1, &i2, &k1, &k2, &u32, &number)) >= 6) {
                int fd = fields == 7 ? take_kind(s, FD_EVENTFD, number, "vb-l%" PRIu64, id) :
                                       take(s, "vb-l%" PRIu64 "-d%zu-e%zu", id, i1, i2);

                l = broker_find_lease(b, id);
                if (!l || i1 >= l->n_devices || fd < 0) {
                        safe_close(fd);
                        return -ENOENT;
                }
                return leased_device_keep_eventfd(&l->devices[i1], fd, k1, k2, u32);
        }
        if (strcmp(kind, "quarantine") == 0 && sscanf(line, "quarantine %d %" SCNu64 " %u", &number, &id, &uid) == 3) {
                int fd = take_kind(s, FD_GROUP, number, "vb-q%d", number);
                Group *g;

                if (fd < 0)
                        return -ENOENT;
                if (broker_find_group(b, number)) {
                        safe_close(fd);
                        return log_errno(LOG_WARNING, -EEXIST, "quarantine of group %d: another record holds it", number);
                }
                r = group_new(b, number, fd, NULL, 0, &g);
                if (r < 0) {
                        safe_close(fd);
                        return r;
                }
                g->lease_id = id;
                g->uid = uid;
                group_quarantine(g);
                return 0;
        }
        if (strcmp(kind, "used") == 0 && sscanf(line, "used %d %u", &number, &uid) == 2) {
                broker_mark_group_used(b, number, uid);
                return 0;
        }
        return 0;
}

/*
 * What the store holds once adoption is done: each name with the fds adopted
 * from it, or marked as holding fds we closed (sync_store() drops it then).
 */
static int note_stored(Broker *b, const Store *store) {
        forget_stored(b);
        b->stored = calloc(store->n + 1, sizeof(*b->stored));
        if (!b->stored)
                return -ENOMEM;
        for (size_t i = 0; i < store->n; i++) {
                const StoredFd *fd = &store->fds[i];
                StoredName *s;

                if (!fd->name)
                        continue;
                s = find_stored(b, fd->name);
                if (!s) {
                        s = &b->stored[b->n_stored];
                        *s = (StoredName) { .name = strdup(fd->name) };
                        if (!s->name)
                                return -ENOMEM;
                        b->n_stored++;
                }
                if (fd->fd >= 0)
                        s->n_fds = SIZE_MAX;
                else if (s->n_fds != SIZE_MAX)
                        s->n_fds++;
                s->group = s->group || store->ids[i].kind == FD_GROUP;
        }
        return 0;
}

int persist_adopt(Broker *b, StoredFd *fds, size_t n) {
        _cleanup_free_ FdId *ids = calloc(n + 1, sizeof(FdId));
        Store store = { .fds = fds, .ids = ids, .n = n };
        FILE *f;
        char line[2048];
        size_t n_leases = 0;
        Connection *c;
        unsigned bad = 0;

        if (!ids)
                return -ENOMEM;
        broker_state_hold(b); /* written once, when all is adopted (a quarantine would write it midway) */
        for (size_t i = 0; i < n; i++)
                ids[i] = fds[i].fd >= 0 ? identify(fds[i].fd) : (FdId) { FD_OTHER };
        f = state_path ? fopen(state_path, "re") : NULL;
        if (f && (!fgets(line, sizeof(line), f) || strcmp(line, "vfio-broker-state 1\n") != 0)) {
                log_error("%s is not a state file this broker reads: nothing adopted", state_path);
                fclose(f);
                f = NULL;
        }
        while (f && fgets(line, sizeof(line), f))
                if (adopt_line(b, line, &store) < 0)
                        bad++;
        if (f)
                fclose(f);
        LIST_FOREACH(c, &b->connections, link) {
                Lease *l;

                LIST_FOREACH(l, &c->leases, link)
                        n_leases++;
        }
        if (n_leases > 0 || bad > 0)
                log_notice("restart: adopted %zu lease(s) from the FD store%s", n_leases,
                           bad ? "; some records could not be adopted (see above)" : "");
        /* The store holds what it held: start from there, then write what we have. */
        if (note_stored(b, &store) < 0)
                log_error("cannot keep track of the FD store: out of memory");
        /* Whatever is left in the store belongs to nothing we know of. */
        for (size_t i = 0; i < n; i++)
                if (fds[i].fd >= 0) {
                        log_warning("FD store: an fd under %s is not one the state file names; closing it",
                                    fds[i].name ? fds[i].name : "?");
                        fds[i].fd = safe_close(fds[i].fd);
                }
        broker_state_changed(b);
        broker_state_unhold(b);
        return 0;
}
