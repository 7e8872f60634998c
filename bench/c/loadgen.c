/*
 * The yardstick generator of `npm run bench`: the same run as `chatkit bench` (join, settle, send
 * full speed or paced, scan every member's byte stream for measurement tokens, drain), written in C
 * so that the generator is never what limits a full-speed row. It prints the same `--json`
 * document as `chatkit bench` (schema chatkit-bench/1, src/bench/result.ts), with
 * generator.program = "bench/c/loadgen.c", so the report renders its rows like any other.
 *
 * The product stays TypeScript (src/bench/loadgen.ts); this file only measures. It speaks what the
 * matrix needs: the NICK and tilde dialects and raw lines (ncat), with the token layout of
 * src/bench/token.ts (16 bytes, base-64 digits 0x30..0x6f, a 12-bit check, two copies per message),
 * the scan of src/bench/scanner.ts (a token cut by a chunk boundary is found once its last byte
 * arrives) and the histogram of src/bench/stats.ts (log-linear, nearest rank).
 *
 * One thread, level-triggered epoll, one shared receive buffer, one read per ready socket per loop
 * turn. Members are not read while others still join (lazy join reads, as `chatkit bench`), except
 * for a sweep every 500 ms, so the join announcements wait in the kernel.
 *
 * usage: loadgen --port P --dialect nick|tilde|raw-lines --clients N --senders S
 *                (--messages M | --rate R --duration S) [--size B] [--join-concurrency C]
 *                [--pid PID] [--join-timeout S] [--drain S] [--drain-quiet S] [--timeout S]
 *                [--host 127.0.0.1] [--prompt NICK] [--spawned CMD] [--join-reads lazy|eager]
 * LOADGEN_DEBUG=1 in the environment: one line on stderr per handshake that timed out, with how far
 * it got (the prompt seen, bytes of the answer), to tell a server that stalls from a parse error.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TOKEN_BYTES 16
#define TOKEN_MARK '#'
#define DIGIT_BASE 0x30
#define PAD_BYTE '-'
#define RECV_BYTES (256 * 1024)
#define MAX_EVENTS 1024
#define BURST 8                 /* messages a full-speed sender writes per turn */
#define TICK_MS 100             /* sampling, deadlines, drain checks */
#define JOIN_SWEEP_MS 500       /* members read once this often while others join */
#define SETTLE_QUIET_MS 200     /* the join announcements have drained */
#define SETTLE_MAX_MS 60000
#define MAX_MESSAGE 4096
#define BOTTLENECK_PERCENT 90   /* GENERATOR_BOTTLENECK_PERCENT of src/bench/loadgen.ts */

enum state { CONNECTING, HANDSHAKE, MEMBER, FAILED, CLOSED };
enum dialect { NICK, TILDE, RAW };
enum failure { F_REFUSED, F_CLOSED, F_TIMEOUT, F_MISMATCH, F_CONNECT, F_COUNT };
static const char *failure_names[F_COUNT] = {"refused", "closed", "timeout", "prompt-mismatch",
                                             "connect-error"};

typedef struct client {
  int fd;
  int state;
  int pending;                  /* counted among the handshakes in flight */
  int member;                   /* index among the members, -1 before */
  double started_ms;
  char name[16];
  int name_len;
  char head[32];                /* NICK: the prompt as it arrives */
  int head_len;
  int prompted;
  char answer[24];              /* the first bytes of the answer: a refusal? */
  int answer_len;
  char window[96];              /* the end of the stream, to find the join mark across chunks */
  int window_len;
  unsigned char tail[TOKEN_BYTES]; /* the start of a token cut by the last chunk boundary */
  int tail_len;
} client;

typedef struct sender {
  client *c;
  int index;
  int next;                     /* next sequence number */
  int blocked;                  /* waiting for EPOLLOUT */
  unsigned char msg[MAX_MESSAGE];
  int off, len;                 /* a message partly written: msg[off..len) */
  int prefix_len;               /* NICK: `<name>: ` before the first token */
  double due_ms;
} sender;

/* ---- options ------------------------------------------------------------------------------- */
static const char *host = "127.0.0.1", *prompt = "NICK", *spawned = NULL;
static int port, dialect = NICK, clients_n, senders_n, messages = 0, size = 64, join_conc = 64;
static double rate = 0, duration_s = 0, join_timeout_s = 30, drain_s = 30, drain_quiet_s = 3,
              timeout_s = 300;
static int server_pid = 0;
static int eager = 0; /* --join-reads eager: members read all the time, also while others join */

/* ---- state --------------------------------------------------------------------------------- */
static client *clients;
static client **members;
static int members_n, launched, in_flight, failed_n, members_lost, connected_once;
static int failures[F_COUNT];
static sender *senders;
static int sender_count;
static int32_t *last_seq, *sent_by;
static long long sent, expected, seen, damaged;
static int ep, salt;
static struct timespec epoch;
static int64_t now_us, last_byte_us, last_delivery_us;
static int phase; /* 0 join, 1 settle, 2 send, 3 drain, 4 done */
static unsigned char rbuf[RECV_BYTES];
static char first_warning[256];
static int warnings_n;
static char warnings[5][256];

static int64_t clock_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)(t.tv_sec - epoch.tv_sec) * 1000000 + (t.tv_nsec - epoch.tv_nsec) / 1000;
}
static double clock_ms(void) { return clock_us() / 1000.0; }

static void warn(const char *text) {
  if (warnings_n < 5) snprintf(warnings[warnings_n++], 256, "%s", text);
}

/* ---- histogram (src/bench/stats.ts) -------------------------------------------------------- */
#define SUB 128
#define EXACT (2 * SUB)
#define BUCKETS (EXACT + (32 - 8) * SUB)
typedef struct hist {
  double counts[BUCKETS];
  long long count;
  double sum, min, max;
} hist;

static int bucket_of(double value) {
  uint32_t v = value >= 4294967295.0 ? 4294967295u : value < 0 ? 0 : (uint32_t)value;
  if (v < EXACT) return (int)v;
  int msb = 31 - __builtin_clz(v);
  int shift = msb - 7;
  return EXACT + (shift - 1) * SUB + (int)((v >> shift) - SUB);
}
static double bucket_high(int b) {
  if (b < EXACT) return b;
  int shift = ((b - EXACT) >> 7) + 1;
  double low = (double)(SUB + ((b - EXACT) & (SUB - 1))) * ldexp(1, shift);
  return low + ldexp(1, shift) - 1;
}
static void record(hist *h, double v) {
  if (v < 0) v = 0;
  h->counts[bucket_of(v)]++;
  if (h->count == 0 || v < h->min) h->min = v;
  if (v > h->max) h->max = v;
  h->count++;
  h->sum += v;
}
static double pct(const hist *h, double p) {
  if (h->count == 0) return 0;
  double rank = ceil(p / 100 * (double)h->count);
  if (rank < 1) rank = 1;
  double acc = 0;
  for (int b = 0; b < BUCKETS; b++) {
    acc += h->counts[b];
    if (acc >= rank) {
      double x = bucket_high(b);
      if (x < h->min) x = h->min;
      return x > h->max ? h->max : x;
    }
  }
  return h->max;
}
static hist join_hist, lat_hist;

/* ---- tokens (src/bench/token.ts) ----------------------------------------------------------- */
static int check_of(uint32_t sender, uint32_t seq, int64_t time_us) {
  uint32_t lo = (uint32_t)(time_us % 0x1000000), hi = (uint32_t)(time_us / 0x1000000);
  uint32_t h = ((sender + 1) * 0x9e3779b1u) ^ ((seq + 7) * 0x85ebca6bu) ^ (lo * 0xc2b2ae35u) ^ hi;
  h ^= h >> 15;
  h *= 0x2c1b3c6du;
  h ^= h >> 12;
  return (int)((h ^ (uint32_t)salt) & 0xfff);
}
static void put_digits(unsigned char *at, int64_t v, int width) {
  for (int i = width - 1; i >= 0; i--) {
    at[i] = (unsigned char)(DIGIT_BASE + v % 64);
    v /= 64;
  }
}
static void write_token(unsigned char *at, int sender, int seq, int64_t time_us) {
  at[0] = TOKEN_MARK;
  put_digits(at + 1, sender, 3);
  put_digits(at + 4, seq, 4);
  put_digits(at + 8, time_us, 6);
  put_digits(at + 14, check_of(sender, seq, time_us), 2);
}

static void on_token(int member, int sender, int seq, int64_t time_us) {
  if (sender >= sender_count || seq >= sent_by[sender]) return; /* not (yet) ours */
  int32_t *last = &last_seq[(size_t)member * sender_count + sender];
  if (seq <= *last) return; /* the message's second copy */
  *last = seq;
  seen++;
  record(&lat_hist, (double)(now_us - time_us));
  last_delivery_us = now_us;
}

/* 1: a whole, valid token at `at` (16 bytes there). */
static int try_at(const unsigned char *b, int member) {
  int64_t v[3] = {0, 0, 0};
  static const int from[3] = {1, 4, 8}, to[3] = {4, 8, 14};
  for (int f = 0; f < 3; f++) {
    for (int i = from[f]; i < to[f]; i++) {
      unsigned d = (unsigned)b[i] - DIGIT_BASE;
      if (d > 63) goto bad;
      v[f] = v[f] * 64 + d;
    }
  }
  unsigned c0 = (unsigned)b[14] - DIGIT_BASE, c1 = (unsigned)b[15] - DIGIT_BASE;
  if (c0 > 63 || c1 > 63 || (int)(c0 * 64 + c1) != check_of((uint32_t)v[0], (uint32_t)v[1], v[2]))
    goto bad;
  if (member >= 0) on_token(member, (int)v[0], (int)v[1], v[2]);
  return 1;
bad:
  damaged++;
  return 0;
}

static void scan_bytes(client *c, const unsigned char *b, size_t n) {
  const unsigned char *end = b + n, *at = memchr(b, TOKEN_MARK, n);
  while (at) {
    if ((size_t)(end - at) < TOKEN_BYTES) {
      const unsigned char *next = memchr(at + 1, TOKEN_MARK, (size_t)(end - at - 1));
      if (next) {
        damaged++;
        at = next;
        continue;
      }
      c->tail_len = (int)(end - at);
      memcpy(c->tail, at, (size_t)c->tail_len);
      return;
    }
    const unsigned char *from = try_at(at, c->member) ? at + TOKEN_BYTES : at + 1;
    at = from < end ? memchr(from, TOKEN_MARK, (size_t)(end - from)) : NULL;
  }
}

/* The scanner of src/bench/scanner.ts: whatever the chunk boundaries. */
static void scan(client *c, const unsigned char *b, size_t n) {
  if (n == 0) return;
  if (c->tail_len > 0) {
    size_t need = (size_t)(TOKEN_BYTES - c->tail_len);
    unsigned char tmp[2 * TOKEN_BYTES];
    if (n < need) {
      memcpy(tmp, c->tail, (size_t)c->tail_len);
      memcpy(tmp + c->tail_len, b, n);
      size_t len = (size_t)c->tail_len + n;
      c->tail_len = 0;
      scan_bytes(c, tmp, len);
      return;
    }
    memcpy(tmp, c->tail, (size_t)c->tail_len);
    memcpy(tmp + c->tail_len, b, need);
    c->tail_len = 0;
    try_at(tmp, c->member);
  }
  scan_bytes(c, b, n);
}

/* ---- joining ------------------------------------------------------------------------------- */
static void set_events(client *c, uint32_t events) {
  struct epoll_event ev = {.events = events, .data.ptr = c};
  epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void end_handshake(client *c) {
  if (c->pending) {
    c->pending = 0;
    in_flight--;
  }
}

static void lose(client *c, int why) {
  if (phase == 4 || c->state == FAILED || c->state == CLOSED) return;
  if (c->state == MEMBER) {
    c->state = CLOSED;
    members_lost++;
  } else {
    c->state = FAILED;
    failed_n++;
    failures[why]++;
    end_handshake(c);
  }
  epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  c->fd = -1;
}

static void joined(client *c) {
  c->state = MEMBER;
  end_handshake(c);
  c->member = members_n;
  members[members_n++] = c;
  record(&join_hist, (clock_ms() - c->started_ms) * 1000);
  if (phase == 0 && !eager) set_events(c, 0); /* lazy: read by the sweep until everyone joined */
}

static void send_all(client *c, const char *bytes, int n) {
  /* A handshake answer is a few bytes on an empty socket: it fits at once. */
  if (send(c->fd, bytes, (size_t)n, MSG_NOSIGNAL) != n) lose(c, F_CLOSED);
}

/* Watches the stream after the prompt: a refusal, or the join mark. */
static int after_prompt(client *c, const char *text, int n, const char *refused, const char *mark) {
  int rl = (int)strlen(refused), ml = (int)strlen(mark);
  for (int i = 0; i < n && c->answer_len < rl; i++) c->answer[c->answer_len++] = text[i];
  if (c->answer_len == rl && memcmp(c->answer, refused, (size_t)rl) == 0) {
    snprintf(first_warning, sizeof first_warning, "%s: refused", c->name);
    warn(first_warning);
    lose(c, F_REFUSED);
    return -1;
  }
  /* the mark in the new bytes, or across the boundary with the kept end of the stream */
  int found = memmem(text, (size_t)n, mark, (size_t)ml) != NULL;
  char buf[2 * sizeof c->window];
  int head = n < ml - 1 ? n : ml - 1;
  memcpy(buf, c->window, (size_t)c->window_len);
  memcpy(buf + c->window_len, text, (size_t)head);
  int len = c->window_len + head;
  found = found || memmem(buf, (size_t)len, mark, (size_t)ml) != NULL;
  /* keep the last ml - 1 bytes of the stream */
  int keep = ml - 1;
  if (n >= keep) memcpy(c->window, text + n - keep, (size_t)keep);
  else {
    int from = len > keep ? len - keep : 0;
    memmove(c->window, buf + from, (size_t)(len - from));
    keep = len - from;
  }
  c->window_len = keep;
  if (found) joined(c);
  return found;
}

static char nick_mark[] = "Connected to server!";
static char tilde_mark[80];

static void handshake_bytes(client *c, const char *text, int n) {
  if (dialect == RAW) {
    joined(c);
    return;
  }
  if (dialect == TILDE) {
    snprintf(tilde_mark, sizeof tilde_mark, "SERVER~%s added to the chat", c->name);
    after_prompt(c, text, n, "SERVER~Refused: ", tilde_mark);
    return;
  }
  if (c->prompted) {
    after_prompt(c, text, n, "Refused: ", nick_mark);
    return;
  }
  int pl = (int)strlen(prompt);
  int take = n < (int)sizeof c->head - c->head_len ? n : (int)sizeof c->head - c->head_len;
  memcpy(c->head + c->head_len, text, (size_t)take);
  c->head_len += take;
  int cmp = c->head_len < pl ? c->head_len : pl;
  if (memcmp(c->head, prompt, (size_t)cmp) != 0) {
    snprintf(first_warning, sizeof first_warning, "%s: prompt-mismatch: expected the prompt %s",
             c->name, prompt);
    warn(first_warning);
    lose(c, F_MISMATCH);
    return;
  }
  if (c->head_len < pl) return;
  c->prompted = 1;
  /* bytes after the prompt in this chunk */
  int used_before = c->head_len - take;
  int rest_at = pl - used_before;
  if (rest_at < n && after_prompt(c, text + rest_at, n - rest_at, "Refused: ", nick_mark) != 0)
    return;
  send_all(c, c->name, c->name_len);
}

static void launch_one(void) {
  client *c = &clients[launched];
  memset(c, 0, sizeof *c);
  c->member = -1;
  c->name_len = snprintf(c->name, sizeof c->name, "c%03x%x", salt, launched);
  launched++;
  in_flight++;
  c->pending = 1;
  c->started_ms = clock_ms();
  c->state = CONNECTING;
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  inet_pton(AF_INET, host, &a.sin_addr);
  struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
  epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
  if (connect(c->fd, (struct sockaddr *)&a, sizeof a) < 0 && errno != EINPROGRESS)
    lose(c, F_CONNECT);
}

static void launch_joins(void) {
  int hopeless = !connected_once && failed_n > 0 && in_flight == 0;
  while (!hopeless && phase == 0 && launched < clients_n && in_flight < join_conc) launch_one();
}

static void on_connected(client *c) {
  int err = 0;
  socklen_t len = sizeof err;
  getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) {
    lose(c, F_CONNECT);
    return;
  }
  connected_once = 1;
  c->state = HANDSHAKE;
  set_events(c, EPOLLIN);
  if (dialect == TILDE) send_all(c, c->name, c->name_len);
}

/* One read of a readable socket (level-triggered: the rest comes next turn). */
static void read_one(client *c) {
  ssize_t n = recv(c->fd, rbuf, RECV_BYTES, 0);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
    lose(c, c->state == CONNECTING ? F_CONNECT : F_CLOSED);
    return;
  }
  if (n < 0) return;
  now_us = clock_us();
  last_byte_us = now_us;
  if (c->state == HANDSHAKE) handshake_bytes(c, (const char *)rbuf, (int)n);
  if (c->state == MEMBER) scan(c, rbuf, (size_t)n);
}

/* ---- /proc figures of the server ----------------------------------------------------------- */
static double server_cpu_ms(void) {
  if (server_pid == 0) return -1;
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", server_pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char *p = strrchr(buf, ')');
  if (!p) return -1;
  unsigned long long ut = 0, st = 0;
  /* after ") ": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime */
  if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2) return -1;
  return (double)(ut + st) * 1000.0 / (double)sysconf(_SC_CLK_TCK);
}
static long long server_rss(void) {
  if (server_pid == 0) return -1;
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", server_pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  long long kb = -1;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "VmRSS: %lld kB", &kb) == 1) break;
  fclose(f);
  return kb < 0 ? -1 : kb * 1024;
}
static long long rss_peak = -1;
static void sample_rss(void) {
  long long r = server_rss();
  if (r > rss_peak) rss_peak = r;
}
static double gen_cpu_ms(void) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return (double)(u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1000.0 +
         (double)(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1000.0;
}
static long long gen_rss(void) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return (long long)u.ru_maxrss * 1024;
}

/* ---- the loop ------------------------------------------------------------------------------ */
static int ended; /* 0 running, else the endedBy index */
static const char *ended_names[] = {"", "complete", "drain-quiet", "drain-limit", "deadline",
                                    "no-members"};
enum { E_COMPLETE = 1, E_QUIET, E_LIMIT, E_DEADLINE, E_NONE };
static double deadline_ms;

static void on_writable(client *c);
static void poll_once(int timeout_ms) {
  struct epoll_event evs[MAX_EVENTS];
  int n = epoll_wait(ep, evs, MAX_EVENTS, timeout_ms);
  for (int i = 0; i < n; i++) {
    client *c = evs[i].data.ptr;
    if (c->fd < 0) continue;
    uint32_t e = evs[i].events;
    if (c->state == CONNECTING) {
      on_connected(c);
      continue;
    }
    if ((e & EPOLLOUT) && c->state == MEMBER) on_writable(c);
    if (c->fd >= 0 && (e & (EPOLLIN | EPOLLHUP | EPOLLERR))) read_one(c);
  }
}

/* ---- sending ------------------------------------------------------------------------------- */
static sender **sender_of_client; /* by member index */

static void stamp(sender *s) {
  int64_t t = clock_us();
  write_token(s->msg + s->prefix_len, s->index, s->next, t);
  if (size - s->prefix_len - (dialect == RAW ? 1 : 0) >= 2 * TOKEN_BYTES)
    write_token(s->msg + size - (dialect == RAW ? 1 : 0) - TOKEN_BYTES, s->index, s->next, t);
}

/* Writes the sender's next message; 0 when its socket is full. */
static int write_one(sender *s) {
  if (s->off < s->len) {
    ssize_t w = send(s->c->fd, s->msg + s->off, (size_t)(s->len - s->off), MSG_NOSIGNAL);
    if (w < 0) {
      if (errno != EAGAIN) lose(s->c, F_CLOSED);
      return 0;
    }
    s->off += (int)w;
    return s->off == s->len;
  }
  stamp(s);
  ssize_t w = send(s->c->fd, s->msg, (size_t)size, MSG_NOSIGNAL);
  if (w < 0) {
    if (errno != EAGAIN) lose(s->c, F_CLOSED);
    return 0;
  }
  s->next++;
  sent_by[s->index] = s->next;
  sent++;
  expected += dialect == RAW ? members_n - 1 : members_n;
  s->off = (int)w;
  s->len = size;
  return w == size;
}

static void block(sender *s) {
  s->blocked = 1;
  set_events(s->c, EPOLLIN | EPOLLOUT);
}
static void on_writable(client *c) {
  sender *s = sender_of_client[c->member];
  if (!s || !s->blocked) {
    set_events(c, EPOLLIN);
    return;
  }
  s->blocked = 0;
  set_events(c, EPOLLIN);
}

int main(int argc, char **argv) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const char *k = argv[i], *v = argv[i + 1];
    if (!strcmp(k, "--host")) host = v;
    else if (!strcmp(k, "--port")) port = atoi(v);
    else if (!strcmp(k, "--dialect"))
      dialect = !strcmp(v, "nick") ? NICK : !strcmp(v, "tilde") ? TILDE : RAW;
    else if (!strcmp(k, "--prompt")) prompt = v;
    else if (!strcmp(k, "--clients")) clients_n = atoi(v);
    else if (!strcmp(k, "--senders")) senders_n = atoi(v);
    else if (!strcmp(k, "--messages")) messages = atoi(v);
    else if (!strcmp(k, "--rate")) rate = atof(v);
    else if (!strcmp(k, "--duration")) duration_s = atof(v);
    else if (!strcmp(k, "--size")) size = atoi(v);
    else if (!strcmp(k, "--join-concurrency")) join_conc = atoi(v);
    else if (!strcmp(k, "--pid")) server_pid = atoi(v);
    else if (!strcmp(k, "--join-timeout")) join_timeout_s = atof(v);
    else if (!strcmp(k, "--drain")) drain_s = atof(v);
    else if (!strcmp(k, "--drain-quiet")) drain_quiet_s = atof(v);
    else if (!strcmp(k, "--timeout")) timeout_s = atof(v);
    else if (!strcmp(k, "--spawned")) spawned = v;
    else if (!strcmp(k, "--join-reads")) eager = !strcmp(v, "eager");
    else {
      fprintf(stderr, "loadgen: unknown option %s\n", k);
      return 2;
    }
  }
  if (port <= 0 || clients_n < 1 || senders_n < 0 || senders_n > clients_n ||
      (messages > 0) == (duration_s > 0) || size > MAX_MESSAGE || join_conc < 1) {
    fprintf(stderr, "loadgen: bad options (see the usage at the top of bench/c/loadgen.c)\n");
    return 2;
  }
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  rlim_t soft0 = rl.rlim_cur;
  int raised = 0;
  if (rl.rlim_cur < (rlim_t)clients_n + 64 && rl.rlim_max >= (rlim_t)clients_n + 64) {
    rl.rlim_cur = (rlim_t)clients_n + 64;
    raised = setrlimit(RLIMIT_NOFILE, &rl) == 0;
  }
  clock_gettime(CLOCK_MONOTONIC, &epoch);
  srand((unsigned)(epoch.tv_nsec ^ getpid()));
  salt = rand() & 0xfff;
  clients = calloc((size_t)clients_n, sizeof *clients);
  members = calloc((size_t)clients_n, sizeof *members);
  ep = epoll_create1(0);
  deadline_ms = timeout_s * 1000;

  /* join */
  sample_rss();
  double join_cpu0 = server_cpu_ms(), gen_join0 = gen_cpu_ms();
  double join_start = clock_ms(), join_end = 0, last_tick = 0, last_sweep = 0;
  launch_joins();
  while (!ended) {
    poll_once(10);
    double now = clock_ms();
    if (now - last_tick >= TICK_MS) {
      last_tick = now;
      sample_rss();
      for (int i = 0; i < launched; i++) {
        client *c = &clients[i];
        if (c->pending && now - c->started_ms >= join_timeout_s * 1000) {
          if (getenv("LOADGEN_DEBUG"))
            fprintf(stderr, "timeout %s state %d head %d prompted %d answer %d\n", c->name, c->state,
                    c->head_len, c->prompted, c->answer_len);
          lose(c, F_TIMEOUT);
        }
      }
      if (now >= deadline_ms) ended = E_DEADLINE;
    }
    if (!eager && now - last_sweep >= JOIN_SWEEP_MS) {
      last_sweep = now;
      for (int i = 0; i < members_n; i++) {
        client *c = members[i];
        while (c->fd >= 0) {
          ssize_t n = recv(c->fd, rbuf, RECV_BYTES, MSG_DONTWAIT);
          if (n > 0) {
            last_byte_us = clock_us();
            continue;
          }
          if (n == 0 || (errno != EAGAIN && errno != EINTR)) lose(c, F_CLOSED);
          break;
        }
      }
    }
    launch_joins();
    int hopeless = !connected_once && failed_n > 0 && in_flight == 0;
    if ((hopeless || launched >= clients_n) && in_flight == 0) break;
  }
  join_end = clock_ms();
  double join_cpu_server = server_cpu_ms() - join_cpu0, join_cpu_gen = gen_cpu_ms() - gen_join0;
  if (!connected_once) {
    fprintf(stderr, "loadgen: cannot connect to %s:%d\n", host, port);
    return 1;
  }

  /* settle: every member read, until no byte for SETTLE_QUIET_MS */
  phase = 1;
  for (int i = 0; i < members_n; i++)
    if (members[i]->fd >= 0) set_events(members[i], EPOLLIN);
  double settle_until = clock_ms() + SETTLE_MAX_MS;
  last_byte_us = clock_us();
  while (!ended && clock_us() - last_byte_us < SETTLE_QUIET_MS * 1000 && clock_ms() < settle_until) {
    poll_once(SETTLE_QUIET_MS / 4);
    if (clock_ms() >= deadline_ms) ended = E_DEADLINE;
  }
  long long rss_after_join = server_rss();
  sample_rss();
  if (!ended && members_n == 0) ended = E_NONE;

  /* send */
  double send_start = 0, send_end = 0, server_cpu0 = -1, gen_cpu0 = 0;
  double at_progress = 0, at_server = -1, at_gen = 0;
  if (!ended) {
    phase = 2;
    sender_count = senders_n < members_n ? senders_n : members_n;
    last_seq = malloc((size_t)members_n * (size_t)(sender_count ? sender_count : 1) * sizeof *last_seq);
    memset(last_seq, 0xff, (size_t)members_n * (size_t)(sender_count ? sender_count : 1) * sizeof *last_seq);
    sent_by = calloc((size_t)(sender_count ? sender_count : 1), sizeof *sent_by);
    senders = calloc((size_t)(sender_count ? sender_count : 1), sizeof *senders);
    sender_of_client = calloc((size_t)members_n, sizeof *sender_of_client);
    for (int i = 0; i < sender_count; i++) {
      sender *s = &senders[i];
      s->c = members[i];
      s->index = i;
      sender_of_client[i] = s;
      memset(s->msg, PAD_BYTE, (size_t)size);
      if (dialect == NICK) {
        memcpy(s->msg, s->c->name, (size_t)s->c->name_len);
        memcpy(s->msg + s->c->name_len, ": ", 2);
        s->prefix_len = s->c->name_len + 2;
      }
      if (dialect == RAW) s->msg[size - 1] = '\n';
    }
    server_cpu0 = server_cpu_ms();
    gen_cpu0 = gen_cpu_ms();
    send_start = clock_ms();
    double period = rate > 0 ? 1000.0 / rate : 0;
    double send_until = duration_s > 0 ? send_start + duration_s * 1000 : INFINITY;
    int limit = messages > 0 ? messages : 16777216;
    for (int i = 0; i < sender_count; i++)
      senders[i].due_ms = send_start + ((double)i / sender_count) * period;
    double last_progress = send_start;
    long long last_seen = 0;
    last_tick = send_start;
    double drain_start = 0;
    while (!ended) {
      double now = clock_ms();
      int more = 0;
      if (phase == 2) {
        int active = 0;
        for (int i = 0; i < sender_count; i++) {
          sender *s = &senders[i];
          if (s->c->state != MEMBER || now >= send_until) continue;
          if (s->next >= limit && s->off >= s->len) continue;
          active++;
          if (s->blocked) continue;
          if (rate == 0) {
            for (int k = 0; k < BURST && (s->next < limit || s->off < s->len); k++) {
              if (!write_one(s)) {
                if (s->c->state == MEMBER) block(s);
                break;
              }
            }
            if (!s->blocked && s->next < limit) more = 1;
          } else {
            while ((s->next < limit || s->off < s->len) && s->due_ms <= now && now < send_until) {
              if (!write_one(s)) {
                if (s->c->state == MEMBER) block(s);
                break;
              }
              s->due_ms += period;
            }
          }
        }
        if (active == 0) {
          phase = 3;
          send_end = clock_ms();
          drain_start = send_end;
          last_progress = send_end;
        }
      }
      poll_once(more ? 0 : rate > 0 && phase == 2 ? 1 : 10);
      now = clock_ms();
      if (phase == 3 && seen >= expected) {
        ended = E_COMPLETE;
        break;
      }
      if (now - last_tick >= TICK_MS) {
        last_tick = now;
        sample_rss();
        if (seen != last_seen) {
          last_seen = seen;
          last_progress = now;
          at_progress = now;
          at_server = server_cpu_ms();
          at_gen = gen_cpu_ms();
        }
        if (phase == 3) {
          if (now - drain_start >= drain_s * 1000) ended = E_LIMIT;
          else if (now - last_progress >= drain_quiet_s * 1000) ended = E_QUIET;
        }
        if (now >= deadline_ms) ended = E_DEADLINE;
      }
    }
    if (send_end == 0) send_end = clock_ms();
  }

  /* the result */
  phase = 4;
  double end_at = clock_ms(), end_server = server_cpu_ms(), end_gen = gen_cpu_ms();
  if (ended != E_COMPLETE && at_progress > send_start && send_start > 0) {
    end_at = at_progress;
    end_server = at_server;
    end_gen = at_gen;
  }
  double window = send_start > 0 ? fmax(1, end_at - send_start) : 0;
  double delivery_window = fmax(1, last_delivery_us / 1000.0 - send_start);
  double gen_ms = end_gen - gen_cpu0;
  double srv_ms = server_cpu0 >= 0 && end_server >= 0 ? fmax(0, end_server - server_cpu0) : -1;
  sample_rss();
  long long gen_rss_bytes = gen_rss();
  for (int i = 0; i < launched; i++) {
    client *c = &clients[i];
    if (c->fd < 0) continue;
    struct linger l = {1, 0}; /* RST: a server that spins on EOF sees an error at once */
    setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    close(c->fd);
  }
  long long lost = expected > seen ? expected - seen : 0;
  char w[256];
  if (lost > 0 && damaged > 0) {
    snprintf(w, sizeof w,
             "%lld token copies were damaged (a relay cut or prefixed inside a message); a message "
             "counts once either of its copies is whole",
             damaged);
    warn(w);
  }
  if (ended == E_DEADLINE) {
    snprintf(w, sizeof w, "the run hit its deadline of %.0f ms", deadline_ms);
    warn(w);
  }
  if (window > 0 && gen_ms / window * 100 > BOTTLENECK_PERCENT) {
    snprintf(w, sizeof w,
             "the generator was the bottleneck (%.0f %% of its core): the figure is a lower bound",
             gen_ms / window * 100);
    warn(w);
  }
#define MS3(x) (round((x) * 1000) / 1000)
#define LAT(h)                                                                                    \
  printf("{\"samples\":%lld,\"min\":%.3f,\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"max\":%.3f,"   \
         "\"mean\":%.3f}",                                                                        \
         (h)->count, (h)->count ? (h)->min / 1000 : 0, pct(h, 50) / 1000, pct(h, 90) / 1000,     \
         pct(h, 99) / 1000, (h)->max / 1000, (h)->count ? (h)->sum / (h)->count / 1000 : 0)
  const char *dn = dialect == NICK ? "nick" : dialect == TILDE ? "tilde" : "raw-lines";
  printf("{\"schema\":\"chatkit-bench/1\",\"target\":{\"host\":\"%s\",\"port\":%d,\"dialect\":\"%s\"",
         host, port, dn);
  if (dialect == NICK) printf(",\"prompt\":\"%s\"", prompt);
  if (spawned) {
    printf(",\"spawned\":\"");
    for (const char *p = spawned; *p; p++) {
      if (*p == '"' || *p == '\\') putchar('\\');
      if ((unsigned char)*p >= 0x20) putchar(*p);
    }
    putchar('"');
  }
  printf("},\"config\":{\"clients\":%d,\"senders\":%d,\"messagesPerSender\":", clients_n, senders_n);
  if (messages > 0) printf("%d", messages);
  else printf("null");
  printf(",\"durationMs\":");
  if (duration_s > 0) printf("%.0f", duration_s * 1000);
  else printf("null");
  printf(",\"rate\":%g,\"size\":%d,\"joinConcurrency\":%d,\"joinRate\":0,\"joinReads\":\"%s\"},",
         rate, size, join_conc, eager ? "eager" : "lazy");
  printf("\"join\":{\"attempted\":%d,\"joined\":%d,\"failed\":%d,\"failures\":{", launched, members_n,
         failed_n);
  for (int f = 0, first = 1; f < F_COUNT; f++) {
    if (!failures[f]) continue;
    printf("%s\"%s\":%d", first ? "" : ",", failure_names[f], failures[f]);
    first = 0;
  }
  printf("},\"ms\":%.3f,\"latencyMs\":", MS3(join_end - join_start));
  LAT(&join_hist);
  printf("},\"send\":{\"messages\":%lld,\"ms\":%.3f,\"messageBytes\":%d},", sent,
         MS3(fmax(0, send_end - send_start)), size);
  printf("\"deliveries\":{\"expected\":%lld,\"seen\":%lld,\"lost\":%lld,\"perSecond\":%.0f,"
         "\"damagedTokens\":%lld},\"latencyMs\":",
         expected, seen, lost, seen > 0 ? round(seen * 1000.0 / delivery_window) : 0.0, damaged);
  LAT(&lat_hist);
  printf(",\"membersLost\":%d,\"server\":", members_lost);
  if (server_pid == 0) printf("null");
  else {
    printf("{\"pid\":%d,\"group\":false,\"rssAfterJoinBytes\":", server_pid);
    if (rss_after_join >= 0) printf("%lld", rss_after_join);
    else printf("null");
    printf(",\"rssPeakBytes\":");
    if (rss_peak >= 0) printf("%lld", rss_peak);
    else printf("null");
    printf(",\"joinCpuMs\":");
    if (join_cpu0 >= 0) printf("%.0f", join_cpu_server);
    else printf("null");
    printf(",\"cpuMs\":");
    if (srv_ms >= 0) printf("%.0f", srv_ms);
    else printf("null");
    printf(",\"cpuPercent\":");
    if (srv_ms >= 0 && window > 0) printf("%.1f", round(srv_ms / window * 1000) / 10);
    else printf("null");
    printf("}");
  }
  printf(",\"generator\":{\"program\":\"bench/c/loadgen.c\",\"joinCpuMs\":%.0f,\"cpuMs\":%.0f,"
         "\"cpuPercent\":%.1f,\"rssBytes\":%lld},",
         join_cpu_gen, gen_ms, window > 0 ? round(gen_ms / window * 1000) / 10 : 0.0, gen_rss_bytes);
  printf("\"endedBy\":\"%s\",\"durationMs\":%.0f,", ended ? ended_names[ended] : "complete",
         round(clock_ms()));
  printf("\"openFiles\":{\"needed\":%d,\"soft\":%llu,\"raised\":%s},\"warnings\":[", clients_n + 64,
         (unsigned long long)(raised ? rl.rlim_cur : soft0), raised ? "true" : "false");
  for (int i = 0; i < warnings_n; i++) {
    printf("%s\"", i ? "," : "");
    for (const char *p = warnings[i]; *p; p++) {
      if (*p == '"' || *p == '\\') putchar('\\');
      putchar(*p);
    }
    putchar('"');
  }
  printf("]}\n");
  return 0;
}
