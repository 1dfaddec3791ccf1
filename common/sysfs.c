/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "common/sysfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"

/* 1 to 8 hex digits, either case, up to the end of the line: at most @max. */
static int parse_uevent_hex(const char *p, const char **end, uint32_t max, uint32_t *ret) {
        uint64_t v = 0;
        size_t n = 0;

        for (;; p++, n++) {
                int digit;

                if (*p >= '0' && *p <= '9')
                        digit = *p - '0';
                else if (*p >= 'a' && *p <= 'f')
                        digit = *p - 'a' + 10;
                else if (*p >= 'A' && *p <= 'F')
                        digit = *p - 'A' + 10;
                else
                        break;
                if (n == 8)
                        return -EINVAL;
                v = v * 16 + (uint64_t) digit;
        }
        if (n == 0 || v > max)
                return -EINVAL;
        *end = p;
        *ret = (uint32_t) v;
        return 0;
}

int parse_pci_uevent(const char *text, PciDevice *d) {
        bool have_id = false, have_class = false;
        const char *p = text;

        d->driver[0] = 0;
        while (*p) {
                const char *eol = strchrnul(p, '\n'), *end = NULL;

                if (strncmp(p, "DRIVER=", 7) == 0) {
                        size_t len = (size_t) (eol - p) - 7;

                        if (len == 0 || len >= sizeof(d->driver) || memchr(p + 7, '/', len))
                                return -EINVAL;
                        memcpy(d->driver, p + 7, len);
                        d->driver[len] = 0;
                        end = eol;
                } else if (strncmp(p, "PCI_ID=", 7) == 0) {
                        if (parse_uevent_hex(p + 7, &end, 0xffff, &d->vendor) < 0 || *end != ':' ||
                            parse_uevent_hex(end + 1, &end, 0xffff, &d->device) < 0)
                                return -EINVAL;
                        have_id = true;
                } else if (strncmp(p, "PCI_CLASS=", 10) == 0) {
                        if (parse_uevent_hex(p + 10, &end, 0xffffff, &d->class_code) < 0)
                                return -EINVAL;
                        have_class = true;
                } else
                        end = eol;
                if (end != eol)
                        return -EINVAL;
                p = *eol ? eol + 1 : eol;
        }
        return have_id && have_class ? 0 : -EINVAL;
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

/* @name under @dir (a directory fd, or AT_FDCWD for a path) as text. */
static int read_text_at(int dir, const char *name, char *buf, size_t size) {
        _cleanup_close_ int fd = -EBADF;
        ssize_t n;

        fd = openat(dir, name, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        n = read(fd, buf, size - 1);
        if (n < 0)
                return -errno;
        buf[n] = 0;
        return 0;
}

static int list_bdfs(const char *dir, char (**ret)[BDF_STRLEN + 1], size_t *ret_n);

const char *pci_reset_name(PciReset r) {
        return r == PCI_RESET_FUNCTION ? "function" : r == PCI_RESET_BUS ? "bus" : "none";
}

/*
 * What reset the kernel will do for @d, as VFIO does it: reset_method lists
 * the kernel's methods ("flr pm bus").  Any but "bus" resets the function
 * alone; "bus" alone does only while @d is the one device on its bus (the
 * kernel probes it before its siblings exist).  Without a function reset,
 * a hot reset of the bus behind a bridge serves if every device on that bus
 * is in @d's group (the kernel's rule: the caller must own all it resets).
 */
static PciReset read_reset(const char *path, int dir, const PciDevice *d) {
        _cleanup_free_ char (*siblings)[BDF_STRLEN + 1] = NULL;
        char text[256], real[PATH_MAX], parent[PATH_MAX + 4], *slash, *name, *save = NULL;
        bool other = false, bus = false, alone;
        ssize_t len;
        size_t n = 0;

        if (read_text_at(dir, "reset_method", text, sizeof(text)) < 0) {
                /* no method (the kernel shows no reset_method then), or a kernel without the attribute */
                if (faccessat(dir, "reset", F_OK, 0) >= 0)
                        return PCI_RESET_FUNCTION;
                text[0] = 0;
        }
        for (char *w = strtok_r(text, " \n", &save); w; w = strtok_r(NULL, " \n", &save)) {
                if (strcmp(w, "bus") == 0)
                        bus = true;
                else
                        other = true;
        }
        if (other)
                return PCI_RESET_FUNCTION;
        /*
         * The parent is the link's target less its last name: one readlink,
         * where realpath() would read every name of the path as a link.
         */
        len = readlink(path, real, sizeof(real) - 1);
        if (len < 0 && !realpath(path, real))
                return PCI_RESET_NONE;
        if (len >= 0)
                real[len] = 0;
        if (!(slash = strrchr(real, '/')))
                return PCI_RESET_NONE;
        *slash = 0;
        slash = strrchr(real, '/');
        name = slash ? slash + 1 : real;
        snprintf(parent, sizeof(parent), "%s/..", path); /* the kernel follows the link before the ".." */
        if (strncmp(name, "pci", 3) == 0 || list_bdfs(parent, &siblings, &n) < 0)
                return PCI_RESET_NONE; /* a root bus: no bridge to reset it */
        alone = n == 1;
        if (bus && alone)
                return PCI_RESET_FUNCTION;
        if (d->iommu_group < 0)
                return PCI_RESET_NONE;
        for (size_t i = 0; i < n; i++) {
                char link[PATH_MAX + 32], target[PATH_MAX];
                int group;

                snprintf(link, sizeof(link), "%s/%s/iommu_group", parent, siblings[i]);
                len = readlink(link, target, sizeof(target) - 1);
                if (len < 0)
                        return PCI_RESET_NONE;
                target[len] = 0;
                if (parse_group_link(target, &group) < 0 || group != d->iommu_group)
                        return PCI_RESET_NONE;
        }
        return n > 0 ? PCI_RESET_BUS : PCI_RESET_NONE;
}

/*
 * Few syscalls, since each costs a path walk through sysfs: the device's
 * directory is opened once, and uevent gives its IDs, class and driver in
 * one read.
 */
int sysfs_read_device(const char *root, const char *bdf, PciDevice *ret) {
        char path[PATH_MAX], text[1024], target[PATH_MAX];
        PciDevice d = { .iommu_group = -1 };
        _cleanup_close_ int dir = -EBADF;
        ssize_t n;
        int r;

        if (bdf_normalize(bdf, d.bdf) < 0)
                return -EINVAL;
        snprintf(path, sizeof(path), "%s/bus/pci/devices/%s", root, d.bdf);
        dir = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dir < 0)
                return errno == ENOENT ? -ENODEV : -errno;
        r = read_text_at(dir, "uevent", text, sizeof(text));
        if (r < 0)
                return r == -ENOENT ? -ENODEV : r;
        r = parse_pci_uevent(text, &d);
        if (r < 0)
                return r;

        n = readlinkat(dir, "iommu_group", target, sizeof(target) - 1);
        if (n >= 0) {
                target[n] = 0;
                if (parse_group_link(target, &d.iommu_group) >= 0)
                        d.noiommu = read_text_at(dir, "iommu_group/name", text, sizeof(text)) >= 0 &&
                                    strncmp(text, "vfio-noiommu", 12) == 0;
        }
        d.reset = read_reset(path, dir, &d);
        d.resettable = d.reset != PCI_RESET_NONE;
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
        return read_text_at(AT_FDCWD, path, buf, sizeof(buf)) >= 0 && (buf[0] == 'Y' || buf[0] == '1');
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

bool pci_is_bridge(const PciDevice *d) {
        return (d->class_code >> 16) == 0x06;
}

bool pci_driver_is_vfio(const PciDevice *d) {
        return strcmp(d->driver, "vfio-pci") == 0;
}

bool pci_driver_allowed_in_group(const PciDevice *d) {
        return d->driver[0] == 0 || pci_driver_is_vfio(d) || strcmp(d->driver, "pci-stub") == 0 ||
               strcmp(d->driver, "pcieport") == 0;
}
