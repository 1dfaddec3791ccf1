/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The policy: who may lease which devices.  policy_parse_text() is a pure
 * function of text (libinih underneath, no I/O): files are parsed one after
 * the other into one Policy, then policy_finish() resolves pool, user and
 * group names.  policy_decide() answers one question: may this identity lease
 * this device with these interrupts, and under which grant.  The format and
 * its semantics are documented in policy/README.md.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define POLICY_IRQ_INTX (1u << 0)
#define POLICY_IRQ_MSI (1u << 1)
#define POLICY_IRQ_MSIX (1u << 2)
#define POLICY_IRQ_ERR (1u << 3)
#define POLICY_IRQ_REQ (1u << 4)

/* How a device is asked for: its fds from the legacy container/group API, or from iommufd (driver or VMM mode). */
#define POLICY_BACKEND_LEGACY (1u << 0)
#define POLICY_BACKEND_IOMMUFD (1u << 1)

typedef struct PolicyError {
        char file[256];
        unsigned line;
        char message[256];
} PolicyError;

typedef struct PoolId {
        uint16_t vendor;
        int32_t device;                 /* -1: any */
} PoolId;

typedef struct PoolClass {
        uint32_t value;                 /* the digits given, as a number */
        unsigned digits;                /* how many hex digits: a prefix of the 6 */
} PoolClass;

typedef struct Pool {
        char *name;
        char *file;
        unsigned line;
        char (*devices)[13];
        size_t n_devices;
        PoolId *ids;
        size_t n_ids;
        PoolClass *classes;
        size_t n_classes;
        int *groups;
        size_t n_groups;
        bool managed;                   /* Managed=yes: the broker binds its devices' groups to vfio-pci and back */
        bool has_managed;
} Pool;

typedef struct Grant {
        char *name;
        char *file;
        unsigned line;
        char **pool_names;
        size_t n_pool_names;
        unsigned pool_line;
        size_t *pools;                  /* indices into Policy.pools, after policy_finish() */
        char **users;
        size_t n_users;
        unsigned user_line;
        uid_t *uids;
        char **groups;
        size_t n_groups;
        unsigned group_line;
        gid_t *gids;
        char **cgroups;
        size_t n_cgroups;
        char **labels;
        size_t n_labels;
        bool has_max_devices;
        unsigned max_devices;
        bool has_memlock;
        uint64_t memlock;
        bool has_irq;
        unsigned irq_mask;
        bool has_backend;
        unsigned backend_mask;          /* POLICY_BACKEND_* */
} Grant;

#define POLICY_DEFAULT_RECALL_GRACE_SEC 5
#define POLICY_MAX_RECALL_GRACE_SEC 3600
/* After the SIGTERM of an escalation, the holders' time to exit before SIGKILL. */
#define POLICY_RECALL_KILL_SEC 2

typedef struct Policy {
        bool allow_unsafe_interrupts;
        bool allow_noiommu;
        bool reset_required;
        unsigned recall_grace_sec;      /* a recalled lease's time to be released before the escalation */
        bool recall_escalate;           /* RecallEscalation=kill (SIGTERM, then SIGKILL); false: none */
        Pool *pools;
        size_t n_pools;
        Grant *grants;
        size_t n_grants;
} Policy;

/* Name lookups for policy_finish(): 0 and the id, or -ENOENT. */
typedef struct PolicyResolver {
        int (*user)(const char *name, uid_t *ret);
        int (*group)(const char *name, gid_t *ret);
} PolicyResolver;

/* The getpwnam/getgrnam resolver. */
extern const PolicyResolver policy_nss_resolver;

void policy_init(Policy *p);
void policy_done(Policy *p);

/* Parse one file's @text into @p.  -EINVAL with *err filled on the first problem. */
int policy_parse_text(Policy *p, const char *file, const char *text, PolicyError *err);
/* The same for @size bytes of @text (a file as read): a NUL byte in them is an error, not the end. */
int policy_parse_buffer(Policy *p, const char *file, const char *text, size_t size, PolicyError *err);

/* After the last file: resolve names, check every grant.  -EINVAL with *err. */
int policy_finish(Policy *p, const PolicyResolver *resolver, PolicyError *err);

typedef struct PolicyIdentity {
        uid_t uid;
        gid_t gid;
        const gid_t *groups;            /* supplementary */
        size_t n_groups;
        const char *cgroup;             /* cgroup v2 path, "/..."; NULL: unverified, no Cgroup= matches */
        const char *label;              /* security label, "" when none */
} PolicyIdentity;

typedef struct PolicyDevice {
        const char *bdf;
        uint16_t vendor;
        uint16_t device;
        uint32_t class_code;
        int iommu_group;
} PolicyDevice;

bool pool_contains(const Pool *pool, const PolicyDevice *d);
bool grant_matches_identity(const Grant *g, const PolicyIdentity *id);

/*
 * The first grant (in file order) that lets @id lease @d with the IRQ types
 * in @irq_mask, or NULL with the reason in @why.
 */
/* Whether @d, leased by grant @g, is managed: a pool of @g that holds it says Managed=yes. */
bool policy_device_managed(const Policy *p, const Grant *g, const PolicyDevice *d);

const Grant *policy_decide(const Policy *p, const PolicyIdentity *id, const PolicyDevice *d, unsigned irq_mask,
                           unsigned backend,
                           char *why, size_t why_size);

/* "16G" -> bytes; K, M, G, T (powers of 1024) or none. */
int parse_size(const char *s, uint64_t *ret);
