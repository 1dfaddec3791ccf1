/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The devices a container's environment names (VFIO_BROKER_DEVICE_*, set by the CDI devices of
 * `vfio-brokerctl cdi generate`): one variable per device, so that several CDI devices combine. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/bdf.h"
#include "client/vfio-broker.h"

extern char **environ;

static int compare_bdf(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

int vfio_broker_env_devices(char ***ret_bdfs, size_t *ret_n) {
        static const char prefix[] = VFIO_BROKER_DEVICE_ENV_PREFIX;
        size_t n = 0, unique = 0;
        char **v, *text;

        if (!ret_bdfs)
                return -EINVAL;
        for (char **e = environ; e && *e; e++)
                n += strncmp(*e, prefix, strlen(prefix)) == 0;
        /* One allocation: the pointers, then the strings they point to. */
        v = malloc((n + 1) * sizeof(char *) + n * (BDF_STRLEN + 1));
        if (!v)
                return -ENOMEM;
        text = (char *) (v + n + 1);
        for (char **e = environ; e && *e && unique < n; e++) {
                const char *value;

                if (strncmp(*e, prefix, strlen(prefix)) != 0)
                        continue;
                value = strchr(*e, '=');
                if (!value || bdf_normalize(value + 1, text) < 0) {
                        free(v);
                        return -EINVAL;
                }
                v[unique++] = text;
                text += BDF_STRLEN + 1;
        }
        qsort(v, unique, sizeof(char *), compare_bdf);
        n = 0;
        for (size_t i = 0; i < unique; i++)
                if (n == 0 || strcmp(v[n - 1], v[i]) != 0)
                        v[n++] = v[i];
        v[n] = NULL;
        *ret_bdfs = v;
        if (ret_n)
                *ret_n = n;
        return 0;
}
