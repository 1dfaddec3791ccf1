/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qtest-edu -- COMMAND [ARG...]: start COMMAND (a QEMU with "-qtest stdio"
 * and an edu device, emulated or passed through with vfio-pci) and drive its
 * machine over the qtest protocol, as a nested guest's driver would: find
 * the edu device (1234:11e8) in PCI config space on bus 0, assign BAR0 and
 * enable memory and bus mastering, read the identification register, check
 * the liveness register, then have the device DMA a pattern from the
 * machine's RAM into its buffer and back out to another address, and compare.
 *
 * The nested CPU does nothing (its firmware is one hlt), but the machine
 * must run: edu's DMA completes on a timer of the virtual clock, which stands
 * still while a machine is stopped (-S) under TCG.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BAR0 0xe0000000ULL
#define SRC 0x100000ULL
#define DST 0x200000ULL
#define EDU_BUFFER 0x40000ULL
#define LEN 256

static FILE *to_qemu, *from_qemu;

static int fail(const char *what) {
        fprintf(stderr, "qtest-edu: %s\n", what);
        return EXIT_FAILURE;
}

/* Send one command; the answer ("OK ...") into @answer. -1 on FAIL or EOF. */
static int qtest(char *answer, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int qtest(char *answer, size_t size, const char *fmt, ...) {
        char line[4096];
        va_list ap;

        va_start(ap, fmt);
        vfprintf(to_qemu, fmt, ap);
        va_end(ap);
        fputc('\n', to_qemu);
        fflush(to_qemu);
        while (fgets(line, sizeof(line), from_qemu)) {
                if (strncmp(line, "OK", 2) == 0) {
                        const char *value = line[2] == ' ' ? line + 3 : "";
                        size_t n = strcspn(value, "\n");

                        if (answer) {
                                n = n < size - 1 ? n : size - 1;
                                memcpy(answer, value, n);
                                answer[n] = 0;
                        }
                        return 0;
                }
                if (strncmp(line, "FAIL", 4) == 0 || strncmp(line, "ERR", 3) == 0) {
                        fprintf(stderr, "qtest-edu: QEMU answered: %s", line);
                        return -1;
                }
                /* anything else (an "IRQ" line) is not an answer */
        }
        return -1;
}

static int qtest_value(uint64_t *ret, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int qtest_value(uint64_t *ret, const char *fmt, ...) {
        char cmd[256], answer[64];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(cmd, sizeof(cmd), fmt, ap);
        va_end(ap);
        if (qtest(answer, sizeof(answer), "%s", cmd) < 0)
                return -1;
        *ret = strtoull(answer, NULL, 0);
        return 0;
}

static uint32_t config_address(unsigned slot, unsigned reg) {
        return 0x80000000u | slot << 11 | reg;
}

static int config_read(unsigned slot, unsigned reg, uint64_t *ret) {
        if (qtest(NULL, 0, "outl 0xcf8 0x%x", config_address(slot, reg)) < 0)
                return -1;
        return qtest_value(ret, "inl 0xcfc");
}

static int config_write(unsigned slot, unsigned reg, uint32_t v) {
        if (qtest(NULL, 0, "outl 0xcf8 0x%x", config_address(slot, reg)) < 0)
                return -1;
        return qtest(NULL, 0, "outl 0xcfc 0x%x", v);
}

static uint64_t now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

/* One DMA of LEN bytes; @cmd 1: RAM to device, 3: device to RAM. Waits for the device to finish. */
static int dma(uint64_t src, uint64_t dst, unsigned cmd) {
        uint64_t status = 1, start = now_ms();

        if (qtest(NULL, 0, "writeq 0x%llx 0x%llx", BAR0 + 0x80, (unsigned long long) src) < 0 ||
            qtest(NULL, 0, "writeq 0x%llx 0x%llx", BAR0 + 0x88, (unsigned long long) dst) < 0 ||
            qtest(NULL, 0, "writeq 0x%llx 0x%x", BAR0 + 0x90, LEN) < 0 ||
            qtest(NULL, 0, "writeq 0x%llx 0x%x", BAR0 + 0x98, cmd) < 0)
                return -1;
        while (status & 1) {
                if (now_ms() - start > 10000)
                        return fail("the DMA did not complete in 10 s"), -1;
                usleep(20000);
                if (qtest_value(&status, "readq 0x%llx", BAR0 + 0x98) < 0)
                        return -1;
        }
        return 0;
}

static int drive(void) {
        char pattern[2 * LEN + 3], answer[2 * LEN + 8];
        uint64_t v, id, slot;

        for (slot = 0; slot < 32; slot++) {
                if (config_read((unsigned) slot, 0, &v) < 0)
                        return fail("reading PCI config space");
                if (v == 0x11e81234)
                        break;
        }
        if (slot == 32)
                return fail("no 1234:11e8 on the nested machine's bus 0");
        printf("qtest-edu: nested PCI 00:%02x.0 is 1234:11e8 (edu)\n", (unsigned) slot);
        if (config_write((unsigned) slot, 0x10, (uint32_t) BAR0) < 0 || config_write((unsigned) slot, 0x04, 0x6) < 0 ||
            config_read((unsigned) slot, 0x10, &v) < 0)
                return fail("assigning BAR0");
        if ((v & ~0xfULL) != BAR0)
                return fail("BAR0 did not take its address");
        if (qtest_value(&id, "readl 0x%llx", BAR0) < 0)
                return fail("reading the identification register");
        printf("qtest-edu: BAR0 at 0x%llx, memory and bus master on; identification 0x%08llx\n", BAR0,
               (unsigned long long) id);
        if ((id & 0xff) != 0xed)
                return fail("that is not edu's identification");
        if (qtest(NULL, 0, "writel 0x%llx 0x12345678", BAR0 + 4) < 0 || qtest_value(&v, "readl 0x%llx", BAR0 + 4) < 0 ||
            v != (uint32_t) ~0x12345678u)
                return fail("the liveness register does not invert what is written");

        strcpy(pattern, "0x");
        for (int i = 0; i < LEN; i++)
                snprintf(pattern + 2 + 2 * i, 3, "%02x", (unsigned) ((i * 7 + 0x3c) & 0xff));
        if (qtest(NULL, 0, "write 0x%llx 0x%x %s", SRC, LEN, pattern) < 0 ||
            qtest(NULL, 0, "write 0x%llx 0x%x 0x%0*d", DST, LEN, 2 * LEN, 0) < 0)
                return fail("writing the nested machine's RAM");
        if (dma(SRC, EDU_BUFFER, 1) < 0 || dma(EDU_BUFFER, DST, 3) < 0)
                return fail("the device's DMA");
        if (qtest(answer, sizeof(answer), "read 0x%llx 0x%x", DST, LEN) < 0)
                return fail("reading the nested machine's RAM");
        if (strcmp(answer, pattern) != 0) {
                fprintf(stderr, "qtest-edu: wrote %.40s..., the device gave back %.40s...\n", pattern, answer);
                return fail("the DMA round trip changed the bytes");
        }
        printf("qtest-edu: %d bytes DMA'd from nested RAM 0x%llx into the device and back to 0x%llx, intact\n",
               LEN, SRC, DST);
        return 0;
}

int main(int argc, char **argv) {
        int in[2], out[2], status, r;
        pid_t pid;

        if (argc < 3 || strcmp(argv[1], "--") != 0) {
                fprintf(stderr, "usage: qtest-edu -- COMMAND [ARG...]\n");
                return EXIT_FAILURE;
        }
        if (pipe(in) < 0 || pipe(out) < 0)
                return fail("pipe");
        pid = fork();
        if (pid < 0)
                return fail("fork");
        if (pid == 0) {
                dup2(in[0], STDIN_FILENO);
                dup2(out[1], STDOUT_FILENO);
                close(in[0]), close(in[1]), close(out[0]), close(out[1]);
                execvp(argv[2], argv + 2);
                fprintf(stderr, "qtest-edu: %s: %s\n", argv[2], strerror(errno));
                _exit(127);
        }
        close(in[0]);
        close(out[1]);
        to_qemu = fdopen(in[1], "w");
        from_qemu = fdopen(out[0], "r");
        if (!to_qemu || !from_qemu)
                return fail("fdopen");
        r = drive();
        fflush(stdout);
        fclose(to_qemu);
        fclose(from_qemu);
        kill(pid, r == 0 ? SIGTERM : SIGKILL);
        if (waitpid(pid, &status, 0) < 0)
                return fail("waitpid");
        return r == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
