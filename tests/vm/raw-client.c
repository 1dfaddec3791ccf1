/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "raw-client.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "vfio-broker.h"
#include "proto/vfio-broker.pb-c.h"
#include "proto/wire.h"

int raw_connect(const char *who) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX, .sun_path = VFIO_BROKER_DEFAULT_SOCKET };
        int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

        if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                fprintf(stderr, "%s: connect: %m\n", who);
                exit(EXIT_FAILURE);
        }
        return fd;
}

int raw_send_hello(int fd, const char *name) {
        Vfiobroker__Request req = VFIOBROKER__REQUEST__INIT;
        Vfiobroker__HelloRequest h = VFIOBROKER__HELLO_REQUEST__INIT;

        h.protocol_version = VFIOBROKER__PROTOCOL_VERSION__PROTOCOL_VERSION_1;
        h.client_name = (char *) name;
        req.id = 1;
        req.op_case = VFIOBROKER__REQUEST__OP_HELLO;
        req.hello = &h;
        return wire_send_message(fd, &req.base, NULL, 0);
}

int raw_send_acquire(int fd, const char *bdf, int irq) {
        Vfiobroker__Request req = VFIOBROKER__REQUEST__INIT;
        Vfiobroker__AcquireRequest a = VFIOBROKER__ACQUIRE_REQUEST__INIT;
        Vfiobroker__DeviceRequest d = VFIOBROKER__DEVICE_REQUEST__INIT, *dp = &d;
        Vfiobroker__IrqRequest i = VFIOBROKER__IRQ_REQUEST__INIT, *ip = &i;

        d.bdf = (char *) bdf;
        if (irq) {
                i.type = (Vfiobroker__IrqType) irq;
                d.irqs = &ip;
                d.n_irqs = 1;
        }
        a.devices = &dp;
        a.n_devices = 1;
        req.op_case = VFIOBROKER__REQUEST__OP_ACQUIRE;
        req.acquire = &a;
        req.id = 7;
        return wire_send_message(fd, &req.base, NULL, 0);
}
