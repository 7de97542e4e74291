/*
 * A power cut for a process that cannot be given one: preloaded (LD_PRELOAD) into a member, it
 * keeps, for every file under CONCORD_POWER_CUT_TRACK, what each write since the file's last
 * fsync overwrote — an undo log in CONCORD_POWER_CUT_UNDO. After kill -9, testkit/power_cut.ts
 * plays the undo logs backwards and truncates each file to its size at its last fsync: the files
 * are then what a disk that lost its cache would hold. Without undo logs the kernel keeps every
 * write a killed process made, so kill -9 alone never shows a missing fsync.
 *
 * Writes go through to the file at once (so reads need nothing), after their undo record. An
 * fsync that returns empties the file's undo log: what it covered is durable. A nonzero
 * CONCORD_POWER_CUT_UNDO/fsync-delay-ms makes every fsync of a tracked file that much slower —
 * a slow disk.
 *
 * Owns: the undo logs and the delay. Never: changes what a write writes or what a call answers;
 * directory entries (creates, renames, unlinks) count as durable at once; SQLite's -shm files
 * (shared memory, rebuilt from the WAL), writev/pwritev (which SQLite does not use) and whatever a
 * runtime writes with raw system calls rather than libc (Bun's node:fs: the snapshot files it
 * copies) are not tracked.
 *
 * Undo log (<device>-<inode>-<birth>.undo): a header — "CPUNDO2\n", the file's device, inode and birth
 * time (ns; 0 where the filesystem keeps none), its size at its last fsync (8 bytes each), the
 * path's length (4) and the path — then records: 'W', offset (8), length (8), the bytes that were
 * there. Numbers little-endian. A record cut short by the kill was never followed by its write. A
 * process that finds a log an earlier one left goes on with it — those writes are still unsynced
 * — after cutting a torn record off; a log of another file (an inode reused) is started afresh.
 * A file unlinked through libc takes its log with it.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define FDS_MAX 65536
#define FILES_MAX 4096
#define MAGIC "CPUNDO2\n"
#define HEADER_BYTES (8 + 8 + 8 + 8 + 8 + 4)
#define RECORD_HEADER_BYTES 17

typedef struct {
  char path[PATH_MAX];
  dev_t device;
  ino_t inode;
  uint64_t birth_ns;
  /** Unlinked: its writes no longer matter. */
  int gone;
  int undo_fd;  /* the undo log */
  int read_fd;  /* the file, opened for reading what a write overwrites */
  off_t undo_bytes;
  pthread_mutex_t lock;
} tracked_file;

static tracked_file files[FILES_MAX];
static int files_used;
static tracked_file *by_fd[FDS_MAX];
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static char track_prefix[PATH_MAX];
static size_t track_prefix_len;
static char undo_dir[PATH_MAX - 64];
static int enabled;

static int (*real_open)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_write)(int, const void *, size_t);
static int (*real_ftruncate)(int, off_t);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static int (*real_close)(int);
static int (*real_unlink)(const char *);
static int (*real_unlinkat)(int, const char *, int);

static pthread_once_t started = PTHREAD_ONCE_INIT;

static void start(void) {
  real_open = dlsym(RTLD_NEXT, "open64");
  real_openat = dlsym(RTLD_NEXT, "openat64");
  real_pwrite = dlsym(RTLD_NEXT, "pwrite64");
  real_write = dlsym(RTLD_NEXT, "write");
  real_ftruncate = dlsym(RTLD_NEXT, "ftruncate64");
  real_fsync = dlsym(RTLD_NEXT, "fsync");
  real_fdatasync = dlsym(RTLD_NEXT, "fdatasync");
  real_close = dlsym(RTLD_NEXT, "close");
  real_unlink = dlsym(RTLD_NEXT, "unlink");
  real_unlinkat = dlsym(RTLD_NEXT, "unlinkat");
  const char *prefix = getenv("CONCORD_POWER_CUT_TRACK");
  const char *undo = getenv("CONCORD_POWER_CUT_UNDO");
  if (!prefix || !undo || !*prefix || strlen(prefix) >= PATH_MAX || strlen(undo) >= PATH_MAX - 64) return;
  strcpy(track_prefix, prefix);
  track_prefix_len = strlen(prefix);
  strcpy(undo_dir, undo);
  enabled = 1;
}

/* Every entry point starts the library first: another library's constructor may open files before ours runs. */
static void ready(void) {
  pthread_once(&started, start);
}

/* Fails loudly: a power cut that silently stops recording would make a test pass that should not. */
static void broken(const char *what) {
  fprintf(stderr, "unsynced_writes: %s: %s\n", what, strerror(errno));
  abort();
}

static void put_u64(unsigned char *at, uint64_t v) {
  for (int i = 0; i < 8; i++) at[i] = (unsigned char)(v >> (8 * i));
}

static void write_all(int fd, const void *buf, size_t n, off_t at) {
  const unsigned char *p = buf;
  while (n > 0) {
    ssize_t w = real_pwrite(fd, p, n, at);
    if (w < 0) {
      if (errno == EINTR) continue;
      broken("writing an undo log");
    }
    p += w;
    n -= (size_t)w;
    at += w;
  }
}

static uint64_t get_u64(const unsigned char *at) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | at[i];
  return v;
}

static off_t size_of(int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0) broken("fstat");
  return st.st_size;
}

/* When the file was made, ns (0 where the filesystem does not say): tells a reused inode apart. */
static uint64_t birth_of(int fd) {
  struct statx sx;
  if (statx(fd, "", AT_EMPTY_PATH, STATX_BTIME, &sx) != 0 || !(sx.stx_mask & STATX_BTIME)) return 0;
  return (uint64_t)sx.stx_btime.tv_sec * 1000000000u + sx.stx_btime.tv_nsec;
}

static void write_header(tracked_file *t, off_t synced_size) {
  size_t path_len = strlen(t->path);
  unsigned char header[HEADER_BYTES];
  memcpy(header, MAGIC, 8);
  put_u64(header + 8, (uint64_t)t->device);
  put_u64(header + 16, (uint64_t)t->inode);
  put_u64(header + 24, t->birth_ns);
  put_u64(header + 32, (uint64_t)synced_size);
  for (int i = 0; i < 4; i++) header[40 + i] = (unsigned char)(path_len >> (8 * i));
  write_all(t->undo_fd, header, sizeof header, 0);
  write_all(t->undo_fd, t->path, path_len, sizeof header);
}

/* Starts the undo log afresh: nothing written since `synced_size` was reached needs undoing. */
static void restart_undo(tracked_file *t, off_t synced_size) {
  if (real_ftruncate(t->undo_fd, 0) != 0) broken("emptying an undo log");
  write_header(t, synced_size);
  t->undo_bytes = (off_t)(HEADER_BYTES + strlen(t->path));
}

/* The whole undo log, read into memory (the caller frees it); its length in `*n`. */
static unsigned char *read_undo(tracked_file *t, size_t *n) {
  *n = (size_t)size_of(t->undo_fd);
  unsigned char *log = malloc(*n + 1);
  if (!log) broken("malloc");
  if (*n > 0 && pread(t->undo_fd, log, *n, 0) != (ssize_t)*n) broken("reading an undo log");
  return log;
}

/*
 * Takes up the log an earlier process of this member left for this file, if it is this file's: its
 * records are writes no fsync has covered yet. A torn last record is cut off; a log of another
 * file (an inode reused) or an unreadable one is started afresh.
 */
static void take_up_undo(tracked_file *t, off_t size) {
  size_t n;
  unsigned char *log = read_undo(t, &n);
  size_t path_len = n >= HEADER_BYTES ? (size_t)log[40] | (size_t)log[41] << 8 | (size_t)log[42] << 16 | (size_t)log[43] << 24 : 0;
  int ours = n >= HEADER_BYTES && memcmp(log, MAGIC, 8) == 0 && get_u64(log + 8) == (uint64_t)t->device &&
    get_u64(log + 16) == (uint64_t)t->inode && get_u64(log + 24) == t->birth_ns && HEADER_BYTES + path_len <= n &&
    path_len == strlen(t->path) && memcmp(log + HEADER_BYTES, t->path, path_len) == 0;
  if (!ours) {
    free(log);
    return restart_undo(t, size);
  }
  size_t at = HEADER_BYTES + path_len;
  while (at + RECORD_HEADER_BYTES <= n && log[at] == 'W' && at + RECORD_HEADER_BYTES + get_u64(log + at + 9) <= n) {
    at += RECORD_HEADER_BYTES + get_u64(log + at + 9);
  }
  free(log);
  if (real_ftruncate(t->undo_fd, (off_t)at) != 0) broken("cutting a torn undo record");
  t->undo_bytes = (off_t)at;
}

/* The file was renamed (a rename that bypassed libc): the log names it anew, its records kept. */
static void renamed(tracked_file *t, const char *path) {
  size_t n;
  unsigned char *log = read_undo(t, &n);
  size_t old_header = HEADER_BYTES + strlen(t->path);
  strcpy(t->path, path);
  uint64_t synced = n >= HEADER_BYTES ? get_u64(log + 32) : 0;
  if (real_ftruncate(t->undo_fd, 0) != 0) broken("rewriting an undo log");
  write_header(t, (off_t)synced);
  size_t header = HEADER_BYTES + strlen(t->path);
  if (n > old_header) write_all(t->undo_fd, log + old_header, n - old_header, (off_t)header);
  t->undo_bytes = (off_t)(header + (n > old_header ? n - old_header : 0));
  free(log);
}

/* Records what [at, at + n) holds now, before a write or a truncation changes it. */
static void save_overwritten(tracked_file *t, off_t at, size_t n) {
  if (n == 0) return;
  unsigned char *before = malloc(n + 17);
  if (!before) broken("malloc");
  ssize_t got = pread(t->read_fd, before + 17, n, at);
  if (got < 0) broken("reading what a write overwrites");
  if (got > 0 && !t->gone) {
    before[0] = 'W';
    put_u64(before + 1, (uint64_t)at);
    put_u64(before + 9, (uint64_t)got);
    write_all(t->undo_fd, before, 17 + (size_t)got, t->undo_bytes);
    t->undo_bytes += 17 + got;
  }
  free(before);
}

static int is_tracked_path(const char *path) {
  size_t n = strlen(path);
  return enabled && strncmp(path, track_prefix, track_prefix_len) == 0 && !(n >= 4 && strcmp(path + n - 4, "-shm") == 0);
}

/* Where a file's undo log is: named by the file's identity, which outlives renames. */
static void undo_name(char *out, const tracked_file *t) {
  snprintf(out, PATH_MAX, "%s/%lu-%lu-%llu.undo", undo_dir, (unsigned long)t->device, (unsigned long)t->inode, (unsigned long long)t->birth_ns);
}

/* Starts tracking a file just opened as `fd`, if it lies under the tracked prefix. */
static void track(int fd, int dirfd, const char *path) {
  if (!enabled || fd < 0 || fd >= FDS_MAX) return;
  char full[PATH_MAX];
  if (path[0] == '/') {
    if (strlen(path) >= PATH_MAX) return;
    strcpy(full, path);
  } else {
    if (dirfd != AT_FDCWD || !getcwd(full, sizeof full) || strlen(full) + 1 + strlen(path) >= PATH_MAX) return;
    strcat(full, "/");
    strcat(full, path);
  }
  if (!is_tracked_path(full)) return;
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return;
  uint64_t birth = birth_of(fd);
  pthread_mutex_lock(&table_lock);
  tracked_file *t = NULL;
  for (int i = 0; i < files_used; i++) {
    if (!files[i].gone && files[i].device == st.st_dev && files[i].inode == st.st_ino && files[i].birth_ns == birth) t = &files[i];
  }
  if (t && strcmp(t->path, full) != 0) {
    pthread_mutex_lock(&t->lock);
    renamed(t, full);
    pthread_mutex_unlock(&t->lock);
  }
  if (!t) {
    if (files_used == FILES_MAX) broken("too many tracked files");
    t = &files[files_used++];
    strcpy(t->path, full);
    t->device = st.st_dev;
    t->inode = st.st_ino;
    t->birth_ns = birth;
    pthread_mutex_init(&t->lock, NULL);
    char undo_path[PATH_MAX];
    undo_name(undo_path, t);
    t->undo_fd = real_open(undo_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    t->read_fd = real_open(full, O_RDONLY | O_CLOEXEC);
    if (t->undo_fd < 0 || t->read_fd < 0) broken("opening an undo log");
    take_up_undo(t, st.st_size);
  }
  __atomic_store_n(&by_fd[fd], t, __ATOMIC_RELEASE);
  pthread_mutex_unlock(&table_lock);
}

static tracked_file *tracked(int fd) {
  ready();
  return enabled && fd >= 0 && fd < FDS_MAX ? __atomic_load_n(&by_fd[fd], __ATOMIC_ACQUIRE) : NULL;
}

static int open_mode_needed(int flags) {
  return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE;
}

/* An open's third argument, the mode, which it has only when it may create the file. */
#define MODE_ARGUMENT(mode, flags) \
  do { \
    if (open_mode_needed(flags)) { \
      va_list ap; \
      va_start(ap, flags); \
      (mode) = va_arg(ap, mode_t); \
      va_end(ap); \
    } \
  } while (0)

/* An O_TRUNC open of a tracked file truncates through ftruncate, so what it drops is recorded. */
static int opened(int fd, int dirfd, const char *path, int flags) {
  track(fd, dirfd, path);
  if (fd >= 0 && (flags & O_TRUNC)) {
    if (tracked(fd)) ftruncate64(fd, 0);
    else real_ftruncate(fd, 0);
  }
  return fd;
}

int open64(const char *path, int flags, ...) {
  ready();
  mode_t mode = 0;
  MODE_ARGUMENT(mode, flags);
  int trunc = enabled && (flags & O_TRUNC) && is_tracked_path(path);
  return opened(real_open(path, trunc ? flags & ~O_TRUNC : flags, mode), AT_FDCWD, path, trunc ? flags : 0);
}

int open(const char *path, int flags, ...) __attribute__((alias("open64")));

int openat64(int dirfd, const char *path, int flags, ...) {
  ready();
  mode_t mode = 0;
  MODE_ARGUMENT(mode, flags);
  int trunc = enabled && (flags & O_TRUNC) && path[0] == '/' && is_tracked_path(path);
  return opened(real_openat(dirfd, path, trunc ? flags & ~O_TRUNC : flags, mode), dirfd, path, trunc ? flags : 0);
}

int openat(int dirfd, const char *path, int flags, ...) __attribute__((alias("openat64")));

ssize_t pwrite64(int fd, const void *buf, size_t n, off_t at) {
  tracked_file *t = tracked(fd);
  if (!t) return real_pwrite(fd, buf, n, at);
  pthread_mutex_lock(&t->lock);
  save_overwritten(t, at, n);
  ssize_t written = real_pwrite(fd, buf, n, at);
  pthread_mutex_unlock(&t->lock);
  return written;
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t at) __attribute__((alias("pwrite64")));

ssize_t write(int fd, const void *buf, size_t n) {
  tracked_file *t = tracked(fd);
  if (!t) return real_write(fd, buf, n);
  pthread_mutex_lock(&t->lock);
  off_t at = (fcntl(fd, F_GETFL) & O_APPEND) ? size_of(fd) : lseek(fd, 0, SEEK_CUR);
  save_overwritten(t, at, n);
  ssize_t written = real_write(fd, buf, n);
  pthread_mutex_unlock(&t->lock);
  return written;
}

int ftruncate64(int fd, off_t length) {
  tracked_file *t = tracked(fd);
  if (!t) return real_ftruncate(fd, length);
  pthread_mutex_lock(&t->lock);
  off_t size = size_of(fd);
  if (length < size) save_overwritten(t, length, (size_t)(size - length));
  int r = real_ftruncate(fd, length);
  pthread_mutex_unlock(&t->lock);
  return r;
}

int ftruncate(int fd, off_t length) __attribute__((alias("ftruncate64")));

/* The slow disk: CONCORD_POWER_CUT_UNDO/fsync-delay-ms, read at each fsync of a tracked file. */
static void disk_delay(void) {
  char path[PATH_MAX], text[32];
  snprintf(path, sizeof path, "%s/fsync-delay-ms", undo_dir);
  int fd = real_open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  ssize_t n = read(fd, text, sizeof text - 1);
  real_close(fd);
  if (n <= 0) return;
  text[n] = 0;
  long ms = strtol(text, NULL, 10);
  if (ms <= 0) return;
  struct timespec wait = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&wait, &wait) != 0 && errno == EINTR) {}
}

static int synced(int fd, int (*sync)(int)) {
  tracked_file *t = tracked(fd);
  if (!t || t->gone) return sync(fd);
  disk_delay();
  pthread_mutex_lock(&t->lock);
  int r = sync(fd);
  if (r == 0) restart_undo(t, size_of(fd));
  pthread_mutex_unlock(&t->lock);
  return r;
}

int fsync(int fd) { return synced(fd, real_fsync); }

int fdatasync(int fd) { return synced(fd, real_fdatasync); }

/* An unlinked file's log goes with it (the file is gone, whatever it held). */
static void forget_path(int dirfd, const char *path) {
  if (!enabled || (path[0] != '/' && dirfd != AT_FDCWD)) return;
  char full[PATH_MAX];
  if (path[0] == '/') snprintf(full, sizeof full, "%s", path);
  else if (!getcwd(full, sizeof full) || strlen(full) + 1 + strlen(path) >= PATH_MAX) return;
  else {
    strcat(full, "/");
    strcat(full, path);
  }
  pthread_mutex_lock(&table_lock);
  for (int i = 0; i < files_used; i++) {
    tracked_file *t = &files[i];
    if (t->gone || strcmp(t->path, full) != 0) continue;
    pthread_mutex_lock(&t->lock);
    t->gone = 1;
    char undo_path[PATH_MAX];
    undo_name(undo_path, t);
    real_unlink(undo_path);
    pthread_mutex_unlock(&t->lock);
  }
  pthread_mutex_unlock(&table_lock);
}

int unlink(const char *path) {
  ready();
  int r = real_unlink(path);
  if (r == 0) forget_path(AT_FDCWD, path);
  return r;
}

int unlinkat(int dirfd, const char *path, int flags) {
  ready();
  int r = real_unlinkat(dirfd, path, flags);
  if (r == 0 && !(flags & AT_REMOVEDIR)) forget_path(dirfd, path);
  return r;
}

int close(int fd) {
  ready();
  if (enabled && fd >= 0 && fd < FDS_MAX) __atomic_store_n(&by_fd[fd], NULL, __ATOMIC_RELEASE);
  return real_close(fd);
}
