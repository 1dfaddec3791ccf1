/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The model's expected refusals: positive codes, each with a message naming
 * the cause (and, where the kernel gave one, its errno).  A negative errno
 * is a failure of the system; its message, if any, says what was being done.
 * The protocol's face (rpc/error.c) and the admin API (system/bus.c) each
 * turn codes into their own errors with one table; nothing below them picks
 * a wire code.
 */

#include <stdarg.h>

typedef enum BrokerCode {
        BROKER_E_INVALID = 1,           /* a bad value in the request */
        BROKER_E_UNKNOWN_DEVICE,
        BROKER_E_UNKNOWN_LEASE,
        BROKER_E_NOT_VFIO,              /* the device is not on vfio-pci */
        BROKER_E_NOT_VIABLE,            /* another member of the group is on a host driver */
        BROKER_E_BUSY,                  /* the group is someone else's */
        BROKER_E_QUARANTINED,
        BROKER_E_DENIED,                /* by the policy */
        BROKER_E_NO_INTERRUPT_REMAPPING,
        BROKER_E_NOIOMMU,
        BROKER_E_IRQ,                   /* the device has no such interrupt, or the kernel refused it */
        BROKER_E_QUOTA,                 /* a per-uid limit */
        BROKER_E_TOO_MANY_FDS,          /* more fds than one reply carries */
        BROKER_E_TOO_MANY_CONNECTIONS,
        BROKER_E_UNSUPPORTED,           /* the kernel lacks what the request needs (iommufd, a cdev) */
        _BROKER_CODE_MAX,
} BrokerCode;

typedef struct BrokerError {
        int errno_value;                /* the kernel's word, where it gave one; 0: the code's own */
        char message[512];
} BrokerError;

/* Say why, and return @code: "return broker_error(err, BROKER_E_BUSY, ...)". */
int broker_error(BrokerError *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Likewise, with the errno the kernel answered (a positive errno value). */
int broker_error_errno(BrokerError *e, int code, int errno_value, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

/* A failure of the system: @r (a -errno) with what was being done. */
int broker_error_system(BrokerError *e, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A short name for @code ("busy", "not-viable", ...; "error" for a -errno), as audit records carry it. */
const char *broker_code_name(int code);
