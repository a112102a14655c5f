/*
 * ur-spawn: starts the processes of one ur-agent process and relays their
 * output, so that the agent never forks.
 *
 * Why: fork() from Node copies the page tables of a 50-100 MB process and
 * blocks its event loop for the whole copy (2-15 ms on a slow VM). vfork()
 * from this small process costs neither, and runs on the other core.
 *
 * The agent talks to it over stdin/stdout in frames, little-endian:
 *   u32 length (of what follows) | u32 id | u8 type | payload
 * agent -> here:
 *   'S' spawn: u8 flags (1 stdin, 2 env, 4 cwd) | u32 argc | argv strings
 *       (argv[0] is the file, looked up in PATH like execvp) | [u32 envc |
 *       env strings] | [cwd string] | [stdin bytes, to the end]; strings end
 *       with NUL.
 * here -> agent:
 *   'P' started: u32 pid (also its process group: every child leads one)
 *   'F' failed: u32 errno (nothing ran)
 *   'O' / 'E': bytes the child wrote to stdout / stderr
 *   'X' exit: u32 wait status; sent once both output pipes closed, or
 *       PIPE_GRACE_MS after the exit when a background grandchild keeps them
 *       open (they are closed then, as the agent did without this helper).
 * End of stdin (the agent stopped or died) ends this process; the children
 * keep running in their own groups, as they would have without it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PIPE_GRACE_MS 200
#define READ_CHUNK 65536

extern char **environ;

struct child {
  uint32_t id;
  pid_t pid;
  int in_fd, out_fd, err_fd;
  char *input; /* stdin bytes still to write */
  size_t input_len, input_off;
  int exited, status;
  int64_t deadline_ms;
};

static struct child *children;
static size_t n_children, cap_children;
static int sig_pipe[2];
static int dev_null;
static char io_buf[READ_CHUNK];

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void put_u32(unsigned char *p, uint32_t v) {
  p[0] = v & 0xff;
  p[1] = (v >> 8) & 0xff;
  p[2] = (v >> 16) & 0xff;
  p[3] = (v >> 24) & 0xff;
}

static uint32_t get_u32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void write_all(const void *data, size_t len) {
  const char *p = data;
  while (len > 0) {
    ssize_t n = write(1, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) _exit(0); /* the agent is gone */
    p += n;
    len -= (size_t)n;
  }
}

static void send_frame(uint32_t id, char type, const void *payload, size_t len) {
  unsigned char head[9];
  put_u32(head, (uint32_t)(len + 5));
  put_u32(head + 4, id);
  head[8] = (unsigned char)type;
  write_all(head, sizeof head);
  if (len > 0) write_all(payload, len);
}

static void send_u32(uint32_t id, char type, uint32_t value) {
  unsigned char p[4];
  put_u32(p, value);
  send_frame(id, type, p, sizeof p);
}

static void close_fd(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

static void finish_if_done(size_t i) {
  struct child *c = &children[i];
  if (!c->exited || c->out_fd >= 0 || c->err_fd >= 0) return;
  send_u32(c->id, 'X', (uint32_t)c->status);
  close_fd(&c->in_fd);
  free(c->input);
  children[i] = children[--n_children];
}

static void on_sigchld(int sig) {
  (void)sig;
  int saved = errno;
  char b = 0;
  (void)!write(sig_pipe[1], &b, 1);
  errno = saved;
}

/* Reads one NUL-terminated string from [*p, end); NULL when malformed. */
static char *take_string(unsigned char **p, unsigned char *end) {
  unsigned char *nul = memchr(*p, 0, (size_t)(end - *p));
  if (nul == NULL) return NULL;
  char *s = (char *)*p;
  *p = nul + 1;
  return s;
}

static char **take_strings(unsigned char **p, unsigned char *end) {
  if (end - *p < 4) return NULL;
  uint32_t n = get_u32(*p);
  *p += 4;
  if (n > (uint32_t)(end - *p)) return NULL;
  char **list = calloc((size_t)n + 1, sizeof *list);
  if (list == NULL) return NULL;
  for (uint32_t i = 0; i < n; i++) {
    if ((list[i] = take_string(p, end)) == NULL) {
      free(list);
      return NULL;
    }
  }
  return list;
}

static void spawn_child(uint32_t id, unsigned char *p, unsigned char *end) {
  if (p >= end) {
    send_u32(id, 'F', EINVAL);
    return;
  }
  unsigned flags = *p++;
  char **argv = take_strings(&p, end);
  char **envp = NULL;
  char *cwd = NULL;
  int bad = argv == NULL || argv[0] == NULL;
  if (!bad && (flags & 2) && (envp = take_strings(&p, end)) == NULL) bad = 1;
  if (!bad && (flags & 4) && (cwd = take_string(&p, end)) == NULL) bad = 1;
  if (bad) {
    free(argv);
    free(envp);
    send_u32(id, 'F', EINVAL);
    return;
  }

  int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
  if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0 || ((flags & 1) && pipe2(in, O_CLOEXEC) < 0)) {
    int e = errno;
    close_fd(&in[0]), close_fd(&in[1]), close_fd(&out[0]), close_fd(&out[1]), close_fd(&err[0]), close_fd(&err[1]);
    free(argv);
    free(envp);
    send_u32(id, 'F', (uint32_t)e);
    return;
  }

  /* Blocked so that no handler runs in the child while it shares our memory. */
  sigset_t all, old;
  sigfillset(&all);
  sigprocmask(SIG_SETMASK, &all, &old);
  char **saved_environ = environ;
  volatile int child_errno = 0;
  pid_t pid = vfork();
  if (pid == 0) {
    for (int s = 1; s < NSIG; s++) signal(s, SIG_DFL);
    setpgid(0, 0);
    if (dup2((flags & 1) ? in[0] : dev_null, 0) < 0 || dup2(out[1], 1) < 0 || dup2(err[1], 2) < 0 ||
        (cwd != NULL && chdir(cwd) < 0)) {
      child_errno = errno;
      _exit(127);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    /* execvp searches the PATH of environ, so the child's PATH decides, as with Node's spawn. */
    if (envp != NULL) environ = envp;
    execvp(argv[0], argv);
    child_errno = errno;
    _exit(127);
  }
  int vfork_errno = errno;
  environ = saved_environ;
  sigprocmask(SIG_SETMASK, &old, NULL);
  free(argv);
  free(envp);
  close_fd(&in[0]), close_fd(&out[1]), close_fd(&err[1]);

  if (pid < 0 || child_errno != 0) {
    if (pid > 0) waitpid(pid, NULL, 0);
    close_fd(&in[1]), close_fd(&out[0]), close_fd(&err[0]);
    send_u32(id, 'F', (uint32_t)(pid < 0 ? vfork_errno : child_errno));
    return;
  }

  if (n_children == cap_children) {
    cap_children = cap_children ? cap_children * 2 : 64;
    children = realloc(children, cap_children * sizeof *children);
    if (children == NULL) _exit(70);
  }
  struct child *c = &children[n_children++];
  memset(c, 0, sizeof *c);
  c->id = id;
  c->pid = pid;
  c->in_fd = in[1];
  c->out_fd = out[0];
  c->err_fd = err[0];
  size_t input_len = (size_t)(end - p);
  if (c->in_fd >= 0) {
    fcntl(c->in_fd, F_SETFL, O_NONBLOCK);
    if (input_len == 0) {
      close_fd(&c->in_fd);
    } else if ((c->input = malloc(input_len)) == NULL) {
      _exit(70);
    } else {
      memcpy(c->input, p, input_len);
      c->input_len = input_len;
    }
  }
  send_u32(id, 'P', (uint32_t)pid);
}

static void reap(void) {
  char drain[64];
  while (read(sig_pipe[0], drain, sizeof drain) > 0) {
  }
  int status;
  pid_t pid;
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
    for (size_t i = 0; i < n_children; i++) {
      if (children[i].pid != pid || children[i].exited) continue;
      children[i].exited = 1;
      children[i].status = status;
      children[i].deadline_ms = now_ms() + PIPE_GRACE_MS;
      close_fd(&children[i].in_fd);
      finish_if_done(i);
      break;
    }
  }
}

static void relay(size_t i, int *fd, char type) {
  ssize_t n = read(*fd, io_buf, sizeof io_buf);
  if (n > 0) {
    send_frame(children[i].id, type, io_buf, (size_t)n);
  } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
    close_fd(fd);
    finish_if_done(i);
  }
}

static void feed(struct child *c) {
  ssize_t n = write(c->in_fd, c->input + c->input_off, c->input_len - c->input_off);
  if (n > 0) c->input_off += (size_t)n;
  if ((n < 0 && errno != EINTR && errno != EAGAIN) || c->input_off == c->input_len) {
    close_fd(&c->in_fd); /* EPIPE: the child does not read its input */
    free(c->input);
    c->input = NULL;
  }
}

/* Requests from the agent; returns 0 at end of input. */
static int read_requests(unsigned char **buf, size_t *len, size_t *cap) {
  if (*cap - *len < READ_CHUNK) {
    *cap = *cap * 2 + READ_CHUNK;
    if ((*buf = realloc(*buf, *cap)) == NULL) _exit(70);
  }
  ssize_t n = read(0, *buf + *len, *cap - *len);
  if (n < 0) return errno == EINTR || errno == EAGAIN;
  if (n == 0) return 0;
  *len += (size_t)n;
  size_t off = 0;
  while (*len - off >= 4) {
    uint32_t frame = get_u32(*buf + off);
    if (frame < 5) _exit(65);
    if (*len - off - 4 < frame) break;
    unsigned char *start = *buf + off + 4;
    uint32_t id = get_u32(start);
    if (start[4] == 'S') spawn_child(id, start + 5, start + frame);
    else send_u32(id, 'F', EINVAL);
    off += 4 + (size_t)frame;
  }
  memmove(*buf, *buf + off, *len - off);
  *len -= off;
  return 1;
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) < 0) return 71;
  if ((dev_null = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) return 71;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigchld;
  sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
  sigaction(SIGCHLD, &sa, NULL);

  unsigned char *buf = NULL;
  size_t len = 0, cap = 0;
  struct pollfd *fds = NULL;
  size_t fds_cap = 0;
  for (;;) {
    size_t want = 2 + n_children * 3;
    if (want > fds_cap) {
      fds_cap = want * 2;
      if ((fds = realloc(fds, fds_cap * sizeof *fds)) == NULL) _exit(70);
    }
    fds[0] = (struct pollfd){.fd = 0, .events = POLLIN};
    fds[1] = (struct pollfd){.fd = sig_pipe[0], .events = POLLIN};
    int timeout = -1;
    int64_t now = now_ms();
    for (size_t i = 0; i < n_children; i++) {
      struct child *c = &children[i];
      fds[2 + i * 3] = (struct pollfd){.fd = c->out_fd, .events = POLLIN};
      fds[3 + i * 3] = (struct pollfd){.fd = c->err_fd, .events = POLLIN};
      fds[4 + i * 3] = (struct pollfd){.fd = c->input ? c->in_fd : -1, .events = POLLOUT};
      if (c->exited) {
        int64_t left = c->deadline_ms - now;
        int wait = left < 0 ? 0 : (int)left;
        if (timeout < 0 || wait < timeout) timeout = wait;
      }
    }
    size_t polled = n_children;
    if (poll(fds, 2 + polled * 3, timeout) < 0 && errno != EINTR) return 71;

    /* From the last child down: finishing one moves the last into its slot. */
    for (size_t k = polled; k-- > 0;) {
      if (k >= n_children) continue;
      struct child *c = &children[k];
      pid_t pid = c->pid;
      if (c->input && fds[4 + k * 3].revents) feed(c);
      if (c->out_fd >= 0 && fds[2 + k * 3].revents) relay(k, &c->out_fd, 'O');
      /* relay() may have finished this child and moved another (already handled) into its slot. */
      if (k < n_children && children[k].pid == pid && c->err_fd >= 0 && fds[3 + k * 3].revents)
        relay(k, &c->err_fd, 'E');
    }
    now = now_ms();
    for (size_t k = n_children; k-- > 0;) {
      struct child *c = &children[k];
      if (!c->exited || c->deadline_ms > now) continue;
      close_fd(&c->out_fd);
      close_fd(&c->err_fd);
      finish_if_done(k);
    }
    if (fds[1].revents) reap();
    if (fds[0].revents && !read_requests(&buf, &len, &cap)) return 0;
  }
}
