/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "system/persist.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "system/records.h"
#include "util/log.h"

struct Persist {
        Broker *broker;
        char *state_path;
        FdStore store;
};

typedef struct Writing {
        Broker *broker;
        WantList want;
} Writing;

static int write_records(FILE *f, void *userdata) {
        Writing *w = userdata;

        return records_write(f, w->broker, &w->want);
}

static void persist_now(Persist *p) {
        Writing w = { .broker = p->broker };
        int r;

        r = state_file_write(p->state_path, write_records, &w);
        if (r >= 0)
                r = fdstore_sync(&p->store, &w.want);
        if (r < 0)
                log_error("cannot save the state for restarts (%s): %s; a restart would lose the leases",
                          p->state_path, strerror(-r));
        want_list_done(&w.want);
}

static void on_state_changed(Broker *b, void *userdata) {
        /* At once: a group fd left in the store would keep the next client from opening the group. */
        if (b->ending != BROKER_LEAVING)
                persist_now(userdata);
}

static const BrokerObserver persist_observer = {
        .state_changed = on_state_changed,
};

int persist_new(Broker *b, const char *state_file, Persist **ret) {
        Persist *p;
        int r;

        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        *p = (Persist) { .broker = b, .state_path = strdup(state_file) };
        r = p->state_path ? broker_observe(b, &persist_observer, p) : -ENOMEM;
        if (r < 0) {
                free(p->state_path);
                free(p);
                return r;
        }
        *ret = p;
        return 0;
}

Persist *persist_free(Persist *p) {
        if (!p)
                return NULL;
        broker_unobserve(p->broker, &persist_observer, p);
        fdstore_forget(&p->store);
        free(p->state_path);
        free(p);
        return NULL;
}

Persist *persist_end(Persist *p) {
        if (p && unlink(p->state_path) < 0 && errno != ENOENT)
                log_warning("cannot remove %s: %s; the next start will find leases gone", p->state_path, strerror(errno));
        return persist_free(p);
}

int persist_adopt(Persist *p, StoredFd *fds, size_t n) {
        Broker *b = p->broker;
        Returned returned;
        Adoption a = { .broker = b, .returned = &returned };
        const char *why = NULL;
        unsigned bad = 0;
        size_t n_leases;
        int r;

        r = returned_init(&returned, b->config.backend, fds, n);
        if (r < 0)
                return r;
        broker_hold(b); /* written once, when all is adopted (a quarantine would write it midway) */
        r = state_file_read(p->state_path, record_kinds, n_record_kinds, &a, &bad, &why);
        if (r < 0 && r != -ENOENT)
                log_error("%s is %s: nothing adopted; the FD store's %zu fd(s) are closed (a group a client still "
                          "holds stays busy in the kernel until its fds close)",
                          p->state_path, why ? why : strerror(-r), n);
        n_leases = broker_count_leases(b);
        if (n_leases > 0 || bad > 0)
                log_notice("restart: adopted %zu lease(s) from the FD store%s", n_leases,
                           bad ? "; some records could not be adopted (see above)" : "");
        /* The store holds what it held: start from there, then write what we have. */
        if (fdstore_note_returned(&p->store, &returned) < 0)
                log_error("cannot keep track of the FD store: out of memory");
        /* Whatever is left in the store belongs to nothing we know of. */
        returned_close_rest(&returned);
        returned_done(&returned);
        broker_changed(b);
        broker_unhold(b);
        return 0;
}
