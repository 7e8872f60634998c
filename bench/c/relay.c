/*
 * The limit peer of `npm run bench`: a minimal epoll relay speaking the NICK dialect, written to
 * be as cheap as a relay can be on this machine, so that the reference server's figures can be
 * read as ratios to it. One thread, edge-triggered epoll, non-blocking sockets, TCP_NODELAY.
 *
 * NICK dialect (spec/PROTOCOL.md): on accept send "NICK"; the first chunk read is the nickname;
 * then "<nick> joined!" to every member and "Connected to server!" to the newcomer; every later
 * chunk is relayed unchanged to every member, sender included; "<nick> left!" when one goes.
 *
 * Write policy: everything a loop turn (one epoll_wait batch) produces for a member is appended to
 * that member's output buffer and written with one write() per member at the end of the turn (the
 * same policy as the reference server's default). Written bytes are skipped with an offset (no
 * memmove of a large buffer per partial write). Input backpressure, as the reference server: while
 * any member has more than HIGH_MARK unwritten bytes, no input is read (the readers are listed and
 * read again once every member is below LOW_MARK), so buffers stay bounded and nothing is lost.
 * A member whose buffer still passes MAX_QUEUE is closed (a slow reader). Built by `npm run bench`
 * with the machine's cc; no other use.
 *
 * usage: relay PORT   (listens on 127.0.0.1)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_EVENTS 1024
#define RECV_BYTES 1024          /* the NICK seed's recv(1024): one chunk, one message */
#define MAX_QUEUE (4 << 20)      /* a member with this much unwritten output is closed */
#define MAX_NICK 64
#define HIGH_MARK (64 << 10)     /* input paused while a member has more than this unwritten */
#define LOW_MARK (16 << 10)      /* and read again once every member is below this */

typedef struct member {
  int fd;
  int joined;                    /* sent its nickname */
  int dirty;                     /* has output to write at the end of this turn */
  int over;                      /* more than HIGH_MARK unwritten: counted in over_count */
  int pending;                   /* input not read while paused: listed in pending_head */
  char nick[MAX_NICK + 1];
  char *out;
  size_t off, len, cap;          /* unwritten bytes are out[off..len) */
  struct member *next, *prev;    /* joined members, in join order */
  struct member *dnext;          /* dirty list of this turn */
  struct member *dead_next;      /* closed this turn: freed once the turn is over */
  struct member *pnext;          /* pending readers */
} member;

static member *head, *tail, *dirty_head, *dead_head, *pending_head;
static int ep;
static long over_count;          /* members above HIGH_MARK: input is paused while > 0 */

static void mark_dirty(member *m);

static void append(member *m, const char *bytes, size_t n) {
  if (m->fd < 0) return;
  if (m->off > 0 && m->len + n > m->cap) {
    memmove(m->out, m->out + m->off, m->len - m->off); /* once per growth, not per write */
    m->len -= m->off;
    m->off = 0;
  }
  if (m->len + n > m->cap) {
    size_t cap = m->cap ? m->cap : 4096;
    while (cap < m->len + n) cap *= 2;
    m->out = realloc(m->out, cap);
    if (!m->out) abort();
    m->cap = cap;
  }
  memcpy(m->out + m->len, bytes, n);
  m->len += n;
  if (!m->over && m->len - m->off > HIGH_MARK) {
    m->over = 1;
    over_count++;
  }
  mark_dirty(m);
}

static void mark_dirty(member *m) {
  if (!m->dirty) {
    m->dirty = 1;
    m->dnext = dirty_head;
    dirty_head = m;
  }
}

static void broadcast(const char *bytes, size_t n) {
  for (member *m = head; m; m = m->next) append(m, bytes, n);
}

static void drop(member *m) {
  if (m->fd < 0) return;
  epoll_ctl(ep, EPOLL_CTL_DEL, m->fd, NULL);
  close(m->fd);
  m->fd = -1;
  if (m->over) {
    m->over = 0;
    over_count--;
  }
  if (m->joined) {
    if (m->prev) m->prev->next = m->next; else head = m->next;
    if (m->next) m->next->prev = m->prev; else tail = m->prev;
    char line[MAX_NICK + 16];
    int n = snprintf(line, sizeof line, "%s left!", m->nick);
    broadcast(line, (size_t)n);
  }
  /* Later events of this turn may still point at it: freed when the turn is over. */
  m->dead_next = dead_head;
  dead_head = m;
}

static void flush(member *m) {
  while (m->fd >= 0 && m->len > m->off) {
    ssize_t w = write(m->fd, m->out + m->off, m->len - m->off);
    if (w > 0) {
      m->off += (size_t)w;
      if (m->off == m->len) m->off = m->len = 0;
      if (m->over && m->len - m->off <= LOW_MARK) {
        m->over = 0;
        over_count--;
      }
    } else if (w < 0 && errno == EINTR) {
      continue;
    } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (m->len - m->off > MAX_QUEUE) drop(m);
      return; /* EPOLLOUT (edge-triggered) tells when to go on */
    } else {
      drop(m);
      return;
    }
  }
}

static void on_input(member *m) {
  char buf[RECV_BYTES];
  for (;;) {
    if (over_count > 0 && m->joined) {
      /* Paused: read it again once every member is below LOW_MARK (edge-triggered: no new event). */
      if (!m->pending) {
        m->pending = 1;
        m->pnext = pending_head;
        pending_head = m;
      }
      return;
    }
    ssize_t r = read(m->fd, buf, sizeof buf);
    if (r > 0) {
      if (!m->joined) {
        size_t n = (size_t)r < MAX_NICK ? (size_t)r : MAX_NICK;
        memcpy(m->nick, buf, n);
        m->nick[n] = 0;
        m->joined = 1;
        m->prev = tail;
        if (tail) tail->next = m; else head = m;
        tail = m;
        char line[MAX_NICK + 16];
        int k = snprintf(line, sizeof line, "%s joined!", m->nick);
        broadcast(line, (size_t)k);
        append(m, "Connected to server!", 20);
      } else {
        broadcast(buf, (size_t)r);
      }
    } else if (r < 0 && errno == EINTR) {
      continue;
    } else if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return;
    } else {
      drop(m);
      return;
    }
  }
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: relay PORT\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {0};
  addr.sin_family = AF_INET;
  addr.sin_port = htons((unsigned short)atoi(argv[1]));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(lfd, 4096) < 0) {
    perror("relay: listen");
    return 1;
  }
  ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
  struct epoll_event events[MAX_EVENTS];
  for (;;) {
    int n = epoll_wait(ep, events, MAX_EVENTS, pending_head && over_count == 0 ? 0 : -1);
    if (n < 0 && errno == EINTR) continue;
    if (over_count == 0 && pending_head) {
      /* Resumed: read what the paused readers sent. */
      member *p = pending_head;
      pending_head = NULL;
      while (p) {
        member *next = p->pnext;
        p->pending = 0;
        if (p->fd >= 0) on_input(p);
        p = next;
      }
    }
    for (int i = 0; i < n; i++) {
      member *m = events[i].data.ptr;
      if (m == NULL) {
        for (;;) {
          int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
          if (fd < 0) break;
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          member *c = calloc(1, sizeof *c);
          c->fd = fd;
          struct epoll_event cev = {.events = EPOLLIN | EPOLLOUT | EPOLLET | EPOLLRDHUP, .data.ptr = c};
          epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
          append(c, "NICK", 4);
        }
        continue;
      }
      if (m->fd < 0) continue;
      if ((events[i].events & EPOLLOUT) && m->len > m->off) mark_dirty(m);
      if (events[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) on_input(m);
    }
    /* End of the turn: one write per member with output. */
    member *d = dirty_head;
    dirty_head = NULL;
    while (d) {
      member *next = d->dnext;
      d->dirty = 0;
      if (d->fd >= 0) flush(d);
      d = next;
    }
    /* Members closed: free those no list points at any more; keep the others for a later turn. */
    member *dead = dead_head, *keep = NULL;
    dead_head = NULL;
    while (dead) {
      member *next = dead->dead_next;
      if (dead->dirty || dead->pending) {
        dead->dead_next = keep;
        keep = dead;
      } else {
        free(dead->out);
        free(dead);
      }
      dead = next;
    }
    while (keep) {
      member *next = keep->dead_next;
      keep->dead_next = dead_head;
      dead_head = keep;
      keep = next;
    }
  }
}
