/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <unistd.h>

#include "policy/policy-load.h"
#include "policy/policy.h"
#include "test.h"

static int fake_user(const char *name, uid_t *ret) {
        if (strcmp(name, "alice") == 0) {
                *ret = 1000;
                return 0;
        }
        return -ENOENT;
}

static int fake_group(const char *name, gid_t *ret) {
        if (strcmp(name, "kvm") == 0) {
                *ret = 36;
                return 0;
        }
        return -ENOENT;
}

static const PolicyResolver resolver = { .user = fake_user, .group = fake_group };

/* Parse @text as FILE "t.conf" and finish; the result or the error's "FILE:LINE: message". */
static int load(Policy *p, const char *text, char *msg, size_t size) {
        PolicyError err = {};
        int r;

        policy_init(p);
        r = policy_parse_text(p, "t.conf", text, &err);
        if (r >= 0)
                r = policy_finish(p, &resolver, &err);
        if (r < 0)
                snprintf(msg, size, "%s:%u: %s", err.file, err.line, err.message);
        return r;
}

static void expect_rejected(const char *text, const char *want) {
        char msg[512] = "";
        Policy p;

        if (load(&p, text, msg, sizeof(msg)) >= 0 || !strstr(msg, want)) {
                fprintf(stderr, "policy:\n%s\nexpected error \"%s\", got \"%s\"\n", text, want, msg);
                exit(EXIT_FAILURE);
        }
        policy_done(&p);
}

static const char good[] =
        "# comment\n"
        "[Broker]\n"
        "AllowUnsafeInterrupts=yes   # inline comment\n"
        "ResetRequired=no\n"
        "RecallGraceSec=30\n"
        "RecallEscalation=none\n"
        "\n"
        "[Pool edu]\n"
        "VendorDevice=1234:11e8\n"
        "Device=0000:00:04.0 02:01.0\n"
        "\n"
        "[Pool nics]\n"
        "Managed=yes\n"
        "VendorDevice=8086:*\n"
        "Class=0x02\n"
        "IommuGroup=7 9\n"
        "\n"
        "[Grant tenant-a]\n"
        "Pool=edu\n"
        "User=alice 1005\n"
        "MaxDevices=2\n"
        "MemlockLimit=16G\n"
        "Irq=msi msix\n"
        "\n"
        "[Grant containers]\n"
        "Pool=edu nics\n"
        "Cgroup=/machine.slice/*\n"
        "Group=kvm\n"
        "\n"
        "[Grant labelled]\n"
        "Pool=nics\n"
        "SecurityLabel=*:svirt_t:*\n"
        "Backend=iommufd\n";

static void test_parse_good(void) {
        char msg[512] = "";
        Policy p;

        CHECK_EQ_INT(load(&p, good, msg, sizeof(msg)), 0);
        CHECK(p.allow_unsafe_interrupts);
        CHECK(!p.allow_noiommu);
        CHECK(!p.reset_required);
        CHECK_EQ_INT(p.recall_grace_sec, 30);
        CHECK(!p.recall_escalate);
        CHECK_EQ_INT(p.n_pools, 2);
        CHECK_EQ_INT(p.n_grants, 3);
        CHECK_EQ_STR(p.pools[0].devices[1], "0000:02:01.0");
        CHECK_EQ_INT(p.pools[1].ids[0].device, -1);
        CHECK_EQ_INT(p.grants[0].line, 18);
        CHECK(p.pools[1].managed && !p.pools[0].managed);
        CHECK_EQ_INT(p.grants[0].uids[0], 1000);
        CHECK_EQ_INT(p.grants[0].uids[1], 1005);
        CHECK_EQ_INT(p.grants[0].memlock, 16ULL << 30);
        CHECK_EQ_INT(p.grants[0].irq_mask, POLICY_IRQ_MSI | POLICY_IRQ_MSIX);
        CHECK_EQ_INT(p.grants[1].gids[0], 36);
        CHECK_EQ_INT(p.grants[1].pools[1], 1);
        policy_done(&p);
}

/* What the parser cannot mean is refused, naming FILE:LINE and the fix. */
static void test_cannot_mean(void) {
        static const char nul[] = "[Pool p]\nDevice=00:03.0\n\0[Grant g]\nPool=p\nUser=root\n";
        char dir[] = "/tmp/test-policy-XXXXXX";
        PolicyError err = {};
        Policy p;

        expect_rejected("\xef\xbb\xbf[Pool p]\nDevice=00:03.0\n", "t.conf:1: the file starts with a UTF-8 byte order mark");
        expect_rejected("[Pool p] junk\nDevice=00:03.0\n", "t.conf:1: text after the section header (\"junk\")");
        expect_rejected("[Pool p]  # a comment is fine\nDevice=00:03.0\n[Grant g]\nPool=p\nUser=nobody\n  0\n",
                        "t.conf:6: an indented line (\"0\")");
        expect_rejected("[Pool p]\n\tDevice=00:03.0\n", "t.conf:2: an indented line");
        policy_init(&p);
        CHECK_EQ_INT(policy_parse_buffer(&p, "t.conf", nul, sizeof(nul) - 1, &err), -EINVAL);
        CHECK_EQ_INT(err.line, 3);
        CHECK(strstr(err.message, "a NUL byte"));
        policy_done(&p);
        /* the defaults: 5 s of grace, then SIGTERM and SIGKILL */
        policy_init(&p);
        CHECK_EQ_INT(p.recall_grace_sec, 5);
        CHECK(p.recall_escalate);
        policy_done(&p);
        /* a directory given as the policy file */
        CHECK(mkdtemp(dir));
        policy_init(&p);
        CHECK(policy_load(&p, dir, true, "/nonexistent", &resolver, &err) < 0);
        CHECK(strstr(err.message, "a directory, not a policy file"));
        policy_done(&p);
        CHECK(rmdir(dir) == 0);
}

static void test_rejections(void) {
        expect_rejected("[Colours]\nRed=1\n", "t.conf:1: unknown section [Colours]");
        expect_rejected("[Broker]\n\nShiny=yes\n", "t.conf:3: unknown key Shiny in [Broker]");
        expect_rejected("[Broker]\nResetRequired=maybe\n", "t.conf:2: ResetRequired=maybe: expected yes or no");
        expect_rejected("[Broker]\nRecallGraceSec=-1\n", "t.conf:2: RecallGraceSec=-1: expected whole seconds from 0 to 3600");
        expect_rejected("[Broker]\nRecallGraceSec=3601\n", "t.conf:2: RecallGraceSec=3601: expected whole seconds");
        expect_rejected("[Broker]\nRecallGraceSec=5s\n", "t.conf:2: RecallGraceSec=5s: expected whole seconds");
        expect_rejected("[Broker]\nRecallGraceSec=1\nRecallGraceSec=2\n", "t.conf:3: RecallGraceSec set twice");
        expect_rejected("[Broker]\nRecallEscalation=term\n", "t.conf:2: RecallEscalation=term: expected kill");
        expect_rejected("[Broker]\nResetRequired=yes\nResetRequired=no\n", "t.conf:3: ResetRequired set twice");
        expect_rejected("[Broker]\nResetRequired=yes no\n", "t.conf:2: ResetRequired takes one value");
        expect_rejected("Key=1\n", "t.conf:1: Key= outside of any section");
        expect_rejected("[Pool a]\nDevice=0000:00:03\n", "t.conf:2: Device=0000:00:03: not a PCI address");
        expect_rejected("[Pool a]\nVendorDevice=12345:1\n", "t.conf:2: VendorDevice=12345:1: expected");
        expect_rejected("[Pool a]\nVendorDevice=1234:*x\n", "t.conf:2: VendorDevice=1234:*x");
        expect_rejected("[Pool a]\nClass=00ff\n", "t.conf:2: Class=00ff: expected 0x");
        expect_rejected("[Pool a]\nClass=0x1234567\n", "t.conf:2: Class=0x1234567");
        expect_rejected("[Pool a]\nIommuGroup=-1\n", "t.conf:2: IommuGroup=-1");
        expect_rejected("[Pool a]\nColour=blue\n", "t.conf:2: unknown key Colour in [Pool a]");
        expect_rejected("[Pool a]\nDevice=\n", "t.conf:2: Device has no value");
        expect_rejected("[Pool a]\nDevice=00:03.0\n[Pool a]\nDevice=00:04.0\n", "t.conf:3: duplicate pool \"a\" (first at t.conf:1)");
        expect_rejected("[Pool a b]\nDevice=00:03.0\n", "t.conf:1: bad name \"a b\"");
        expect_rejected("[Pool a]\nDevice=00:03.0\n[Grant g]\nPool=b\nUser=alice\n", "t.conf:4: grant \"g\" names unknown pool \"b\"");
        expect_rejected("[Pool a]\nDevice=00:03.0\n[Grant g]\nUser=alice\n", "t.conf:3: grant \"g\" has no Pool=");
        expect_rejected("[Pool a]\nDevice=00:03.0\n[Grant g]\nPool=a\nMaxDevices=2\n", "t.conf:3: grant \"g\" names no one");
        expect_rejected("[Pool a]\nDevice=00:03.0\n[Grant g]\nPool=a\nUser=mallory\n", "t.conf:5: unknown user \"mallory\"");
        expect_rejected("[Pool a]\nDevice=00:03.0\n[Grant g]\nPool=a\nGroup=wheel\n", "t.conf:5: unknown group \"wheel\"");
        expect_rejected("[Grant g]\nPool=a\nCgroup=machine.slice\n", "t.conf:3: Cgroup=machine.slice: expected a path");
        expect_rejected("[Grant g]\nMaxDevices=0\n", "t.conf:2: MaxDevices=0: expected a number from 1");
        expect_rejected("[Grant g]\nMaxDevices=1\nMaxDevices=2\n", "t.conf:3: MaxDevices set twice");
        expect_rejected("[Grant g]\nMemlockLimit=lots\n", "t.conf:2: MemlockLimit=lots: expected a size");
        expect_rejected("[Grant g]\nMemlockLimit=99999999999T\n", "t.conf:2: MemlockLimit=99999999999T");
        expect_rejected("[Grant g]\nIrq=msi nmi\n", "t.conf:2: Irq=nmi: expected intx");
        expect_rejected("[Grant g]\nBackend=legacy vfio\n", "t.conf:2: Backend=vfio: expected legacy or iommufd");
        expect_rejected("[Pool p]\nManaged=maybe\n", "t.conf:2: Managed=maybe: expected yes or no");
        expect_rejected("[Grant g]\nPool=a\n[Grant g]\n", "t.conf:3: duplicate grant \"g\"");
        expect_rejected("[Pool a]\njust words\n", "t.conf:2: syntax error");
        expect_rejected("[Pool a\nDevice=00:03.0\n", "t.conf:1: syntax error");
        {
                char text[400];

                memset(text, 'x', sizeof(text));
                memcpy(text, "[Pool a]\nDevice=", 16);
                text[sizeof(text) - 1] = 0;
                expect_rejected(text, "t.conf:2: line longer than");
        }
}

static void test_two_files(void) {
        PolicyError err = {};
        Policy p;

        policy_init(&p);
        CHECK_EQ_INT(policy_parse_text(&p, "a.conf", "[Pool x]\nDevice=00:03.0\n", &err), 0);
        CHECK_EQ_INT(policy_parse_text(&p, "b.conf", "[Grant g]\nPool=x\nUser=alice\n", &err), 0);
        CHECK_EQ_INT(policy_finish(&p, &resolver, &err), 0);
        CHECK_EQ_INT(policy_parse_text(&p, "c.conf", "\n[Pool x]\nDevice=00:04.0\n", &err), -EINVAL);
        CHECK_EQ_STR(err.file, "c.conf");
        CHECK_EQ_INT(err.line, 2);
        CHECK(strstr(err.message, "duplicate pool \"x\" (first at a.conf:1)"));
        policy_done(&p);
}

static void test_decide(void) {
        gid_t kvm[] = { 36 };
        PolicyIdentity alice = { .uid = 1000, .gid = 1000, .cgroup = "/user.slice", .label = "" };
        PolicyIdentity ctr = { .uid = 2000, .gid = 2000, .groups = kvm, .n_groups = 1,
                               .cgroup = "/machine.slice/libpod-1.scope/container", .label = "" };
        PolicyIdentity nobody = { .uid = 3000, .gid = 3000, .cgroup = "/", .label = "" };
        PolicyIdentity svirt = { .uid = 107, .gid = 107, .cgroup = "/", .label = "system_u:system_r:svirt_t:s0" };
        PolicyDevice edu = { .bdf = "0000:00:03.0", .vendor = 0x1234, .device = 0x11e8, .class_code = 0xff00, .iommu_group = 1 };
        PolicyDevice nic = { .bdf = "0000:05:00.0", .vendor = 0x8086, .device = 0x10d3, .class_code = 0x020000, .iommu_group = 4 };
        PolicyDevice gpu = { .bdf = "0000:06:00.0", .vendor = 0x10de, .device = 0x1, .class_code = 0x030000, .iommu_group = 7 };
        PolicyDevice other = { .bdf = "0000:07:00.0", .vendor = 0x10de, .device = 0x1, .class_code = 0x030000, .iommu_group = 8 };
        char why[384], msg[512];
        const Grant *g;
        Policy p;

        CHECK_EQ_INT(load(&p, good, msg, sizeof(msg)), 0);
        g = policy_decide(&p, &alice, &edu, POLICY_IRQ_MSI, POLICY_BACKEND_LEGACY, why, sizeof(why));
        CHECK(g && strcmp(g->name, "tenant-a") == 0);
        CHECK(!policy_decide(&p, &alice, &edu, POLICY_IRQ_INTX, POLICY_BACKEND_LEGACY, why, sizeof(why)));
        /* no Backend=: any backend */
        CHECK(policy_decide(&p, &alice, &edu, POLICY_IRQ_MSI, POLICY_BACKEND_IOMMUFD, why, sizeof(why)));
        CHECK(strstr(why, "grant \"tenant-a\" (t.conf:18) covers 0000:00:03.0 but not the interrupt types"));
        CHECK(!policy_decide(&p, &alice, &nic, 0, POLICY_BACKEND_LEGACY, why, sizeof(why)));
        CHECK(strstr(why, "no grant for uid 1000 covers 0000:05:00.0"));
        /* Cgroup AND Group: the container has both */
        g = policy_decide(&p, &ctr, &nic, POLICY_IRQ_INTX, POLICY_BACKEND_LEGACY, why, sizeof(why));
        CHECK(g && strcmp(g->name, "containers") == 0);
        CHECK(policy_decide(&p, &ctr, &gpu, 0, POLICY_BACKEND_LEGACY, why, sizeof(why))); /* IommuGroup=7 */
        CHECK(!policy_decide(&p, &ctr, &other, 0, POLICY_BACKEND_LEGACY, why, sizeof(why)));
        ctr.n_groups = 0;
        CHECK(!policy_decide(&p, &ctr, &nic, 0, POLICY_BACKEND_LEGACY, why, sizeof(why)));
        ctr.n_groups = 1;
        ctr.cgroup = "/user.slice/x";
        CHECK(!policy_decide(&p, &ctr, &nic, 0, POLICY_BACKEND_LEGACY, why, sizeof(why)));
        CHECK(!policy_decide(&p, &nobody, &edu, 0, POLICY_BACKEND_LEGACY, why, sizeof(why)));
        CHECK(strstr(why, "no grant names uid 3000 (gid 3000, cgroup /, label -)"));
        g = policy_decide(&p, &svirt, &nic, 0, POLICY_BACKEND_IOMMUFD, why, sizeof(why));
        CHECK(g && strcmp(g->name, "labelled") == 0);
        CHECK(policy_device_managed(&p, g, &nic)); /* the nics pool says Managed=yes */
        CHECK(!policy_device_managed(&p, policy_decide(&p, &alice, &edu, POLICY_IRQ_MSI, POLICY_BACKEND_LEGACY, why,
                                                       sizeof(why)), &edu));
        /* Backend=iommufd: the legacy API is refused, naming the grant */
        CHECK(!policy_decide(&p, &svirt, &nic, 0, POLICY_BACKEND_LEGACY, why, sizeof(why)));
        CHECK(strstr(why, "grant \"labelled\" (t.conf:30) covers 0000:05:00.0 but not through the legacy VFIO API"));
        svirt.label = "system_u:system_r:unconfined_t:s0";
        CHECK(!policy_decide(&p, &svirt, &nic, 0, POLICY_BACKEND_LEGACY, why, sizeof(why)));
        policy_done(&p);
}

static void test_class_prefix(void) {
        Pool pool = {};
        PoolClass c[] = { { 0x02, 2 } };
        PolicyDevice d = { .bdf = "0000:01:00.0", .class_code = 0x020000 };

        pool.classes = c;
        pool.n_classes = 1;
        CHECK(pool_contains(&pool, &d));
        d.class_code = 0x028000;
        CHECK(pool_contains(&pool, &d));
        d.class_code = 0x002000;
        CHECK(!pool_contains(&pool, &d));
        c[0] = (PoolClass) { 0x00ff, 4 };
        d.class_code = 0x00ff00;
        CHECK(pool_contains(&pool, &d));
}

static void test_sizes(void) {
        uint64_t v;

        CHECK_EQ_INT(parse_size("512", &v), 0);
        CHECK_EQ_INT(v, 512);
        CHECK_EQ_INT(parse_size("1M", &v), 0);
        CHECK_EQ_INT(v, 1 << 20);
        CHECK_EQ_INT(parse_size("2t", &v), 0);
        CHECK_EQ_INT(v, 2ULL << 40);
        CHECK_EQ_INT(parse_size("", &v), -EINVAL);
        CHECK_EQ_INT(parse_size("M", &v), -EINVAL);
        CHECK_EQ_INT(parse_size("-1G", &v), -EINVAL);
        CHECK_EQ_INT(parse_size("1.5G", &v), -EINVAL);
        CHECK_EQ_INT(parse_size("1GB", &v), -EINVAL);
}

int main(void) {
        RUN(test_parse_good);
        RUN(test_rejections);
        RUN(test_cannot_mean);
        RUN(test_two_files);
        RUN(test_decide);
        RUN(test_class_prefix);
        RUN(test_sizes);
        return 0;
}
