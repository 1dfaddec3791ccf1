/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "policy/policy.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/bdf.h"
#include "common/util.h"

#define MAX_NAME 64
#define MAX_VALUES 256

typedef enum SectionKind { SECTION_NONE, SECTION_BROKER, SECTION_POOL, SECTION_GRANT } SectionKind;

typedef struct Parser {
        Policy *policy;
        const char *file;
        const char *pos;                /* the rest of the text */
        unsigned line;                  /* of the line inih handles now */
        unsigned section_line;
        PolicyError *err;
        bool failed;
        char section[INI_MAX_LINE];     /* as inih names it */
        SectionKind kind;
        size_t index;                   /* of the pool or grant being filled */
        unsigned seen;                  /* scalar keys set in this section */
} Parser;

static int fail(Parser *ps, unsigned line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(Parser *ps, unsigned line, const char *fmt, ...) {
        va_list ap;

        if (ps->failed)
                return 0;
        ps->failed = true;
        snprintf(ps->err->file, sizeof(ps->err->file), "%s", ps->file);
        ps->err->line = line;
        va_start(ap, fmt);
        vsnprintf(ps->err->message, sizeof(ps->err->message), fmt, ap);
        va_end(ap);
        return 0; /* stops inih */
}

void policy_init(Policy *p) {
        *p = (Policy) { .reset_required = true, .recall_grace_sec = POLICY_DEFAULT_RECALL_GRACE_SEC, .recall_escalate = true };
}

static void free_strv(char **v, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
}

void policy_done(Policy *p) {
        for (size_t i = 0; i < p->n_pools; i++) {
                Pool *pool = &p->pools[i];

                free(pool->name);
                free(pool->file);
                free(pool->devices);
                free(pool->ids);
                free(pool->classes);
                free(pool->groups);
        }
        for (size_t i = 0; i < p->n_grants; i++) {
                Grant *g = &p->grants[i];

                free(g->name);
                free(g->file);
                free_strv(g->pool_names, g->n_pool_names);
                free(g->pools);
                free_strv(g->users, g->n_users);
                free(g->uids);
                free_strv(g->groups, g->n_groups);
                free(g->gids);
                free_strv(g->cgroups, g->n_cgroups);
                free_strv(g->labels, g->n_labels);
        }
        free(p->pools);
        free(p->grants);
        policy_init(p);
}

/* Append @size bytes at @item to the array *@v of *@n items. */
static int push(void *v, size_t *n, size_t size, const void *item) {
        void **array = v;
        char *p;

        if (*n >= MAX_VALUES)
                return -E2BIG;
        p = realloc(*array, (*n + 1) * size);
        if (!p)
                return -ENOMEM;
        memcpy(p + *n * size, item, size);
        *array = p;
        (*n)++;
        return 0;
}

static int push_str(char ***v, size_t *n, const char *s) {
        char *copy = strdup(s);
        int r;

        if (!copy)
                return -ENOMEM;
        r = push(v, n, sizeof(char *), &copy);
        if (r < 0)
                free(copy);
        return r;
}

static bool valid_name(const char *s) {
        size_t n = strlen(s);

        if (n == 0 || n > MAX_NAME)
                return false;
        for (; *s; s++)
                if (!isalnum((unsigned char) *s) && !strchr("_.-@", *s))
                        return false;
        return true;
}

/* ---- values ---- */

static int parse_bool(const char *s, bool *ret) {
        static const char *const yes[] = { "yes", "true", "on", "1" }, *const no[] = { "no", "false", "off", "0" };

        for (size_t i = 0; i < 4; i++) {
                if (strcmp(s, yes[i]) == 0) {
                        *ret = true;
                        return 0;
                }
                if (strcmp(s, no[i]) == 0) {
                        *ret = false;
                        return 0;
                }
        }
        return -EINVAL;
}

static int parse_uint(const char *s, unsigned long long max, unsigned long long *ret) {
        unsigned long long v;
        char *end;

        if (!isdigit((unsigned char) s[0]))
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno || *end || v > max)
                return -EINVAL;
        *ret = v;
        return 0;
}

int parse_size(const char *s, uint64_t *ret) {
        static const char units[] = "KMGT";
        unsigned long long v;
        const char *u;
        char num[32];
        size_t len = strlen(s);
        unsigned shift = 0;

        if (len == 0 || len >= sizeof(num))
                return -EINVAL;
        memcpy(num, s, len + 1);
        u = strchr(units, toupper((unsigned char) num[len - 1]));
        if (num[len - 1] && u) {
                shift = 10 * (unsigned) (u - units + 1);
                num[len - 1] = 0;
        }
        if (parse_uint(num, UINT64_MAX >> shift, &v) < 0)
                return -EINVAL;
        *ret = (uint64_t) v << shift;
        return 0;
}

static int hex_value(const char *s, size_t min_digits, size_t max_digits, uint32_t *ret) {
        size_t n = strlen(s);
        uint32_t v = 0;

        if (n < min_digits || n > max_digits)
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                if (!isxdigit((unsigned char) s[i]))
                        return -EINVAL;
                v = v * 16 + (uint32_t) (isdigit((unsigned char) s[i]) ? s[i] - '0' : tolower((unsigned char) s[i]) - 'a' + 10);
        }
        *ret = v;
        return 0;
}

static int parse_backend(const char *s, unsigned *mask) {
        if (strcmp(s, "legacy") == 0)
                *mask |= POLICY_BACKEND_LEGACY;
        else if (strcmp(s, "iommufd") == 0)
                *mask |= POLICY_BACKEND_IOMMUFD;
        else
                return -EINVAL;
        return 0;
}

static int parse_irq(const char *s, unsigned *mask) {
        static const char *const names[] = { "intx", "msi", "msix", "err", "req" };

        for (unsigned i = 0; i < 5; i++)
                if (strcmp(s, names[i]) == 0) {
                        *mask |= 1u << i;
                        return 0;
                }
        return -EINVAL;
}

/* ---- sections and keys ---- */

#define SEEN(ps, bit) ((ps)->seen & (1u << (bit)))

static int begin_section(Parser *ps, const char *section) {
        Policy *p = ps->policy;
        const char *name;

        snprintf(ps->section, sizeof(ps->section), "%s", section);
        ps->seen = 0;
        if (strcmp(section, "Broker") == 0) {
                ps->kind = SECTION_BROKER;
                return 1;
        }
        if (strncmp(section, "Pool ", 5) == 0)
                ps->kind = SECTION_POOL;
        else if (strncmp(section, "Grant ", 6) == 0)
                ps->kind = SECTION_GRANT;
        else
                return fail(ps, ps->section_line, "unknown section [%s]; expected [Broker], [Pool NAME] or [Grant NAME]",
                            section);
        name = strchr(section, ' ') + 1;
        if (!valid_name(name))
                return fail(ps, ps->section_line, "bad name \"%s\": 1 to %d letters, digits, '_', '.', '-', '@'",
                            name, MAX_NAME);

        if (ps->kind == SECTION_POOL) {
                Pool pool = { .line = ps->section_line };

                for (size_t i = 0; i < p->n_pools; i++)
                        if (strcmp(p->pools[i].name, name) == 0)
                                return fail(ps, ps->section_line, "duplicate pool \"%s\" (first at %s:%u)", name,
                                            p->pools[i].file, p->pools[i].line);
                pool.name = strdup(name);
                pool.file = strdup(ps->file);
                if (!pool.name || !pool.file || push(&p->pools, &p->n_pools, sizeof(pool), &pool) < 0) {
                        free(pool.name);
                        free(pool.file);
                        return fail(ps, ps->section_line, "out of memory");
                }
                ps->index = p->n_pools - 1;
        } else {
                Grant grant = { .line = ps->section_line };

                for (size_t i = 0; i < p->n_grants; i++)
                        if (strcmp(p->grants[i].name, name) == 0)
                                return fail(ps, ps->section_line, "duplicate grant \"%s\" (first at %s:%u)", name,
                                            p->grants[i].file, p->grants[i].line);
                grant.name = strdup(name);
                grant.file = strdup(ps->file);
                if (!grant.name || !grant.file || push(&p->grants, &p->n_grants, sizeof(grant), &grant) < 0) {
                        free(grant.name);
                        free(grant.file);
                        return fail(ps, ps->section_line, "out of memory");
                }
                ps->index = p->n_grants - 1;
        }
        return 1;
}

static int broker_key(Parser *ps, const char *key, const char *value) {
        static const char *const keys[] = {
                "AllowUnsafeInterrupts", "AllowNoIommu", "ResetRequired", "RecallGraceSec", "RecallEscalation",
        };
        bool *bools[] = { &ps->policy->allow_unsafe_interrupts, &ps->policy->allow_noiommu,
                          &ps->policy->reset_required };
        unsigned long long grace;
        unsigned i;

        for (i = 0; i < ELEMENTSOF(keys) && strcmp(key, keys[i]) != 0; i++)
                ;
        if (i == ELEMENTSOF(keys))
                return fail(ps, ps->line, "unknown key %s in [Broker]", key);
        if (SEEN(ps, i))
                return fail(ps, ps->line, "%s set twice in [Broker]", key);
        ps->seen |= 1u << i;
        if (i < ELEMENTSOF(bools)) {
                if (parse_bool(value, bools[i]) < 0)
                        return fail(ps, ps->line, "%s=%s: expected yes or no", key, value);
        } else if (i == 3) {
                if (parse_uint(value, POLICY_MAX_RECALL_GRACE_SEC, &grace) < 0)
                        return fail(ps, ps->line, "RecallGraceSec=%s: expected whole seconds from 0 to %u", value,
                                    POLICY_MAX_RECALL_GRACE_SEC);
                ps->policy->recall_grace_sec = (unsigned) grace;
        } else if (strcmp(value, "kill") == 0 || strcmp(value, "none") == 0)
                ps->policy->recall_escalate = value[0] == 'k';
        else
                return fail(ps, ps->line, "RecallEscalation=%s: expected kill (SIGTERM, then SIGKILL) or none", value);
        return 1;
}

static int pool_value(Parser *ps, Pool *pool, const char *key, const char *v) {
        if (strcmp(key, "Device") == 0) {
                char bdf[BDF_STRLEN + 1];

                if (bdf_normalize(v, bdf) < 0)
                        return fail(ps, ps->line, "Device=%s: not a PCI address like 0000:00:03.0", v);
                return push(&pool->devices, &pool->n_devices, sizeof(bdf), bdf) < 0 ? fail(ps, ps->line, "too many values") : 1;
        }
        if (strcmp(key, "VendorDevice") == 0) {
                const char *colon = strchr(v, ':');
                PoolId id = { .device = -1 };
                char vendor[8];
                uint32_t x;

                if (!colon || colon - v != 4)
                        return fail(ps, ps->line, "VendorDevice=%s: expected VVVV:DDDD or VVVV:* in hex", v);
                memcpy(vendor, v, 4);
                vendor[4] = 0;
                if (hex_value(vendor, 4, 4, &x) < 0)
                        return fail(ps, ps->line, "VendorDevice=%s: expected VVVV:DDDD or VVVV:* in hex", v);
                id.vendor = (uint16_t) x;
                if (strcmp(colon + 1, "*") != 0) {
                        if (hex_value(colon + 1, 4, 4, &x) < 0)
                                return fail(ps, ps->line, "VendorDevice=%s: expected VVVV:DDDD or VVVV:* in hex", v);
                        id.device = (int32_t) x;
                }
                return push(&pool->ids, &pool->n_ids, sizeof(id), &id) < 0 ? fail(ps, ps->line, "too many values") : 1;
        }
        if (strcmp(key, "Class") == 0) {
                PoolClass c;

                if (strncmp(v, "0x", 2) != 0 || hex_value(v + 2, 1, 6, &c.value) < 0)
                        return fail(ps, ps->line, "Class=%s: expected 0x and 1 to 6 hex digits (a prefix of the class)", v);
                c.digits = (unsigned) strlen(v + 2);
                return push(&pool->classes, &pool->n_classes, sizeof(c), &c) < 0 ? fail(ps, ps->line, "too many values") : 1;
        }
        if (strcmp(key, "Managed") == 0) {
                if (pool->has_managed)
                        return fail(ps, ps->line, "Managed set twice in [Pool %s]", pool->name);
                if (parse_bool(v, &pool->managed) < 0)
                        return fail(ps, ps->line, "Managed=%s: expected yes or no", v);
                pool->has_managed = true;
                return 1;
        }
        if (strcmp(key, "IommuGroup") == 0) {
                unsigned long long g;
                int group;

                if (parse_uint(v, 1u << 30, &g) < 0)
                        return fail(ps, ps->line, "IommuGroup=%s: expected a group number", v);
                group = (int) g;
                return push(&pool->groups, &pool->n_groups, sizeof(group), &group) < 0 ? fail(ps, ps->line, "too many values") : 1;
        }
        return fail(ps, ps->line, "unknown key %s in [Pool %s]", key, pool->name);
}

static int grant_value(Parser *ps, Grant *g, const char *key, const char *v) {
        unsigned long long n;

        if (strcmp(key, "Pool") == 0) {
                if (!valid_name(v))
                        return fail(ps, ps->line, "Pool=%s: not a pool name", v);
                g->pool_line = g->pool_line ? g->pool_line : ps->line;
                return push_str(&g->pool_names, &g->n_pool_names, v) < 0 ? fail(ps, ps->line, "too many values") : 1;
        }
        if (strcmp(key, "User") == 0 || strcmp(key, "Group") == 0) {
                bool user = key[0] == 'U';

                if (!valid_name(v))
                        return fail(ps, ps->line, "%s=%s: not a name or number", key, v);
                if (user)
                        g->user_line = g->user_line ? g->user_line : ps->line;
                else
                        g->group_line = g->group_line ? g->group_line : ps->line;
                return push_str(user ? &g->users : &g->groups, user ? &g->n_users : &g->n_groups, v) < 0
                               ? fail(ps, ps->line, "too many values") : 1;
        }
        if (strcmp(key, "Cgroup") == 0) {
                if (v[0] != '/')
                        return fail(ps, ps->line, "Cgroup=%s: expected a path from the cgroup root, starting with /", v);
                return push_str(&g->cgroups, &g->n_cgroups, v) < 0 ? fail(ps, ps->line, "too many values") : 1;
        }
        if (strcmp(key, "SecurityLabel") == 0)
                return push_str(&g->labels, &g->n_labels, v) < 0 ? fail(ps, ps->line, "too many values") : 1;
        if (strcmp(key, "MaxDevices") == 0) {
                if (g->has_max_devices)
                        return fail(ps, ps->line, "MaxDevices set twice in [Grant %s]", g->name);
                if (parse_uint(v, 4096, &n) < 0 || n == 0)
                        return fail(ps, ps->line, "MaxDevices=%s: expected a number from 1 to 4096", v);
                g->has_max_devices = true;
                g->max_devices = (unsigned) n;
                return 1;
        }
        if (strcmp(key, "MemlockLimit") == 0) {
                if (g->has_memlock)
                        return fail(ps, ps->line, "MemlockLimit set twice in [Grant %s]", g->name);
                if (parse_size(v, &g->memlock) < 0)
                        return fail(ps, ps->line, "MemlockLimit=%s: expected a size like 512M or 16G", v);
                g->has_memlock = true;
                return 1;
        }
        if (strcmp(key, "Irq") == 0) {
                if (parse_irq(v, &g->irq_mask) < 0)
                        return fail(ps, ps->line, "Irq=%s: expected intx, msi, msix, err or req", v);
                g->has_irq = true;
                return 1;
        }
        if (strcmp(key, "Backend") == 0) {
                if (parse_backend(v, &g->backend_mask) < 0)
                        return fail(ps, ps->line, "Backend=%s: expected legacy or iommufd", v);
                g->has_backend = true;
                return 1;
        }
        return fail(ps, ps->line, "unknown key %s in [Grant %s]", key, g->name);
}

/* Split @value on blanks (a blank then '#' starts a comment) and hand each word over. */
static int for_each_word(Parser *ps, const char *key, const char *value) {
        char buf[INI_MAX_LINE], *save = NULL, *word, *hash;
        int words = 0, r = 1;

        snprintf(buf, sizeof(buf), "%s", value);
        for (hash = buf; (hash = strchr(hash, '#')); hash++)
                if (hash == buf || isspace((unsigned char) hash[-1])) {
                        *hash = 0;
                        break;
                }
        for (word = strtok_r(buf, " \t", &save); word && r > 0; word = strtok_r(NULL, " \t", &save), words++) {
                if (ps->kind == SECTION_BROKER) {
                        if (words > 0)
                                return fail(ps, ps->line, "%s takes one value", key);
                        r = broker_key(ps, key, word);
                } else if (ps->kind == SECTION_POOL)
                        r = pool_value(ps, &ps->policy->pools[ps->index], key, word);
                else
                        r = grant_value(ps, &ps->policy->grants[ps->index], key, word);
        }
        if (r > 0 && words == 0)
                return fail(ps, ps->line, "%s has no value", key);
        return r;
}

static int on_entry(void *user, const char *section, const char *name, const char *value) {
        Parser *ps = user;

        if (ps->failed)
                return 0;
        if (!*section)
                return fail(ps, ps->line, "%s= outside of any section", name);
        if (ps->kind == SECTION_NONE)
                return fail(ps, ps->line, "%s= outside of any section", name);
        return for_each_word(ps, name, value);
}

/* inih's line reader: counts lines and refuses ones it would cut. */
static char *read_line(char *buf, int size, void *stream) {
        Parser *ps = stream;
        const char *end;
        size_t len;

        if (ps->failed || !*ps->pos)
                return NULL;
        end = strchr(ps->pos, '\n');
        len = end ? (size_t) (end - ps->pos) + 1 : strlen(ps->pos);
        ps->line++;
        if (len >= (size_t) size - 1) {
                fail(ps, ps->line, "line longer than %d bytes", size - 2);
                return NULL;
        }
        memcpy(buf, ps->pos, len);
        buf[len] = 0;
        ps->pos += len;
        if (ps->line == 1 && strncmp(buf, "\xef\xbb\xbf", 3) == 0) {
                fail(ps, ps->line, "the file starts with a UTF-8 byte order mark: save it without one");
                return NULL;
        }
        if (isspace((unsigned char) *buf) && *buf != '\n') {
                const char *text = buf;

                while (isspace((unsigned char) *text))
                        text++;
                /* inih would take it as the value above continued: "User=nobody" then "  0" would be root */
                if (*text && *text != '#' && *text != ';') {
                        fail(ps, ps->line, "an indented line (\"%.40s\"): every key and section starts at the beginning "
                             "of its line, and a value does not continue on the next one", strtok(buf + (text - buf), "\r\n"));
                        return NULL;
                }
        }
        while (isspace((unsigned char) *buf) && *buf != '\n')
                buf++;
        if (*buf == '[') {
                /* Sections begin here, not at their first key: an empty one counts too. */
                const char *close = strchr(buf, ']');
                char name[INI_MAX_LINE];
                size_t n;

                if (!close) {
                        fail(ps, ps->line, "syntax error: [ without ]");
                        return NULL;
                }
                {
                        const char *rest = close + 1;

                        while (*rest == ' ' || *rest == '\t' || *rest == '\r' || *rest == '\n')
                                rest++;
                        if (*rest && *rest != '#' && *rest != ';') {
                                fail(ps, ps->line, "text after the section header (\"%.40s\"): put each key on a line "
                                     "of its own below it", strtok((char *) rest, "\r\n"));
                                return NULL;
                        }
                }
                {
                        n = (size_t) (close - buf - 1);
                        memcpy(name, buf + 1, n);
                        name[n] = 0;
                        ps->section_line = ps->line;
                        if (begin_section(ps, name) <= 0)
                                return NULL;
                }
        }
        return buf;
}

int policy_parse_text(Policy *p, const char *file, const char *text, PolicyError *err) {
        return policy_parse_buffer(p, file, text, strlen(text), err);
}

int policy_parse_buffer(Policy *p, const char *file, const char *text, size_t size, PolicyError *err) {
        Parser ps = { .policy = p, .file = file, .pos = text, .err = err };
        const char *nul;
        int r;

        if (size > 1024 * 1024)
                return fail(&ps, 0, "file larger than 1 MiB"), -EINVAL;
        nul = memchr(text, 0, size);
        if (nul) {
                unsigned line = 1;

                for (const char *c = text; c < nul; c++)
                        line += *c == '\n';
                return fail(&ps, line, "a NUL byte: a policy file is text; is this the file you meant?"), -EINVAL;
        }
        r = ini_parse_stream(read_line, &ps, on_entry, &ps);
        if (ps.failed)
                return -EINVAL;
        if (r != 0) {
                fail(&ps, r > 0 ? (unsigned) r : ps.line, "syntax error: expected [Section] or Key=Value");
                return -EINVAL;
        }
        return 0;
}

static int resolve_id(const char *s, int (*lookup)(const char *, uint32_t *), uint32_t *ret) {
        unsigned long long v;

        if (parse_uint(s, UINT32_MAX - 1, &v) >= 0) {
                *ret = (uint32_t) v;
                return 0;
        }
        return lookup ? lookup(s, ret) : -ENOENT;
}

static int grant_finish(Policy *p, Grant *g, const PolicyResolver *resolver, PolicyError *err) {
        Parser ps = { .file = g->file, .err = err };

        if (g->n_pool_names == 0)
                return fail(&ps, g->line, "grant \"%s\" has no Pool=", g->name), -EINVAL;
        if (g->n_users + g->n_groups + g->n_cgroups + g->n_labels == 0)
                return fail(&ps, g->line, "grant \"%s\" names no one: give User=, Group=, Cgroup= or SecurityLabel=",
                            g->name), -EINVAL;
        g->pools = calloc(g->n_pool_names, sizeof(size_t));
        g->uids = calloc(g->n_users + 1, sizeof(uid_t));
        g->gids = calloc(g->n_groups + 1, sizeof(gid_t));
        if (!g->pools || !g->uids || !g->gids)
                return fail(&ps, g->line, "out of memory"), -ENOMEM;
        for (size_t i = 0; i < g->n_pool_names; i++) {
                size_t k;

                for (k = 0; k < p->n_pools && strcmp(p->pools[k].name, g->pool_names[i]) != 0; k++)
                        ;
                if (k == p->n_pools)
                        return fail(&ps, g->pool_line, "grant \"%s\" names unknown pool \"%s\"", g->name,
                                    g->pool_names[i]), -EINVAL;
                g->pools[i] = k;
        }
        for (size_t i = 0; i < g->n_users; i++)
                if (resolve_id(g->users[i], resolver ? resolver->user : NULL, &g->uids[i]) < 0)
                        return fail(&ps, g->user_line, "unknown user \"%s\"", g->users[i]), -EINVAL;
        for (size_t i = 0; i < g->n_groups; i++)
                if (resolve_id(g->groups[i], resolver ? resolver->group : NULL, &g->gids[i]) < 0)
                        return fail(&ps, g->group_line, "unknown group \"%s\"", g->groups[i]), -EINVAL;
        return 0;
}

int policy_finish(Policy *p, const PolicyResolver *resolver, PolicyError *err) {
        for (size_t i = 0; i < p->n_grants; i++) {
                int r = grant_finish(p, &p->grants[i], resolver, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

