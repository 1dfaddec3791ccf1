/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sysfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

int parse_hex_u32(const char *text, uint32_t max, uint32_t *ret) {
        unsigned long long v;
        const char *p = text;
        char *end;

        if (strncmp(p, "0x", 2) != 0)
                return -EINVAL;
        p += 2;
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F')))
                return -EINVAL;
        errno = 0;
        v = strtoull(p, &end, 16);
        if (errno != 0 || end - p > 8)
                return -EINVAL;
        if (*end == '\n')
                end++;
        if (*end != 0 || v > max)
                return -EINVAL;
        *ret = (uint32_t) v;
        return 0;
}

int parse_link_name(const char *target, char *buf, size_t size) {
        const char *name = strrchr(target, '/');
        size_t len;

        name = name ? name + 1 : target;
        len = strlen(name);
        if (len == 0 || len >= size || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
                return -EINVAL;
        memcpy(buf, name, len + 1);
        return 0;
}

int parse_group_link(const char *target, int *ret) {
        char name[16];
        unsigned long v;
        char *end;

        if (parse_link_name(target, name, sizeof(name)) < 0)
                return -EINVAL;
        if (name[0] < '0' || name[0] > '9' || (name[0] == '0' && name[1] != 0))
                return -EINVAL;
        errno = 0;
        v = strtoul(name, &end, 10);
        if (errno != 0 || *end != 0 || v > INT_MAX)
                return -EINVAL;
        *ret = (int) v;
        return 0;
}

static int read_text(const char *path, char *buf, size_t size) {
        _cleanup_close_ int fd = -EBADF;
        ssize_t n;

        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        n = read(fd, buf, size - 1);
        if (n < 0)
                return -errno;
        buf[n] = 0;
        return 0;
}

static int read_hex(const char *dir, const char *attr, uint32_t max, uint32_t *ret) {
        char path[PATH_MAX], buf[32];
        int r;

        snprintf(path, sizeof(path), "%s/%s", dir, attr);
        r = read_text(path, buf, sizeof(buf));
        if (r < 0)
                return r;
        return parse_hex_u32(buf, max, ret);
}

static int read_link_name(const char *dir, const char *attr, char *buf, size_t size) {
        char path[PATH_MAX], target[PATH_MAX];
        ssize_t n;

        snprintf(path, sizeof(path), "%s/%s", dir, attr);
        n = readlink(path, target, sizeof(target) - 1);
        if (n < 0)
                return -errno;
        target[n] = 0;
        return parse_link_name(target, buf, size);
}

static bool group_is_noiommu(const char *root, int group) {
        char path[PATH_MAX], name[64];

        snprintf(path, sizeof(path), "%s/kernel/iommu_groups/%d/name", root, group);
        if (read_text(path, name, sizeof(name)) < 0)
                return false;
        return strncmp(name, "vfio-noiommu", 12) == 0;
}

int sysfs_read_device(const char *root, const char *bdf, PciDevice *ret) {
        char dir[PATH_MAX], path[PATH_MAX], group[16];
        PciDevice d = { .iommu_group = -1 };
        int r;

        if (bdf_normalize(bdf, d.bdf) < 0)
                return -EINVAL;
        snprintf(dir, sizeof(dir), "%s/bus/pci/devices/%s", root, d.bdf);
        if (access(dir, F_OK) < 0)
                return -ENODEV;

        r = read_hex(dir, "vendor", 0xffff, &d.vendor);
        if (r >= 0)
                r = read_hex(dir, "device", 0xffff, &d.device);
        if (r >= 0)
                r = read_hex(dir, "class", 0xffffff, &d.class_code);
        if (r < 0)
                return r == -ENOENT ? -ENODEV : r;

        r = read_link_name(dir, "driver", d.driver, sizeof(d.driver));
        if (r < 0 && r != -ENOENT)
                return r;
        if (read_link_name(dir, "iommu_group", group, sizeof(group)) >= 0 &&
            parse_group_link(group, &d.iommu_group) >= 0)
                d.noiommu = group_is_noiommu(root, d.iommu_group);

        snprintf(path, sizeof(path), "%s/reset", dir);
        d.resettable = access(path, F_OK) >= 0;
        *ret = d;
        return 0;
}

static int cmp_bdf(const void *a, const void *b) {
        return strcmp(a, b);
}

/* The BDF-named entries of @dir, sorted. */
static int list_bdfs(const char *dir, char (**ret)[BDF_STRLEN + 1], size_t *ret_n) {
        _cleanup_free_ char (*list)[BDF_STRLEN + 1] = NULL;
        size_t n = 0, allocated = 0;
        struct dirent *de;
        DIR *d;

        d = opendir(dir);
        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                Bdf bdf;

                if (bdf_parse(de->d_name, &bdf) < 0)
                        continue;
                if (n == allocated) {
                        void *p;

                        allocated = allocated ? allocated * 2 : 16;
                        p = reallocarray(list, allocated, sizeof(*list));
                        if (!p) {
                                closedir(d);
                                return -ENOMEM;
                        }
                        list = p;
                }
                bdf_format(&bdf, list[n++]);
        }
        closedir(d);
        if (n > 0)
                qsort(list, n, sizeof(*list), cmp_bdf);
        *ret = TAKE_PTR(list);
        *ret_n = n;
        return 0;
}

int sysfs_group_members(const char *root, int group, char (**ret)[BDF_STRLEN + 1], size_t *ret_n) {
        char dir[PATH_MAX];

        snprintf(dir, sizeof(dir), "%s/kernel/iommu_groups/%d/devices", root, group);
        return list_bdfs(dir, ret, ret_n);
}

int sysfs_list_devices(const char *root, PciDevice **ret, size_t *ret_n) {
        _cleanup_free_ char (*bdfs)[BDF_STRLEN + 1] = NULL;
        _cleanup_free_ PciDevice *devices = NULL;
        char dir[PATH_MAX];
        size_t n = 0, n_bdfs;
        int r;

        snprintf(dir, sizeof(dir), "%s/bus/pci/devices", root);
        r = list_bdfs(dir, &bdfs, &n_bdfs);
        if (r < 0)
                return r;
        devices = calloc(n_bdfs ? n_bdfs : 1, sizeof(*devices));
        if (!devices)
                return -ENOMEM;
        for (size_t i = 0; i < n_bdfs; i++) {
                r = sysfs_read_device(root, bdfs[i], &devices[n]);
                if (r == -ENODEV)
                        continue; /* unplugged while we looked */
                if (r < 0)
                        return r;
                n++;
        }
        *ret = TAKE_PTR(devices);
        *ret_n = n;
        return 0;
}

bool sysfs_unsafe_interrupts_allowed(const char *root) {
        char path[PATH_MAX], buf[8];

        snprintf(path, sizeof(path), "%s/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts", root);
        return read_text(path, buf, sizeof(buf)) >= 0 && (buf[0] == 'Y' || buf[0] == '1');
}

bool host_interrupt_remapping(void) {
        char line[512];
        bool found = false;
        FILE *f;

        f = fopen("/proc/interrupts", "re");
        if (!f)
                return false;
        while (!found && fgets(line, sizeof(line), f))
                found = strstr(line, " IR-") != NULL;
        fclose(f);
        return found;
}
