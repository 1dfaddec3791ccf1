/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "host/managed.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"
#include "util/log.h"

typedef struct Moved {
        char bdf[BDF_STRLEN + 1];
        char driver[DRIVER_NAME_MAX];   /* "": none */
} Moved;

struct ManagedHost {
        char *root;
        char *path;
        Moved *moved;
        size_t n_moved;
};

static int load(ManagedHost *m) {
        char line[256];
        FILE *f;

        f = fopen(m->path, "re");
        if (!f)
                return errno == ENOENT ? 0 : -errno;
        while (fgets(line, sizeof(line), f)) {
                char bdf[64], driver[DRIVER_NAME_MAX];
                Moved *p;

                if (sscanf(line, "%63s %63s", bdf, driver) != 2)
                        continue;
                p = reallocarray(m->moved, m->n_moved + 1, sizeof(*p));
                if (!p) {
                        fclose(f);
                        return -ENOMEM;
                }
                m->moved = p;
                if (bdf_normalize(bdf, m->moved[m->n_moved].bdf) < 0)
                        continue;
                string_copy(m->moved[m->n_moved].driver, DRIVER_NAME_MAX, strcmp(driver, "-") == 0 ? "" : driver);
                m->n_moved++;
        }
        fclose(f);
        return 0;
}

/* The record, whole, on disk before anything that depends on it: a new file renamed over the old, both synced. */
static int save(ManagedHost *m) {
        char tmp[PATH_MAX], dir[PATH_MAX], *slash;
        _cleanup_close_ int dfd = -EBADF;
        FILE *f;
        int r = 0;

        snprintf(dir, sizeof(dir), "%s", m->path);
        slash = strrchr(dir, '/');
        if (slash && slash != dir)
                *slash = 0;
        (void) mkdir(dir, 0755);
        snprintf(tmp, sizeof(tmp), "%s.new", m->path);
        f = fopen(tmp, "we");
        if (!f)
                return -errno;
        fprintf(f, "# vfio-brokerd: devices it moved to vfio-pci, and the driver each had\n");
        for (size_t i = 0; i < m->n_moved; i++)
                fprintf(f, "%s %s\n", m->moved[i].bdf, m->moved[i].driver[0] ? m->moved[i].driver : "-");
        if (fflush(f) != 0 || fsync(fileno(f)) < 0)
                r = -errno;
        if (fclose(f) != 0 && r == 0)
                r = -errno;
        if (r == 0 && rename(tmp, m->path) < 0)
                r = -errno;
        if (r < 0) {
                (void) unlink(tmp);
                return r;
        }
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0)
                (void) fsync(dfd);
        return 0;
}

int managed_host_new(const char *sysfs_root, const char *path, ManagedHost **ret) {
        ManagedHost *m;
        int r;

        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->root = strdup(sysfs_root);
        m->path = strdup(path);
        r = m->root && m->path ? load(m) : -ENOMEM;
        if (r < 0) {
                managed_host_free(m);
                return r;
        }
        *ret = m;
        return 0;
}

ManagedHost *managed_host_free(ManagedHost *m) {
        if (!m)
                return NULL;
        free(m->moved);
        free(m->root);
        free(m->path);
        free(m);
        return NULL;
}

static Moved *find(const ManagedHost *m, const char *bdf) {
        for (size_t i = 0; i < m->n_moved; i++)
                if (strcmp(m->moved[i].bdf, bdf) == 0)
                        return &m->moved[i];
        return NULL;
}

bool managed_host_has(const ManagedHost *m, const char *bdf) {
        return find(m, bdf) != NULL;
}

int managed_host_list(const ManagedHost *m, char (**ret)[BDF_STRLEN + 1], size_t *ret_n) {
        char (*list)[BDF_STRLEN + 1] = calloc(m->n_moved + 1, sizeof(*list));

        if (!list)
                return -ENOMEM;
        for (size_t i = 0; i < m->n_moved; i++)
                string_copy(list[i], sizeof(list[i]), m->moved[i].bdf);
        *ret = list;
        *ret_n = m->n_moved;
        return 0;
}

/* Write @text to ROOT/@fmt...; -errno. */
static int write_attr(const ManagedHost *m, const char *text, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int write_attr(const ManagedHost *m, const char *text, const char *fmt, ...) {
        char rel[PATH_MAX], path[PATH_MAX + 64];
        _cleanup_close_ int fd = -EBADF;
        va_list ap;
        ssize_t n;

        va_start(ap, fmt);
        vsnprintf(rel, sizeof(rel), fmt, ap);
        va_end(ap);
        snprintf(path, sizeof(path), "%s/%s", m->root, rel);
        fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        n = write(fd, text, strlen(text));
        if (n < 0)
                return -errno;
        return (size_t) n == strlen(text) ? 0 : -EIO;
}

static int driver_of(const ManagedHost *m, const char *bdf, char *buf, size_t size) {
        PciDevice d;
        int r;

        r = sysfs_read_device(m->root, bdf, &d);
        if (r < 0)
                return r;
        string_copy(buf, size, d.driver);
        return 0;
}

/* A network interface of the device that is up (IFF_UP in its flags). */
static bool net_up(const ManagedHost *m, const char *bdf, char *why, size_t size) {
        char dir[PATH_MAX], path[PATH_MAX + 300], text[32];
        struct dirent *de;
        bool up = false;
        DIR *d;

        snprintf(dir, sizeof(dir), "%s/bus/pci/devices/%s/net", m->root, bdf);
        d = opendir(dir);
        if (!d)
                return false;
        while (!up && (de = readdir(d))) {
                FILE *f;

                if (de->d_name[0] == '.')
                        continue;
                snprintf(path, sizeof(path), "%s/%s/flags", dir, de->d_name);
                f = fopen(path, "re");
                if (f && fgets(text, sizeof(text), f) && (strtoul(text, NULL, 16) & 0x1)) {
                        snprintf(why, size, "%s is in use by the host: its network interface %s is up", bdf, de->d_name);
                        up = true;
                }
                if (f)
                        fclose(f);
        }
        closedir(d);
        return up;
}

/* "MAJ:MIN" of a block device (or partition) mounted anywhere this process can see. */
static bool dev_mounted(const char *majmin) {
        char line[4096];
        bool found = false;
        FILE *f = fopen("/proc/self/mountinfo", "re");

        if (!f)
                return false;
        while (!found && fgets(line, sizeof(line), f)) {
                char field[32];

                /* ID PARENT MAJ:MIN ... */
                if (sscanf(line, "%*s %*s %31s", field) == 1 && strcmp(field, majmin) == 0)
                        found = true;
        }
        fclose(f);
        return found;
}

/* A block device below @dir (a few levels: virtio and NVMe put it under a child) that is mounted, or a partition of it. */
static bool block_mounted(const char *dir, int depth, const char *bdf, char *why, size_t size) {
        struct dirent *de;
        bool busy = false;
        DIR *d;

        if (depth > 3 || !(d = opendir(dir)))
                return false;
        while (!busy && (de = readdir(d))) {
                char path[PATH_MAX], text[32];
                FILE *f;

                if (de->d_name[0] == '.' || de->d_type == DT_LNK)
                        continue;
                snprintf(path, sizeof(path), "%s/%s/dev", dir, de->d_name);
                f = fopen(path, "re");
                if (f) {
                        if (fgets(text, sizeof(text), f)) {
                                text[strcspn(text, "\n")] = 0;
                                if (dev_mounted(text)) {
                                        snprintf(why, size, "%s is in use by the host: its block device %s is mounted",
                                                 bdf, de->d_name);
                                        busy = true;
                                }
                        }
                        fclose(f);
                }
                if (!busy && de->d_type == DT_DIR) {
                        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
                        busy = block_mounted(path, depth + 1, bdf, why, size);
                }
        }
        closedir(d);
        return busy;
}

int managed_host_check_use(ManagedHost *m, const PciDevice *d, char *why, size_t size) {
        char dir[PATH_MAX];

        if (net_up(m, d->bdf, why, size))
                return HOST_E_IN_USE;
        snprintf(dir, sizeof(dir), "%s/bus/pci/devices/%s", m->root, d->bdf);
        if (block_mounted(dir, 0, d->bdf, why, size))
                return HOST_E_IN_USE;
        return 0;
}

int managed_host_bind(ManagedHost *m, const PciDevice *d, char *why, size_t size) {
        char now[DRIVER_NAME_MAX] = "";
        Moved *p;
        int r;

        if (strcmp(d->driver, "vfio-pci") == 0)
                return 0;
        p = reallocarray(m->moved, m->n_moved + 1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        m->moved = p;
        m->moved[m->n_moved] = (Moved) {};
        string_copy(m->moved[m->n_moved].bdf, BDF_STRLEN + 1, d->bdf);
        string_copy(m->moved[m->n_moved].driver, DRIVER_NAME_MAX, d->driver);
        m->n_moved++;
        r = save(m);
        if (r < 0) {
                m->n_moved--;
                snprintf(why, size, "cannot record the binding of %s in %s: %s", d->bdf, m->path, strerror(-r));
                return r;
        }
        /* From here on the record says it is ours to give back, whatever happens to us. */
        r = write_attr(m, "vfio-pci", "bus/pci/devices/%s/driver_override", d->bdf);
        if (r >= 0 && d->driver[0])
                r = write_attr(m, d->bdf, "bus/pci/devices/%s/driver/unbind", d->bdf);
        if (r >= 0)
                r = write_attr(m, d->bdf, "bus/pci/drivers_probe");
        if (r < 0) {
                snprintf(why, size, "binding %s to vfio-pci: %s%s", d->bdf, strerror(-r),
                         r == -EROFS ? " (sysfs is read-only for the broker: under its unit, managed binding "
                                       "needs a drop-in with ReadWritePaths=/sys/bus/pci /sys/devices)" : "");
                (void) managed_host_restore(m, d->bdf);
                return r;
        }
        if (driver_of(m, d->bdf, now, sizeof(now)) < 0 || strcmp(now, "vfio-pci") != 0) {
                snprintf(why, size, "%s did not move from %s to vfio-pci (it is on %s)", d->bdf,
                         d->driver[0] ? d->driver : "no driver", now[0] ? now : "no driver");
                (void) managed_host_restore(m, d->bdf);
                return HOST_E_WONT_BIND;
        }
        log_info("%s: moved from %s to vfio-pci for a lease (managed)", d->bdf, d->driver[0] ? d->driver : "no driver");
        return 0;
}

int managed_host_restore(ManagedHost *m, const char *bdf) {
        char now[DRIVER_NAME_MAX] = "";
        Moved *p, moved;
        int r;

        p = find(m, bdf);
        if (!p)
                return 0;
        moved = *p;
        if (driver_of(m, bdf, now, sizeof(now)) < 0) {
                log_notice("%s: gone from the host; forgetting that it was on %s", bdf,
                           moved.driver[0] ? moved.driver : "no driver");
                goto forget;
        }
        if (now[0] && strcmp(now, moved.driver) != 0)
                (void) write_attr(m, bdf, "bus/pci/devices/%s/driver/unbind", bdf);
        (void) write_attr(m, "\n", "bus/pci/devices/%s/driver_override", bdf);
        if (moved.driver[0] && strcmp(now, moved.driver) != 0) {
                r = write_attr(m, bdf, "bus/pci/drivers/%s/bind", moved.driver);
                if (r < 0)
                        (void) write_attr(m, bdf, "bus/pci/drivers_probe");
        }
        if (driver_of(m, bdf, now, sizeof(now)) >= 0 && strcmp(now, moved.driver) != 0)
                log_warning("%s: could not give it back to %s (it is on %s)", bdf,
                            moved.driver[0] ? moved.driver : "no driver", now[0] ? now : "no driver");
        else
                log_info("%s: back on %s (managed)", bdf, moved.driver[0] ? moved.driver : "no driver");
forget:
        p = find(m, bdf);
        *p = m->moved[--m->n_moved];
        r = save(m);
        if (r < 0)
                log_error("cannot update %s: %s", m->path, strerror(-r));
        return 1;
}
