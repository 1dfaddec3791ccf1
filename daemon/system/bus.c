/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The D-Bus admin API, on sd-bus, driven by the daemon's event loop: the bus
 * fd is watched for reading (and for writing while sd-bus has output queued)
 * and sd_bus_process() runs until it has nothing left.  The only calls the
 * daemon makes itself (Hello, RequestName) are asynchronous: a bus that does
 * not answer never holds up the clients.  The one exception is asking the
 * service manager, on the way out, whether a restart follows (at most 1 s).
 *
 * Without a bus, at start or when it goes away (dbus-daemon restarted), the
 * daemon connects again after 1 s, then after twice as long each time, up to
 * a minute: the admin API comes back on its own.
 */
#include "system/bus.h"

#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-bus.h>

#include "broker/connection.h"
#include "broker/devices.h"
#include "broker/group.h"
#include "broker/lease.h"
#include "common/sysfs.h"
#include "common/util.h"
#include "util/log.h"

#define RECONNECT_FIRST_USEC 1000000ULL
#define ASK_MANAGER_USEC 1000000ULL
#define RECONNECT_MAX_USEC 60000000ULL

/* RequestName's answers (the D-Bus specification). */
#define BUS_NAME_PRIMARY_OWNER 1
#define BUS_NAME_IN_QUEUE 2
#define BUS_NAME_ALREADY_OWNER 4

struct Bus {
        Broker *broker;
        Loop *loop;
        sd_bus *bus;                    /* NULL while there is no bus */
        Source *io;
        Source *retry;                  /* the next attempt to connect */
        uint64_t backoff_usec;
        BusReloadFn reload;
        void *reload_userdata;
        bool have_admin_gid;
        gid_t admin_gid;
};

static void bus_flush_later(Bus *b) {
        int events = sd_bus_get_events(b->bus);

        if (events >= 0 && source_set_io_write(b->io, events & POLLOUT) < 0)
                log_warning("D-Bus: cannot watch the bus for writing");
}

static void bus_lost(Bus *b, int error);
static void on_retry(Source *s, void *userdata);

static void on_bus_io(Source *s, int fd, void *userdata) {
        Bus *b = userdata;
        int r;

        do
                r = sd_bus_process(b->bus, NULL);
        while (r > 0);
        if (r < 0)
                /* The bus went away: the broker keeps serving clients and connects again later. */
                return bus_lost(b, r);
        bus_flush_later(b);
}

/* Does the user database put @uid in @gid (as dbus-daemon's group="" policies see it)? */
static bool user_in_group(uid_t uid, gid_t gid) {
        struct passwd *pw = getpwuid(uid);
        gid_t groups[256];
        int n = (int) (sizeof(groups) / sizeof(groups[0]));

        if (!pw)
                return false;
        if (pw->pw_gid == gid)
                return true;
        if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &n) < 0)
                return false;
        for (int i = 0; i < n; i++)
                if (groups[i] == gid)
                        return true;
        return false;
}

/*
 * Root, or a member of the admin group: -EACCES with @error set otherwise.
 * The uid comes from the bus (taken from the peer's socket); membership from
 * the user database, the same source the bus policy's group rule uses.
 */
static int check_admin(Bus *b, sd_bus_message *m, sd_bus_error *error) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        uid_t uid;
        int r;

        r = sd_bus_query_sender_creds(m, SD_BUS_CREDS_EUID, &creds);
        if (r >= 0)
                r = sd_bus_creds_get_euid(creds, &uid);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "cannot tell who is calling: %s", strerror(-r));
        if (uid == 0 || (b->have_admin_gid && user_in_group(uid, b->admin_gid)))
                return 0;
        return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                 "uid %u is neither root nor in the %s group", (unsigned) uid, BUS_ADMIN_GROUP);
}

static const char *state_name(DeviceState state) {
        switch (state) {
        case DEVICE_FREE: return "free";
        case DEVICE_LEASED: return "leased";
        case DEVICE_QUARANTINED: return "quarantined";
        case DEVICE_RESETTING: return "resetting";
        case DEVICE_RECALLED: return "recalled";
        default: return "unavailable";
        }
}

/* The admin API's one table of the broker's refusals as D-Bus errors. */
static const char *const error_names[_BROKER_CODE_MAX] = {
        [BROKER_E_UNKNOWN_LEASE] = BUS_NAME ".Error.UnknownLease",
};

static int bus_refuse(sd_bus_error *error, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bus_refuse(sd_bus_error *error, int code, const char *fmt, ...) {
        char message[256];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(message, sizeof(message), fmt, ap);
        va_end(ap);
        return sd_bus_error_setf(error, code > 0 && code < _BROKER_CODE_MAX && error_names[code] ? error_names[code]
                                                                                                 : SD_BUS_ERROR_FAILED,
                                 "%s", message);
}

/* ListDevices() -> a(sqqsistu): bdf, vendor, device, driver, IOMMU group, state, lease, holder uid */
static int method_list_devices(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ PciDevice *all = NULL;
        Bus *b = userdata;
        size_t n;
        int r;

        r = check_admin(b, m, error);
        if (r < 0)
                return r;
        r = sysfs_list_devices(b->broker->config.sysfs_root, &all, &n);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "cannot read PCI devices: %s", strerror(-r));
        r = sd_bus_message_new_method_return(m, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(sqqsistu)");
        for (size_t i = 0; r >= 0 && i < n; i++) {
                const PciDevice *d = &all[i];
                DeviceView v;

                broker_view_device(b->broker, NULL, d, &v);
                r = sd_bus_message_append(reply, "(sqqsistu)", d->bdf, (uint16_t) d->vendor, (uint16_t) d->device,
                                          d->driver, (int32_t) d->iommu_group, state_name(v.state), v.lease_id,
                                          (uint32_t) v.holder_uid);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int append_lease(sd_bus_message *reply, const Lease *l) {
        int r;

        r = sd_bus_message_open_container(reply, 'r', "tuusauast");
        if (r >= 0)
                r = sd_bus_message_append(reply, "tuus", l->id, (uint32_t) l->uid, (uint32_t) l->pid,
                                          l->connection ? l->connection->cgroup : "");
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "u");
        for (size_t i = 0; r >= 0 && i < l->n_groups; i++)
                r = sd_bus_message_append(reply, "u", (uint32_t) l->groups[i]->number);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "s");
        for (size_t i = 0; r >= 0 && i < l->n_devices; i++)
                r = sd_bus_message_append(reply, "s", l->devices[i].bdf);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_message_append(reply, "t", l->since_usec);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        return r;
}

/* An admin method's reply: an array of @type, what @append makes of each lease of every connection. */
static int reply_each_lease(sd_bus_message *m, Bus *b, sd_bus_error *error, const char *type,
                            int (*append)(sd_bus_message *reply, const Lease *l)) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Connection *c;
        int r;

        r = check_admin(b, m, error);
        if (r < 0)
                return r;
        r = sd_bus_message_new_method_return(m, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', type);
        LIST_FOREACH(c, &b->broker->connections, link) {
                Lease *l;

                LIST_FOREACH(l, &c->leases, link)
                        if (r >= 0)
                                r = append(reply, l);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

/* ListLeases() -> a(tuusauast): id, uid, pid, cgroup, IOMMU groups, devices, since (µs, realtime) */
static int method_list_leases(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return reply_each_lease(m, userdata, error, "(tuusauast)", append_lease);
}

/*
 * ReleaseLease(t id): recall the lease (broker/recall.c): the client is told and
 * has the policy's grace to release it, then the escalation.  Returns at once.
 */
static int method_release_lease(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Bus *b = userdata;
        char why[128];
        uint64_t id;
        Lease *l;
        int r;

        r = check_admin(b, m, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(m, "t", &id);
        if (r < 0)
                return r;
        l = broker_find_lease(b->broker, id);
        if (!l)
                return bus_refuse(error, BROKER_E_UNKNOWN_LEASE, "there is no lease %llu", (unsigned long long) id);
        snprintf(why, sizeof(why), "an administrator asked for it over D-Bus");
        lease_recall(l, why);
        return sd_bus_reply_method_return(m, "");
}

/* ReloadPolicy(): as SIGHUP; a broken policy is an error and the one in force stays. */
static int method_reload_policy(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Bus *b = userdata;
        char why[512];
        int r;

        r = check_admin(b, m, error);
        if (r < 0)
                return r;
        r = b->reload(b->reload_userdata, why, sizeof(why));
        if (r < 0)
                return sd_bus_error_setf(error, BUS_NAME ".Error.PolicyInvalid", "%s", why);
        return sd_bus_reply_method_return(m, "");
}

static int property_count(sd_bus *bus, const char *path, const char *interface, const char *property,
                          sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Bus *b = userdata;
        uint32_t n = 0;
        Connection *c;
        Group *g;

        if (strcmp(property, "Connections") == 0)
                LIST_FOREACH(c, &b->broker->connections, link)
                        n++;
        else if (strcmp(property, "Leases") == 0) {
                LIST_FOREACH(c, &b->broker->connections, link) {
                        Lease *l;

                        LIST_FOREACH(l, &c->leases, link)
                                n++;
                }
        } else
                LIST_FOREACH(g, &b->broker->groups, link)
                        if ((g->state == GROUP_LEASED) == (strcmp(property, "LeasedGroups") == 0))
                                n++;
        return sd_bus_message_append(reply, "u", n);
}

static int append_recall(sd_bus_message *reply, const Lease *l) {
        if (l->recall.step == RECALL_NONE)
                return 0;
        return sd_bus_message_append(reply, "(tsst)", l->id, l->recall.step == RECALL_ASKED ? "asked" : "sigterm",
                                     l->recall.why, l->recall.since_usec);
}

/* ListRecalls() -> a(tsst): each lease the broker wants back: id, step ("asked", "sigterm"), why, since (µs, realtime) */
static int method_list_recalls(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return reply_each_lease(m, userdata, error, "(tsst)", append_recall);
}

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Connections", "u", property_count, 0, 0),
        SD_BUS_PROPERTY("Leases", "u", property_count, 0, 0),
        SD_BUS_PROPERTY("LeasedGroups", "u", property_count, 0, 0),
        SD_BUS_PROPERTY("QuarantinedGroups", "u", property_count, 0, 0),
        SD_BUS_METHOD("ListDevices", "", "a(sqqsistu)", method_list_devices, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("ListLeases", "", "a(tuusauast)", method_list_leases, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("ListRecalls", "", "a(tsst)", method_list_recalls, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("ReleaseLease", "t", "", method_release_lease, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("ReloadPolicy", "", "", method_reload_policy, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL("LeaseAcquired", "tuuas", 0),
        SD_BUS_SIGNAL("LeaseReleased", "tus", 0),
        SD_BUS_VTABLE_END,
};

static void on_lease_acquired(Lease *l, void *userdata) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        Bus *b = userdata;
        int r;

        if (!b->bus)
                return;
        r = sd_bus_message_new_signal(b->bus, &m, BUS_PATH, BUS_INTERFACE, "LeaseAcquired");
        if (r >= 0)
                r = sd_bus_message_append(m, "tuu", l->id, (uint32_t) l->uid, (uint32_t) l->pid);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "s");
        for (size_t i = 0; r >= 0 && i < l->n_devices; i++)
                r = sd_bus_message_append(m, "s", l->devices[i].bdf);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_send(b->bus, m, NULL);
        if (r < 0)
                log_warning("D-Bus: cannot send LeaseAcquired: %s", strerror(-r));
        bus_flush_later(b);
}

static void on_lease_released(Lease *l, const char *why, void *userdata) {
        Bus *b = userdata;
        int r;

        if (!b->bus)
                return;
        r = sd_bus_emit_signal(b->bus, BUS_PATH, BUS_INTERFACE, "LeaseReleased", "tus", l->id, (uint32_t) l->uid, why);
        if (r < 0)
                log_warning("D-Bus: cannot send LeaseReleased: %s", strerror(-r));
        bus_flush_later(b);
}

static const BrokerObserver bus_observer = {
        .lease_acquired = on_lease_acquired,
        .lease_released = on_lease_released,
};

/*
 * The name is asked for with a place in its queue: while another connection
 * has it (an older broker whose bus connection outlives it for a moment after
 * a restart) the admin API waits, and the bus hands the name over (NameAcquired)
 * as soon as that connection lets go, instead of this broker going without.
 */
static int on_name_reply(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        const sd_bus_error *e = sd_bus_message_get_error(m);
        uint32_t result = 0;

        if (e) {
                log_error("D-Bus: cannot own %s: %s", BUS_NAME, e->message ? e->message : e->name);
                return 0;
        }
        (void) sd_bus_message_read(m, "u", &result);
        if (result == BUS_NAME_IN_QUEUE)
                log_notice("D-Bus: %s belongs to another connection; the admin API starts once it lets go", BUS_NAME);
        else if (result != BUS_NAME_PRIMARY_OWNER && result != BUS_NAME_ALREADY_OWNER)
                log_error("D-Bus: cannot own %s (RequestName answered %u)", BUS_NAME, (unsigned) result);
        return 0; /* the owner hears NameAcquired, which says so */
}

/* NameAcquired and NameLost name the name (our unique name too, at Hello). */
static bool about_our_name(sd_bus_message *m) {
        const char *name = NULL;

        return sd_bus_message_read(m, "s", &name) >= 0 && name && strcmp(name, BUS_NAME) == 0;
}

static int on_name_acquired(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        if (about_our_name(m))
                log_info("D-Bus: serving the admin API as %s", BUS_NAME);
        return 0;
}

static int on_name_lost(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        if (about_our_name(m))
                log_error("D-Bus: lost %s: the admin API is off", BUS_NAME);
        return 0;
}

/* The bus driver's word on our name (sent to us alone), then the request. */
static int request_name(sd_bus *bus, Bus *b) {
        int r;

        r = sd_bus_match_signal_async(bus, NULL, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                      "NameAcquired", on_name_acquired, NULL, b);
        if (r >= 0)
                r = sd_bus_match_signal_async(bus, NULL, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                              "org.freedesktop.DBus", "NameLost", on_name_lost, NULL, b);
        if (r >= 0)
                r = sd_bus_request_name_async(bus, NULL, BUS_NAME, SD_BUS_NAME_QUEUE, on_name_reply, b);
        return r;
}

static int bus_connect(Bus *b) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        r = sd_bus_open_system(&bus);
        if (r >= 0)
                r = sd_bus_add_object_vtable(bus, NULL, BUS_PATH, BUS_INTERFACE, manager_vtable, b);
        if (r >= 0)
                r = request_name(bus, b);
        if (r >= 0)
                r = loop_add_io(b->loop, sd_bus_get_fd(bus), on_bus_io, b, &b->io);
        if (r < 0)
                return r;
        b->bus = TAKE_PTR(bus);
        b->backoff_usec = RECONNECT_FIRST_USEC;
        bus_flush_later(b);
        return 0;
}

static void retry_later(Bus *b) {
        int r;

        r = b->retry ? source_set_timer(b->retry, b->backoff_usec)
                     : loop_add_timer(b->loop, b->backoff_usec, on_retry, b, &b->retry);
        if (r < 0)
                log_error("D-Bus: cannot arm the reconnection timer: %s; the admin API stays off", strerror(-r));
}

static void on_retry(Source *s, void *userdata) {
        Bus *b = userdata;
        int r;

        r = bus_connect(b);
        if (r >= 0) {
                log_notice("D-Bus: connected to the system bus again");
                return;
        }
        log_debug("D-Bus: still no system bus (%s)", strerror(-r));
        b->backoff_usec = b->backoff_usec * 2 > RECONNECT_MAX_USEC ? RECONNECT_MAX_USEC : b->backoff_usec * 2;
        retry_later(b);
}

static void bus_lost(Bus *b, int error) {
        log_error("D-Bus: connection lost (%s); the admin API is off until the bus is back", strerror(-error));
        b->io = source_free(b->io);
        b->bus = sd_bus_flush_close_unref(b->bus);
        retry_later(b); /* after 1 s: bus_connect() reset the backoff */
}

int bus_new(Broker *broker, Loop *loop, BusReloadFn reload, void *userdata, Bus **ret) {
        struct group *gr;
        Bus *b;
        int r;

        b = calloc(1, sizeof(*b));
        if (!b)
                return -ENOMEM;
        *b = (Bus) { .broker = broker, .loop = loop, .reload = reload, .reload_userdata = userdata,
                     .backoff_usec = RECONNECT_FIRST_USEC };
        gr = getgrnam(BUS_ADMIN_GROUP);
        if (gr) {
                b->have_admin_gid = true;
                b->admin_gid = gr->gr_gid;
        }
        r = broker_observe(broker, &bus_observer, b);
        if (r < 0) {
                free(b);
                return r;
        }
        r = bus_connect(b);
        if (r < 0) {
                log_notice("no D-Bus system bus (%s): the admin API is off until there is one; clients are served as ever",
                           strerror(-r));
                retry_later(b);
        }
        *ret = b;
        return 0;
}

int bus_restart_pending(Bus *b) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *unit_reply = NULL, *job_reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *type = NULL;
        const char *unit, *job;
        uint32_t job_id;
        int r;

        if (!b || !b->bus)
                return -ENOTCONN;
        r = sd_bus_set_method_call_timeout(b->bus, ASK_MANAGER_USEC);
        if (r >= 0)
                r = sd_bus_call_method(b->bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                       "org.freedesktop.systemd1.Manager", "GetUnitByPID", &error, &unit_reply, "u",
                                       (uint32_t) getpid());
        if (r >= 0)
                r = sd_bus_message_read(unit_reply, "o", &unit);
        if (r >= 0)
                r = sd_bus_get_property(b->bus, "org.freedesktop.systemd1", unit, "org.freedesktop.systemd1.Unit", "Job",
                                        &error, &job_reply, "(uo)");
        if (r >= 0)
                r = sd_bus_message_read(job_reply, "(uo)", &job_id, &job);
        if (r < 0)
                return r;
        if (job_id == 0)
                return 0; /* stopped without a job (systemctl kill): nothing starts it again */
        r = sd_bus_get_property_string(b->bus, "org.freedesktop.systemd1", job, "org.freedesktop.systemd1.Job",
                                       "JobType", &error, &type);
        if (r < 0)
                return r;
        return strcmp(type, "restart") == 0;
}

Bus *bus_free(Bus *b) {
        if (!b)
                return NULL;
        broker_unobserve(b->broker, &bus_observer, b);
        source_free(b->io);
        source_free(b->retry);
        sd_bus_flush_close_unref(b->bus);
        free(b);
        return NULL;
}
