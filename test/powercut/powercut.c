/*
 * powercut.so: an LD_PRELOAD layer that models a disk which keeps only what was synced.
 *
 * Job: for every regular file under $PC_DIR, keep in $PC_SHADOW/<name> the file's content as of its
 * last fsync/fdatasync (on any fd of that file: a sync covers every write made before it, whichever
 * fd wrote). The test runner SIGKILLs the process ("the power goes") and replaces $PC_DIR by the
 * shadow copies: what was written but not synced is gone, as after a power cut.
 *
 * How: open/openat (and their 64/fortify variants) map each fd to a tracked file; write, pwrite,
 * writev, pwritev (and 64 variants) mark the 4 KiB blocks they touch dirty; ftruncate and O_TRUNC
 * record the smallest size since the last sync; at a sync the dirty blocks are copied into the shadow
 * file and its size set; unlink removes the shadow file. A file first seen with no shadow copy is
 * copied whole at its first sync. A sync of a tracked file does not reach the real disk (the shadow
 * is the disk here). Syncs of other fds (directories, files elsewhere) go to the kernel unchanged.
 *
 * Invariant: shadow(name) == content of name at the end of its last completed sync, provided every
 * write to the file went through the calls above. Not modelled: writes through mmap (SQLite's -shm,
 * which need not survive and which the runner deletes), dup'd fds, rename, directory-entry
 * durability (a file created and synced exists after the cut).
 *
 * PC_MODE=nosync: syncs of tracked files do nothing (a disk that loses everything): the test's
 * check that a broken layer is caught.
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
#include <unistd.h>

#define BLOCK 4096
#define MAX_FDS 65536
#define MAX_FILES 256

struct tracked {
  char name[PATH_MAX];        /* path relative to PC_DIR */
  unsigned char *dirty;       /* one byte per block */
  size_t dirty_len;           /* blocks allocated */
  off_t min_size;             /* smallest size since last sync, -1 when not truncated */
  int full;                   /* copy the whole file at the next sync */
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct tracked files[MAX_FILES];
static int nfiles;
static short fd_file[MAX_FDS]; /* index + 1 into files, 0 = not tracked */
static char dir[PATH_MAX], shadow[PATH_MAX];
static size_t dir_len;
static int enabled = -1, nosync;

static int (*r_open)(const char *, int, ...);
static int (*r_open64)(const char *, int, ...);
static int (*r_openat)(int, const char *, int, ...);
static int (*r_openat64)(int, const char *, int, ...);
static int (*r_close)(int);
static ssize_t (*r_write)(int, const void *, size_t);
static ssize_t (*r_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*r_pwrite64)(int, const void *, size_t, off_t);
static ssize_t (*r_writev)(int, const struct iovec *, int);
static ssize_t (*r_pwritev)(int, const struct iovec *, int, off_t);
static ssize_t (*r_pwritev64)(int, const struct iovec *, int, off_t);
static int (*r_ftruncate)(int, off_t);
static int (*r_ftruncate64)(int, off_t);
static int (*r_fsync)(int);
static int (*r_fdatasync)(int);
static int (*r_unlink)(const char *);
static int (*r_unlinkat)(int, const char *, int);

static void init(void) {
  if (enabled >= 0) return;
  r_open = dlsym(RTLD_NEXT, "open");
  r_open64 = dlsym(RTLD_NEXT, "open64");
  r_openat = dlsym(RTLD_NEXT, "openat");
  r_openat64 = dlsym(RTLD_NEXT, "openat64");
  r_close = dlsym(RTLD_NEXT, "close");
  r_write = dlsym(RTLD_NEXT, "write");
  r_pwrite = dlsym(RTLD_NEXT, "pwrite");
  r_pwrite64 = dlsym(RTLD_NEXT, "pwrite64");
  r_writev = dlsym(RTLD_NEXT, "writev");
  r_pwritev = dlsym(RTLD_NEXT, "pwritev");
  r_pwritev64 = dlsym(RTLD_NEXT, "pwritev64");
  r_ftruncate = dlsym(RTLD_NEXT, "ftruncate");
  r_ftruncate64 = dlsym(RTLD_NEXT, "ftruncate64");
  r_fsync = dlsym(RTLD_NEXT, "fsync");
  r_fdatasync = dlsym(RTLD_NEXT, "fdatasync");
  r_unlink = dlsym(RTLD_NEXT, "unlink");
  r_unlinkat = dlsym(RTLD_NEXT, "unlinkat");
  const char *d = getenv("PC_DIR"), *s = getenv("PC_SHADOW"), *m = getenv("PC_MODE");
  if (d == NULL || s == NULL || realpath(d, dir) == NULL || strlen(s) >= sizeof shadow) {
    enabled = 0;
    return;
  }
  strcpy(shadow, s);
  dir_len = strlen(dir);
  nosync = m != NULL && strcmp(m, "nosync") == 0;
  enabled = 1;
}

static void die(const char *what, const char *name) {
  fprintf(stderr, "powercut.so: %s %s: %s\n", what, name, strerror(errno));
  abort();
}

/* Name relative to PC_DIR of a resolved path, or NULL when outside it or not modelled. */
static const char *relative(const char *path) {
  if (strncmp(path, dir, dir_len) != 0 || path[dir_len] != '/') return NULL;
  const char *name = path + dir_len + 1;
  size_t n = strlen(name);
  if (strchr(name, '/') != NULL) return NULL;
  if (n >= 4 && strcmp(name + n - 4, "-shm") == 0) return NULL;
  return name;
}

static void shadow_path(char *out, const char *name) { snprintf(out, PATH_MAX, "%s/%s", shadow, name); }

static int find_file(const char *name, int create) {
  for (int i = 0; i < nfiles; i++)
    if (strcmp(files[i].name, name) == 0) return i;
  if (!create) return -1;
  if (nfiles == MAX_FILES) { errno = EMFILE; die("too many files", name); }
  struct tracked *t = &files[nfiles];
  memset(t, 0, sizeof *t);
  strcpy(t->name, name);
  t->min_size = -1;
  char sp[PATH_MAX];
  struct stat st;
  shadow_path(sp, name);
  t->full = stat(sp, &st) != 0;
  return nfiles++;
}

/* After a successful open: track fd when it names a regular file under PC_DIR. */
static int after_open(int fd, int flags) {
  if (fd < 0 || fd >= MAX_FDS || enabled != 1) return fd;
  char link[64], path[PATH_MAX];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, path, sizeof path - 1);
  if (n <= 0) return fd;
  path[n] = 0;
  const char *name = relative(path);
  struct stat st;
  if (name == NULL || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return fd;
  pthread_mutex_lock(&mu);
  int i = find_file(name, 1);
  fd_file[fd] = (short)(i + 1);
  if (flags & O_TRUNC) files[i].min_size = 0;
  pthread_mutex_unlock(&mu);
  return fd;
}

static void mark(int fd, off_t off, size_t len) {
  if (fd < 0 || fd >= MAX_FDS || fd_file[fd] == 0 || len == 0) return;
  pthread_mutex_lock(&mu);
  struct tracked *t = &files[fd_file[fd] - 1];
  size_t last = (size_t)((off + (off_t)len - 1) / BLOCK);
  if (last >= t->dirty_len) {
    size_t n = t->dirty_len ? t->dirty_len : 64;
    while (n <= last) n *= 2;
    unsigned char *d = realloc(t->dirty, n);
    if (d == NULL) die("out of memory for", t->name);
    memset(d + t->dirty_len, 0, n - t->dirty_len);
    t->dirty = d;
    t->dirty_len = n;
  }
  for (size_t b = (size_t)(off / BLOCK); b <= last; b++) t->dirty[b] = 1;
  pthread_mutex_unlock(&mu);
}

/* Copies what changed since the last sync of t into its shadow file. Called with mu held. */
static void snapshot(struct tracked *t) {
  char src[PATH_MAX], dst[PATH_MAX];
  snprintf(src, sizeof src, "%s/%s", dir, t->name);
  shadow_path(dst, t->name);
  int in = r_open(src, O_RDONLY | O_CLOEXEC);
  if (in < 0) die("cannot read", src);
  int out = r_open(dst, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (out < 0) die("cannot write", dst);
  struct stat st;
  if (fstat(in, &st) != 0) die("cannot stat", src);
  if (t->full) {
    if (r_ftruncate(out, 0) != 0) die("cannot truncate", dst);
  } else if (t->min_size >= 0) {
    struct stat so;
    if (fstat(out, &so) != 0) die("cannot stat", dst);
    if (t->min_size < so.st_size && r_ftruncate(out, t->min_size) != 0) die("cannot truncate", dst);
  }
  static char buf[BLOCK];
  size_t blocks = (size_t)((st.st_size + BLOCK - 1) / BLOCK);
  for (size_t b = 0; b < blocks; b++) {
    if (!t->full && (b >= t->dirty_len || !t->dirty[b])) continue;
    ssize_t n = pread(in, buf, BLOCK, (off_t)b * BLOCK);
    if (n < 0) die("cannot read", src);
    if (n > 0 && r_pwrite(out, buf, (size_t)n, (off_t)b * BLOCK) != n) die("cannot write", dst);
  }
  if (r_ftruncate(out, st.st_size) != 0) die("cannot size", dst);
  r_close(in);
  r_close(out);
  if (t->dirty) memset(t->dirty, 0, t->dirty_len);
  t->min_size = -1;
  t->full = 0;
}

static int do_sync(int fd, int (*real)(int)) {
  init();
  if (fd < 0 || fd >= MAX_FDS || fd_file[fd] == 0) return real(fd);
  if (nosync) return 0;
  pthread_mutex_lock(&mu);
  snapshot(&files[fd_file[fd] - 1]);
  pthread_mutex_unlock(&mu);
  return 0;
}

int fsync(int fd) { init(); return do_sync(fd, r_fsync); }
int fdatasync(int fd) { init(); return do_sync(fd, r_fdatasync); }

#define OPEN_MODE(flags) \
  mode_t mode = 0; \
  if ((flags) & (O_CREAT | __O_TMPFILE)) { va_list ap; va_start(ap, flags); mode = va_arg(ap, mode_t); va_end(ap); }

int open(const char *p, int flags, ...) { init(); OPEN_MODE(flags); return after_open(r_open(p, flags, mode), flags); }
int open64(const char *p, int flags, ...) { init(); OPEN_MODE(flags); return after_open(r_open64(p, flags, mode), flags); }
int openat(int d, const char *p, int flags, ...) { init(); OPEN_MODE(flags); return after_open(r_openat(d, p, flags, mode), flags); }
int openat64(int d, const char *p, int flags, ...) { init(); OPEN_MODE(flags); return after_open(r_openat64(d, p, flags, mode), flags); }
int __open_2(const char *p, int flags) { init(); return after_open(r_open(p, flags), flags); }
int __open64_2(const char *p, int flags) { init(); return after_open(r_open64(p, flags), flags); }
int __openat_2(int d, const char *p, int flags) { init(); return after_open(r_openat(d, p, flags), flags); }
int __openat64_2(int d, const char *p, int flags) { init(); return after_open(r_openat64(d, p, flags), flags); }

int close(int fd) {
  init();
  if (fd >= 0 && fd < MAX_FDS && fd_file[fd] != 0) {
    pthread_mutex_lock(&mu);
    fd_file[fd] = 0;
    pthread_mutex_unlock(&mu);
  }
  return r_close(fd);
}

ssize_t write(int fd, const void *b, size_t n) {
  init();
  ssize_t r = r_write(fd, b, n);
  if (r > 0 && fd >= 0 && fd < MAX_FDS && fd_file[fd] != 0) mark(fd, lseek(fd, 0, SEEK_CUR) - r, (size_t)r);
  return r;
}
ssize_t pwrite(int fd, const void *b, size_t n, off_t o) { init(); ssize_t r = r_pwrite(fd, b, n, o); if (r > 0) mark(fd, o, (size_t)r); return r; }
ssize_t pwrite64(int fd, const void *b, size_t n, off_t o) { init(); ssize_t r = r_pwrite64(fd, b, n, o); if (r > 0) mark(fd, o, (size_t)r); return r; }
ssize_t writev(int fd, const struct iovec *v, int c) {
  init();
  ssize_t r = r_writev(fd, v, c);
  if (r > 0 && fd >= 0 && fd < MAX_FDS && fd_file[fd] != 0) mark(fd, lseek(fd, 0, SEEK_CUR) - r, (size_t)r);
  return r;
}
ssize_t pwritev(int fd, const struct iovec *v, int c, off_t o) { init(); ssize_t r = r_pwritev(fd, v, c, o); if (r > 0) mark(fd, o, (size_t)r); return r; }
ssize_t pwritev64(int fd, const struct iovec *v, int c, off_t o) { init(); ssize_t r = r_pwritev64(fd, v, c, o); if (r > 0) mark(fd, o, (size_t)r); return r; }

static void truncated(int fd, off_t len) {
  if (fd < 0 || fd >= MAX_FDS || fd_file[fd] == 0) return;
  pthread_mutex_lock(&mu);
  struct tracked *t = &files[fd_file[fd] - 1];
  if (t->min_size < 0 || len < t->min_size) t->min_size = len;
  pthread_mutex_unlock(&mu);
}
int ftruncate(int fd, off_t len) { init(); int r = r_ftruncate(fd, len); if (r == 0) truncated(fd, len); return r; }
int ftruncate64(int fd, off_t len) { init(); int r = r_ftruncate64(fd, len); if (r == 0) truncated(fd, len); return r; }

/* Deleting a file is taken as durable at once: its shadow goes, and a new file of that name starts empty. */
static void removed(const char *path) {
  char full[PATH_MAX];
  const char *name = NULL;
  if (path[0] == '/') {
    if (strlen(path) < sizeof full) { strcpy(full, path); name = relative(full); }
  } else {
    char cwd[PATH_MAX];
    if (getcwd(cwd, sizeof cwd) != NULL && snprintf(full, sizeof full, "%s/%s", cwd, path) < (int)sizeof full) name = relative(full);
  }
  if (name == NULL) return;
  pthread_mutex_lock(&mu);
  char sp[PATH_MAX];
  shadow_path(sp, name);
  r_unlink(sp);
  int i = find_file(name, 0);
  if (i >= 0) {
    if (files[i].dirty) memset(files[i].dirty, 0, files[i].dirty_len);
    files[i].min_size = -1;
    files[i].full = 1;
  }
  pthread_mutex_unlock(&mu);
}
int unlink(const char *p) {
  init();
  int r = r_unlink(p);
  if (r == 0 && enabled == 1) removed(p);
  return r;
}
int unlinkat(int d, const char *p, int flags) {
  init();
  int r = r_unlinkat(d, p, flags);
  if (r == 0 && enabled == 1 && !(flags & AT_REMOVEDIR) && (p[0] == '/' || d == AT_FDCWD)) removed(p);
  return r;
}
