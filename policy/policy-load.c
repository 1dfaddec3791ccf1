/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "policy/policy-load.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_FILE_SIZE (1024 * 1024)

static int read_file(const char *path, char **ret, size_t *ret_size, const char **ret_why) {
        struct stat st;
        char *buf;
        ssize_t n;
        int fd;

        *ret_why = NULL;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0) {
                close(fd);
                return -errno;
        }
        if (!S_ISREG(st.st_mode)) {
                close(fd);
                *ret_why = S_ISDIR(st.st_mode) ? "a directory, not a policy file: name a file in it (or give it as --policy-dir)"
                                               : "not a regular file: a policy file is a text file";
                return -EINVAL;
        }
        if (st.st_size > MAX_FILE_SIZE) {
                close(fd);
                *ret_why = "larger than 1 MiB: is this the file you meant?";
                return -EFBIG;
        }
        buf = malloc((size_t) st.st_size + 1);
        if (!buf) {
                close(fd);
                return -ENOMEM;
        }
        n = read(fd, buf, (size_t) st.st_size);
        close(fd);
        if (n < 0) {
                free(buf);
                return -EIO;
        }
        buf[n] = 0;
        *ret = buf;
        *ret_size = (size_t) n;
        return 0;
}

static int parse_file(Policy *p, const char *path, PolicyError *err) {
        const char *why = NULL;
        char *text = NULL;
        size_t size = 0;
        int r;

        r = read_file(path, &text, &size, &why);
        if (r < 0) {
                snprintf(err->file, sizeof(err->file), "%s", path);
                err->line = 0;
                if (why)
                        snprintf(err->message, sizeof(err->message), "%s", why);
                else
                        snprintf(err->message, sizeof(err->message), "cannot read: %s", strerror(-r));
                return r;
        }
        r = policy_parse_buffer(p, path, text, size, err);
        free(text);
        return r;
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static bool is_conf(const char *name) {
        size_t n = strlen(name);

        return name[0] != '.' && n > 5 && strcmp(name + n - 5, ".conf") == 0;
}

/* Append a copy of "@dir/@name" (or @name alone when @dir is NULL) to @names. */
static int push_path(char ***names, size_t *n, const char *dir, const char *name) {
        char **list = realloc(*names, (*n + 1) * sizeof(char *));
        int len;

        if (!list)
                return -ENOMEM;
        *names = list;
        len = dir ? asprintf(&list[*n], "%s/%s", dir, name) : asprintf(&list[*n], "%s", name);
        if (len < 0)
                return -ENOMEM;
        (*n)++;
        return 0;
}

int policy_load(Policy *ret, const char *file, bool file_required, const char *dir,
                const PolicyResolver *resolver, PolicyError *err) {
        char **names = NULL;
        size_t n = 0, first_dropin;
        struct dirent *de;
        DIR *d;
        int r = 0;

        if (file && (file_required || access(file, F_OK) == 0))
                r = push_path(&names, &n, NULL, file);
        first_dropin = n;
        d = r >= 0 && dir ? opendir(dir) : NULL;
        while (d && r >= 0 && (de = readdir(d)))
                if (is_conf(de->d_name))
                        r = push_path(&names, &n, dir, de->d_name);
        if (d)
                closedir(d);
        /* The drop-ins in lexical order, after the main file. */
        if (n > first_dropin)
                qsort(names + first_dropin, n - first_dropin, sizeof(char *), cmp_str);
        if (r >= 0)
                r = policy_load_files(ret, names, n, resolver, err);
        for (size_t i = 0; i < n; i++)
                free(names[i]);
        free(names);
        return r;
}

int policy_load_files(Policy *ret, char **files, size_t n_files, const PolicyResolver *resolver, PolicyError *err) {
        Policy p;
        int r = 0;

        policy_init(&p);
        for (size_t i = 0; i < n_files && r >= 0; i++)
                r = parse_file(&p, files[i], err);
        if (r >= 0)
                r = policy_finish(&p, resolver, err);
        if (r < 0) {
                policy_done(&p);
                return r;
        }
        *ret = p;
        return 0;
}

/* Names through NSS (getpwnam, getgrnam), as the daemon and the CLI resolve them. */
static int nss_user(const char *name, uid_t *ret) {
        struct passwd *pw = getpwnam(name);

        if (!pw)
                return -ENOENT;
        *ret = pw->pw_uid;
        return 0;
}

static int nss_group(const char *name, gid_t *ret) {
        struct group *gr = getgrnam(name);

        if (!gr)
                return -ENOENT;
        *ret = gr->gr_gid;
        return 0;
}

const PolicyResolver policy_nss_resolver = { .user = nss_user, .group = nss_group };
