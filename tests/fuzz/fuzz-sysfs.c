/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: the parsers of what sysfs and clients say of devices. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/bdf.h"
#include "common/sysfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text, name[64], buf[BDF_STRLEN + 1];
        PciDevice d;
        int group;
        Bdf bdf;

        text = malloc(size + 1);
        if (!text)
                return 0;
        memcpy(text, data, size);
        text[size] = 0;
        (void) parse_pci_uevent(text, &d);
        (void) parse_group_link(text, &group);
        (void) parse_link_name(text, name, sizeof(name));
        if (bdf_parse(text, &bdf) == 0) {
                bdf_format(&bdf, buf);
                if (bdf_normalize(buf, buf) != 0)
                        abort(); /* what we print, we must parse */
        }
        free(text);
        return 0;
}
