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
 * dirty: the guest workload of the real pre-copy migration tests
 * (tests/hypervisor).  It runs as the only program of a tiny initramfs.
 *
 * At start it
 *   - forks the "flusher", a second process that sleeps 0.5 ms in a loop.
 *     Every switch between the two address spaces reloads CR3, which makes
 *     QEMU's TCG flush its software TLB.  Without it QEMU 7.2 TCG loses
 *     dirty pages during migration (see doc/source/cost-model.rst);
 *   - allocates and touches the working set (dirty.wsmax MiB), then fills
 *     dirty.fill MiB ("auto": MemAvailable - 40 MiB) so that almost all
 *     guest RAM is non-zero and QEMU has to send it;
 *   - with dirty.freed=N (or "auto": MemAvailable - 40 MiB after the
 *     working set), touches N MiB and frees it again, before the fill:
 *     the pages keep their non-zero content, so the host still holds them
 *     (resident) and QEMU still sends them, while the guest counts them
 *     as free -- a guest whose resident size is many times its used
 *     memory, like a real guest's freed pages and dropped page cache;
 *   - prints "READY ...".
 *
 * It then writes its 64-bit write counter into each 4 KiB page (so the
 * content changes at every write), sequentially over the first W MiB of
 * the working set, at R pages per second, paced against
 * CLOCK_MONOTONIC in 1 ms steps.  Commands on the console (one per line):
 *   set <W MiB> <R pages/s>   -> "OK ws=<W> rate=<R>"
 *   ping                      -> "PONG <pages written so far>"
 *   stat                      -> "STAT ..." (achieved rate since "set")
 *   mem                       -> "MEM total=<MiB> avail=<MiB>" (meminfo)
 * Options come from the kernel command line: dirty.fill, dirty.freed,
 * dirty.wsmax, dirty.ws, dirty.rate, dirty.flusher.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096UL
#define MIB (1024UL * 1024UL)
#define PAGES_PER_MIB (MIB / PAGE)
#define FILL_MARGIN_MIB 40L
/* A backlog above this many seconds of writes is dropped, not caught up. */
#define MAX_BACKLOG_S 0.1

static long opt_fill = -1;      /* -1: auto */
static long opt_freed;          /* -1: auto */
static long opt_wsmax = 64;
static long opt_ws = 16;
static long opt_rate;
static int opt_flusher = 1;

static unsigned char *ws_mem;
static long cur_ws, cur_rate;
static double set_at;
static unsigned long long done_since_set, dropped_since_set, written_total;
static unsigned long pos;

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if (n > (int)sizeof(buf) - 2)
        n = sizeof(buf) - 2;
    buf[n++] = '\n';
    if (write(1, buf, n) < 0)
        return;
}

static long mem_available_mib(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    char line[128];
    long kib = -1;

    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "MemAvailable: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib < 0 ? -1 : kib / 1024;
}

static long mem_total_mib(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    char line[128];
    long kib = -1;

    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "MemTotal: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib < 0 ? -1 : kib / 1024;
}

/* mmap and touch "mib" MiB so that every page is non-zero. */
static unsigned char *touch_alloc(long mib)
{
    size_t len = (size_t)mib * MIB, off;
    unsigned char *p;

    if (mib <= 0)
        return NULL;
    p = mmap(NULL, len, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        say("ERROR mmap %ld MiB failed", mib);
        exit(1);
    }
    for (off = 0; off < len; off += PAGE)
        p[off] = (unsigned char)((off / PAGE) | 1);
    return p;
}

static void flusher(void)
{
    struct timespec ts = {0, 500000};

    prctl(PR_SET_PDEATHSIG, SIGKILL);
    for (;;)
        nanosleep(&ts, NULL);
}

static void parse(int argc, char **argv)
{
    int i;

    for (i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (strncmp(a, "dirty.fill=", 11) == 0)
            opt_fill = strcmp(a + 11, "auto") == 0 ? -1 : atol(a + 11);
        else if (strncmp(a, "dirty.freed=", 12) == 0)
            opt_freed = strcmp(a + 12, "auto") == 0 ? -1 : atol(a + 12);
        else if (strncmp(a, "dirty.wsmax=", 12) == 0)
            opt_wsmax = atol(a + 12);
        else if (strncmp(a, "dirty.ws=", 9) == 0)
            opt_ws = atol(a + 9);
        else if (strncmp(a, "dirty.rate=", 11) == 0)
            opt_rate = atol(a + 11);
        else if (strncmp(a, "dirty.flusher=", 14) == 0)
            opt_flusher = atoi(a + 14);
    }
}

static void set_load(long ws, long rate)
{
    if (ws > opt_wsmax)
        ws = opt_wsmax;
    if (ws < 0)
        ws = 0;
    if (rate < 0 || ws == 0)
        rate = 0;
    cur_ws = ws;
    cur_rate = rate;
    set_at = now();
    done_since_set = dropped_since_set = 0;
    pos = 0;
}

static void dirty_step(void)
{
    unsigned long pages = (unsigned long)cur_ws * PAGES_PER_MIB;
    double target;

    if (cur_rate <= 0 || pages == 0)
        return;
    target = (now() - set_at) * cur_rate - dropped_since_set;
    if (target - done_since_set > MAX_BACKLOG_S * cur_rate) {
        unsigned long long skip = (unsigned long long)(
            target - done_since_set - MAX_BACKLOG_S * cur_rate);

        dropped_since_set += skip;
        target -= skip;
    }
    while (done_since_set < target) {
        /* Offset 0 keeps the non-zero byte of touch_alloc().  The whole
         * 64-bit write counter goes in, so every write changes the page's
         * content: QEMU's page-sampling dirty-rate calculation compares
         * page hashes, and a single byte would repeat every 256 writes
         * (a working set of a multiple of 1 MiB would look clean). */
        written_total++;
        memcpy(ws_mem + pos * PAGE + 8, &written_total,
               sizeof(written_total));
        pos = (pos + 1) % pages;
        done_since_set++;
    }
}

static void command(char *line)
{
    long ws, rate;

    if (sscanf(line, "set %ld %ld", &ws, &rate) == 2) {
        set_load(ws, rate);
        say("OK ws=%ld rate=%ld", cur_ws, cur_rate);
    } else if (strncmp(line, "ping", 4) == 0) {
        say("PONG %llu", written_total);
    } else if (strncmp(line, "mem", 3) == 0) {
        say("MEM total=%ld avail=%ld", mem_total_mib(), mem_available_mib());
    } else if (strncmp(line, "stat", 4) == 0) {
        double el = now() - set_at;

        say("STAT ws=%ld rate=%ld elapsed_ms=%.0f done=%llu dropped=%llu "
            "achieved=%.0f", cur_ws, cur_rate, el * 1000, done_since_set,
            dropped_since_set, el > 0 ? done_since_set / el : 0.0);
    } else if (line[0]) {
        say("ERR unknown command");
    }
}

int main(int argc, char **argv)
{
    char buf[256];
    size_t used = 0;
    long avail, fill;
    struct termios t;
    int console_open = 1;

    parse(argc, argv);
    if (opt_flusher && fork() == 0)
        flusher();
    ws_mem = touch_alloc(opt_wsmax);
    if (opt_freed) {
        long freed = opt_freed > 0 ? opt_freed
                                   : mem_available_mib() - FILL_MARGIN_MIB;
        unsigned char *gone = touch_alloc(freed);

        if (gone)
            munmap(gone, (size_t)freed * MIB);
    }
    avail = mem_available_mib();
    fill = opt_fill >= 0 ? opt_fill : avail - FILL_MARGIN_MIB;
    touch_alloc(fill);
    set_load(opt_ws, opt_rate);
    if (tcgetattr(0, &t) == 0) {
        t.c_lflag &= ~(ECHO | ECHONL);
        tcsetattr(0, TCSANOW, &t);
    }
    say("READY wsmax=%ld fill=%ld avail=%ld flusher=%d", opt_wsmax, fill,
        avail, opt_flusher);
    for (;;) {
        struct pollfd pfd = {console_open ? 0 : -1, POLLIN, 0};
        int timeout = cur_rate > 0 ? 1 : 100;

        if (poll(&pfd, 1, timeout) > 0 &&
            (pfd.revents & (POLLIN | POLLHUP))) {
            ssize_t n = read(0, buf + used, sizeof(buf) - 1 - used);
            char *nl;

            if (n > 0) {
                used += n;
                buf[used] = 0;
                while ((nl = strpbrk(buf, "\r\n")) != NULL) {
                    *nl = 0;
                    command(buf);
                    used -= nl + 1 - buf;
                    memmove(buf, nl + 1, used + 1);
                }
                if (used >= sizeof(buf) - 1)
                    used = 0;
            } else {
                console_open = 0;
            }
        }
        dirty_step();
    }
}
