/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: the policy parser, name resolution and a decision on what it accepted. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"

static int any_user(const char *name, uid_t *ret) {
        if (strlen(name) > 8)
                return -ENOENT;
        *ret = 1000;
        return 0;
}

static int any_group(const char *name, gid_t *ret) {
        if (name[0] == 'x')
                return -ENOENT;
        *ret = 100;
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const PolicyResolver resolver = { .user = any_user, .group = any_group };
        gid_t groups[] = { 100, 36 };
        PolicyIdentity id = { .uid = 1000, .gid = 1000, .groups = groups, .n_groups = 2,
                              .cgroup = "/machine.slice/ctr", .label = "u:r:svirt_t:s0" };
        PolicyDevice d = { .bdf = "0000:00:03.0", .vendor = 0x1234, .device = 0x11e8, .class_code = 0xff00,
                           .iommu_group = 1 };
        PolicyError err;
        char *text, why[384];
        Policy p;

        text = malloc(size + 1);
        if (!text)
                return 0;
        memcpy(text, data, size);
        text[size] = 0;
        policy_init(&p);
        if (policy_parse_buffer(&p, "fuzz.conf", text, size, &err) >= 0 && policy_finish(&p, &resolver, &err) >= 0)
                (void) policy_decide(&p, &id, &d, POLICY_IRQ_MSI, POLICY_BACKEND_LEGACY, why, sizeof(why));
        policy_done(&p);
        free(text);
        return 0;
}
