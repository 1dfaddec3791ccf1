/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * IOMMU groups the broker holds.  A group joins a lease whole; when the lease
 * ends the backend is asked to detach it.  While a device fd of the group is
 * still open anywhere (the client passed it on) the backend says "still
 * held": the group is then quarantined and asked again with a growing delay,
 * and only once it is out, after a reset where the devices offer one, is it
 * free again.  Which backend holds it, this file does not know.
 */

#include "broker/broker.h"
#include "common/bdf.h"

typedef enum GroupState {
        GROUP_LEASED,
        GROUP_QUARANTINED,
        GROUP_RESETTING,                /* its lease ended; closed, detached and reset off the loop */
} GroupState;

typedef struct GroupJob GroupJob;

/* Whoever waits for a release (its reply): called once every group of it is free or quarantined. */
typedef struct ReleaseWait {
        void (*done)(void *userdata, bool quarantined);
        void *userdata;
        unsigned pending;
        bool quarantined;
} ReleaseWait;

/* One pending step of its own (the caller's): release_wait_step() it when done adding groups. */
ReleaseWait *release_wait_new(void (*done)(void *userdata, bool quarantined), void *userdata);
void release_wait_step(ReleaseWait *w, bool quarantined);
/* The waiter is gone (its connection closed): the wait ends unheard. */
void release_wait_cancel(ReleaseWait *w);

struct Group {
        Broker *broker;
        int number;
        KernelGroup *kernel;
        GroupState state;
        Lease *lease;                   /* while leased */
        uint64_t lease_id;              /* the lease it is (or was, in quarantine) part of */
        uid_t uid;                      /* that lease's uid */
        char grant[65];                 /* the grant it was taken by (the reset ledger's tenant); "": not known */
        /* Its devices when it was taken: the acquire reply names them, the reset pass opens them. */
        char (*members)[BDF_STRLEN + 1];
        size_t n_members;
        Source *retry;                  /* quarantine: next attempt to detach */
        GroupJob *job;                  /* the kernel work of its release, while it runs */
        ReleaseWait *wait;              /* who waits for it to be free or quarantined */
        uint64_t backoff_usec;
        LIST_ENTRY(Group) link;
};

/*
 * Track @kernel (taken, also on failure) as group @number.  @members: its
 * devices, as just read from sysfs (taken); NULL to read them here.
 */
int group_new(Broker *b, int number, KernelGroup *kernel, char (*members)[BDF_STRLEN + 1], size_t n_members,
              Group **ret);
/* A group from before a restart that was quarantined: it waits again (@kernel taken). */
int group_adopt_quarantined(Broker *b, int number, KernelGroup *kernel, uint64_t lease_id, uid_t uid,
                            const char *grant);
/*
 * Let go of a group whose lease ended: close @closing (the lease's device fds
 * of it, taken), detach it, reset it, or quarantine it until it can be.  Work
 * that may sleep in the kernel (devices with a reset) runs off the loop: the
 * group is GROUP_RESETTING meanwhile.  @wait (or NULL) hears when it is done.
 */
void group_release(Group *g, int *closing, size_t n_closing, ReleaseWait *wait);
Group *group_free(Group *g);
const char *group_state_name(GroupState state);
