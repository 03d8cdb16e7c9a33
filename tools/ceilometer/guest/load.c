/*
 * Licensed under the Apache License, Version 2.0 (the "License"); you may
 * not use this file except in compliance with the License. You may obtain
 * a copy of the License at
 *
 *      http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
 * License for the specific language governing permissions and limitations
 * under the License.
 *
 * load: the paper's non-memory workloads for the Ceilometer suite
 * (tests/ceilometer), the only program of a tiny initramfs besides busybox
 * and tools/qemu/guest/dirty.c.  One workload, paced against
 * CLOCK_MONOTONIC in 10 ms ticks, from the kernel command line:
 *
 *   wl.mode=cpu   wl.duty=<percent>     busy <percent> of each tick
 *   wl.mode=disk  wl.rate=<KiB/s>       O_DIRECT writes of 64 KiB to
 *                 wl.dev=/dev/vda       the device, cycling over it
 *   wl.mode=tx    wl.rate=<KiB/s>       raw Ethernet frames (1514 B,
 *                 wl.if=eth0            broadcast, EtherType 0x88b5, the
 *                                       IEEE local experimental type) out
 *                                       of the interface: nothing routes
 *                                       them anywhere
 *   wl.mode=idle                        sleeps
 *
 * It prints "READY <mode>" once started and "STAT <units done>" every
 * 10 s on the console.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netpacket/packet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TICK 0.01
#define BLOCK (64 * 1024)
#define FRAME 1514
#define ETHERTYPE 0x88b5

static char mode[16] = "idle";
static char dev[64] = "/dev/vda";
static char ifname[16] = "eth0";
static long rate_kib = 1024;
static long duty = 60;

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_until(double t)
{
    double d = t - now();
    struct timespec ts;

    if (d <= 0)
        return;
    ts.tv_sec = (time_t)d;
    ts.tv_nsec = (long)((d - ts.tv_sec) * 1e9);
    nanosleep(&ts, NULL);
}

static void parse(int argc, char **argv)
{
    int i;

    for (i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (strncmp(a, "wl.mode=", 8) == 0)
            snprintf(mode, sizeof(mode), "%s", a + 8);
        else if (strncmp(a, "wl.rate=", 8) == 0)
            rate_kib = atol(a + 8);
        else if (strncmp(a, "wl.duty=", 8) == 0)
            duty = atol(a + 8);
        else if (strncmp(a, "wl.dev=", 7) == 0)
            snprintf(dev, sizeof(dev), "%s", a + 7);
        else if (strncmp(a, "wl.if=", 6) == 0)
            snprintf(ifname, sizeof(ifname), "%s", a + 6);
    }
}

/* Report a setup error and stay up: the guest must not die (PID 1). */
static void fail(const char *what, const char *arg)
{
    printf("ERROR %s %s\n", what, arg);
    fflush(stdout);
    for (;;)
        sleep(3600);
}

static void stat_line(double *next, unsigned long long done)
{
    if (now() >= *next) {
        printf("STAT %llu\n", done);
        fflush(stdout);
        *next += 10;
    }
}

static void run_cpu(void)
{
    volatile unsigned long x = 0;
    double t = now(), next = t + 10;
    unsigned long long ticks = 0;

    for (;;) {
        double busy_until = t + TICK * duty / 100.0;

        while (now() < busy_until)
            x++;
        t += TICK;
        sleep_until(t);
        stat_line(&next, ++ticks);
    }
}

/* Send "unit" bytes per call of "one" at rate_kib KiB/s. */
static void paced(size_t unit, int (*one)(void *), void *arg)
{
    double t0 = now(), next = t0 + 10;
    unsigned long long done = 0;
    double per_s = rate_kib * 1024.0 / unit;

    for (;;) {
        double due = (now() - t0) * per_s;

        /* never more than one tick of backlog */
        if (due - done > per_s * TICK + 1)
            done = (unsigned long long)(due - per_s * TICK);
        while (done < due) {
            if (one(arg) < 0) {
                printf("ERROR %s\n", mode);
                fflush(stdout);
                sleep(1);
                break;
            }
            done++;
        }
        sleep_until(now() + TICK);
        stat_line(&next, done);
    }
}

struct disk {
    int fd;
    unsigned char *buf;
    off_t size, off;
};

static int disk_one(void *arg)
{
    struct disk *d = arg;

    if (d->off + BLOCK > d->size)
        d->off = 0;
    d->buf[0]++;
    if (pwrite(d->fd, d->buf, BLOCK, d->off) != BLOCK)
        return -1;
    d->off += BLOCK;
    return 0;
}

static void run_disk(void)
{
    struct disk d;

    d.fd = open(dev, O_WRONLY | O_DIRECT);
    if (d.fd < 0)
        fail("open", dev);
    d.size = lseek(d.fd, 0, SEEK_END);
    d.off = 0;
    if (d.size < BLOCK || posix_memalign((void **)&d.buf, 4096, BLOCK))
        fail("device too small", dev);
    memset(d.buf, 0x5a, BLOCK);
    paced(BLOCK, disk_one, &d);
}

struct nic {
    int fd;
    struct sockaddr_ll to;
    unsigned char frame[FRAME];
};

static int tx_one(void *arg)
{
    struct nic *n = arg;

    n->frame[14]++;
    if (sendto(n->fd, n->frame, FRAME, 0, (struct sockaddr *)&n->to,
               sizeof(n->to)) != FRAME)
        return -1;
    return 0;
}

static void run_tx(void)
{
    struct nic n;
    struct ifreq ifr;

    memset(&n, 0, sizeof(n));
    n.fd = socket(AF_PACKET, SOCK_RAW, htons(ETHERTYPE));
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
    if (n.fd < 0 || ioctl(n.fd, SIOCGIFINDEX, &ifr) < 0)
        fail("interface", ifname);
    n.to.sll_family = AF_PACKET;
    n.to.sll_ifindex = ifr.ifr_ifindex;
    n.to.sll_halen = 6;
    memset(n.to.sll_addr, 0xff, 6);
    memset(n.frame, 0xff, 6);                   /* broadcast */
    n.frame[6] = 0x02;                          /* locally administered */
    n.frame[12] = ETHERTYPE >> 8;
    n.frame[13] = ETHERTYPE & 0xff;
    paced(FRAME, tx_one, &n);
}

int main(int argc, char **argv)
{
    parse(argc, argv);
    printf("READY %s\n", mode);
    fflush(stdout);
    if (strcmp(mode, "cpu") == 0)
        run_cpu();
    else if (strcmp(mode, "disk") == 0)
        run_disk();
    else if (strcmp(mode, "tx") == 0)
        run_tx();
    for (;;)
        sleep(3600);
}
