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
} GroupState;

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
/* Let go of a group whose lease ended: detach it, or quarantine it until it can be. */
void group_release(Group *g);
Group *group_free(Group *g);
const char *group_state_name(GroupState state);
