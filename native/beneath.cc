// FlyMe native addon: openBeneath and readDirFd (see the header comment of peercred.cc).
//
// openBeneath(root, relative[, walk]) opens the directory `root` (as given: symlinks in the configured root
// are followed) and then the directory `relative` beneath it, refusing every symbolic link on the way, so a
// caller who can write inside the root cannot swap a component for a link between a check and the open:
// - Linux >= 5.6: openat2(rootfd, relative, O_DIRECTORY | O_RDONLY | O_CLOEXEC,
//   RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS), one kernel lookup;
// - otherwise (ENOSYS, a seccomp filter's EPERM, macOS, or walk = true): one openat per component with
//   O_NOFOLLOW | O_DIRECTORY, each relative to the descriptor of the previous one.
// `relative` must be "" (the root itself) or plain names joined by single slashes: a leading slash, an empty
// component, "." are EINVAL and ".." is EXDEV (an escape), before any lookup. A symlink component is ELOOP
// (openat2 or the walk), a non-directory ENOTDIR, a missing one ENOENT.
//
// readDirFd(fd, max) reads the directory behind `fd` through a dup taken at the call (so `fd` stays the
// caller's, who may close it as soon as the call returns), on the libuv thread pool: at most `max` entries ("." and ".." skipped), each fstatat'ed relative to the
// directory with AT_SYMLINK_NOFOLLOW (an entry that vanished meanwhile is skipped); `truncated` is true
// when another entry followed. Never reads more than max + 1 names.

#include "beneath.h"

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#if defined(__linux__)
#include <sys/syscall.h>
#endif

#include "errno_error.h"

namespace flyme {
namespace {

#if defined(__linux__)
#ifndef SYS_openat2
#define SYS_openat2 437  // same number on every architecture (unified syscall table), Linux >= 5.6.
#endif
// struct open_how of <linux/openat2.h>, declared here so older headers build (the kernel checks the size).
struct OpenHow {
  uint64_t flags;
  uint64_t mode;
  uint64_t resolve;
};
constexpr uint64_t kResolveNoMagiclinks = 0x02;
constexpr uint64_t kResolveNoSymlinks = 0x04;
constexpr uint64_t kResolveBeneath = 0x08;
std::atomic<bool> g_openat2_missing{false};  // set once the kernel answered ENOSYS
#endif

constexpr int kDirFlags = O_DIRECTORY | O_RDONLY | O_CLOEXEC;

// Checks `relative` is "" or name("/"name)* without "." / "..". Returns 0 or the errno to report.
int CheckRelative(const std::string& rel) {
  if (rel.empty()) return 0;
  size_t start = 0;
  for (;;) {
    size_t slash = rel.find('/', start);
    size_t len = (slash == std::string::npos ? rel.size() : slash) - start;
    if (len == 0) return EINVAL;  // leading slash, "a//b" or a trailing slash
    if (len == 1 && rel[start] == '.') return EINVAL;
    if (len == 2 && rel[start] == '.' && rel[start + 1] == '.') return EXDEV;
    if (slash == std::string::npos) return 0;
    start = slash + 1;
  }
}

// Opens `rel` beneath `rootfd` one component at a time, never following a link. Takes ownership of
// `rootfd` (closed in every case). Returns the new fd, or -1 with *err set.
int WalkBeneath(int rootfd, const std::string& rel, int* err) {
  int cur = rootfd;
  size_t start = 0;
  while (start < rel.size()) {
    size_t slash = rel.find('/', start);
    if (slash == std::string::npos) slash = rel.size();
    std::string name = rel.substr(start, slash - start);
    int next;
    do {
      next = openat(cur, name.c_str(), kDirFlags | O_NOFOLLOW);
    } while (next < 0 && errno == EINTR);
    if (next < 0) {
      int e = errno;
      // Linux reports a symlink opened with O_NOFOLLOW | O_DIRECTORY as ENOTDIR: say what it is.
      struct stat st;
      if ((e == ENOTDIR || e == ELOOP) && fstatat(cur, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) e = ELOOP;
      close(cur);
      *err = e;
      return -1;
    }
    close(cur);
    cur = next;
    start = slash + 1;
  }
  return cur;
}

bool StringArg(const Napi::CallbackInfo& info, size_t i, const char* what, std::string* out) {
  if (info.Length() <= i || !info[i].IsString()) {
    Napi::TypeError::New(info.Env(), std::string("expected a string ") + what).ThrowAsJavaScriptException();
    return false;
  }
  *out = info[i].As<Napi::String>().Utf8Value();
  if (std::memchr(out->data(), '\0', out->size()) != nullptr) {
    ThrowErrno(info.Env(), std::string("openBeneath: ") + what + " contains a NUL byte", EINVAL);
    return false;
  }
  return true;
}

Napi::Value OpenBeneath(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string root, rel;
  if (!StringArg(info, 0, "root", &root) || !StringArg(info, 1, "relative", &rel)) return env.Undefined();
  bool walk = info.Length() > 2 && info[2].ToBoolean().Value();
  if (root.empty()) {
    ThrowErrno(env, "openBeneath: empty root", EINVAL);
    return env.Undefined();
  }
  if (int bad = CheckRelative(rel)) {
    ThrowErrno(env, "openBeneath: " + rel + (bad == EXDEV ? ": \"..\" leaves the root" : ": not a normalized relative path"), bad);
    return env.Undefined();
  }
  int rootfd;
  do {
    rootfd = open(root.c_str(), kDirFlags);
  } while (rootfd < 0 && errno == EINTR);
  if (rootfd < 0) {
    ThrowErrno(env, "openBeneath: open root", errno);
    return env.Undefined();
  }
  if (rel.empty()) return Napi::Number::New(env, rootfd);
#if defined(__linux__)
  if (!walk && !g_openat2_missing) {
    OpenHow how;
    std::memset(&how, 0, sizeof(how));
    how.flags = static_cast<uint64_t>(kDirFlags);
    how.resolve = kResolveBeneath | kResolveNoSymlinks | kResolveNoMagiclinks;
    long fd = -1;
    int e = 0;
    for (int attempt = 0; attempt < 16; attempt++) {  // EAGAIN: a concurrent rename during the lookup
      fd = syscall(SYS_openat2, rootfd, rel.c_str(), &how, sizeof(how));
      if (fd >= 0) break;
      e = errno;
      if (e != EAGAIN && e != EINTR) break;
    }
    if (fd >= 0) {
      close(rootfd);
      return Napi::Number::New(env, static_cast<double>(fd));
    }
    if (e == ENOSYS) g_openat2_missing = true;
    if (e != ENOSYS && e != EPERM) {
      close(rootfd);
      ThrowErrno(env, "openBeneath: openat2 " + rel, e);
      return env.Undefined();
    }
    // No openat2 here (or a seccomp filter refuses it): the component walk below is just as strict.
  }
#endif
  (void)walk;
  int err = 0;
  int fd = WalkBeneath(rootfd, rel, &err);
  if (fd < 0) {
    ThrowErrno(env, "openBeneath: openat " + rel, err);
    return env.Undefined();
  }
  return Napi::Number::New(env, fd);
}

struct Entry {
  std::string name;
  double mode;
  double size;
  double mtimeMs;
};

class ReadDirWorker : public Napi::AsyncWorker {
 public:
  // Takes ownership of `dupfd` (a dup of the caller's descriptor).
  ReadDirWorker(Napi::Env env, Napi::Promise::Deferred deferred, int dupfd, uint32_t max)
      : Napi::AsyncWorker(env, "flyme.readDirFd"), deferred_(deferred), fd_(dupfd), max_(max) {}
  ~ReadDirWorker() override {
    if (fd_ >= 0) close(fd_);
  }

  void Execute() override {
    DIR* dir = fdopendir(fd_);
    if (dir == nullptr) {
      err_ = errno;
      return;  // fd_ closed by the destructor
    }
    fd_ = -1;  // owned by `dir` now
    rewinddir(dir);  // the dup shares the caller's offset: start at the beginning whatever it was
    for (;;) {
      errno = 0;
      struct dirent* d = readdir(dir);
      if (d == nullptr) {
        err_ = errno;
        break;
      }
      if (std::strcmp(d->d_name, ".") == 0 || std::strcmp(d->d_name, "..") == 0) continue;
      if (entries_.size() >= max_) {
        truncated_ = true;
        break;
      }
      struct stat st;
      if (fstatat(dirfd(dir), d->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;  // gone meanwhile
#if defined(__APPLE__)
      double mtime = static_cast<double>(st.st_mtimespec.tv_sec) * 1000.0 + static_cast<double>(st.st_mtimespec.tv_nsec) / 1e6;
#else
      double mtime = static_cast<double>(st.st_mtim.tv_sec) * 1000.0 + static_cast<double>(st.st_mtim.tv_nsec) / 1e6;
#endif
      entries_.push_back({d->d_name, static_cast<double>(st.st_mode), static_cast<double>(st.st_size), mtime});
    }
    closedir(dir);
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (err_ != 0) {
      deferred_.Reject(ErrnoError(env, "readDirFd", err_).Value());
      return;
    }
    Napi::Array list = Napi::Array::New(env, entries_.size());
    for (size_t i = 0; i < entries_.size(); i++) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("name", Napi::String::New(env, entries_[i].name));
      o.Set("mode", Napi::Number::New(env, entries_[i].mode));
      o.Set("size", Napi::Number::New(env, entries_[i].size));
      o.Set("mtimeMs", Napi::Number::New(env, entries_[i].mtimeMs));
      list.Set(static_cast<uint32_t>(i), o);
    }
    Napi::Object out = Napi::Object::New(env);
    out.Set("entries", list);
    out.Set("truncated", Napi::Boolean::New(env, truncated_));
    deferred_.Resolve(out);
  }

  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  int fd_;
  uint32_t max_;
  int err_ = 0;
  bool truncated_ = false;
  std::vector<Entry> entries_;
};

Napi::Value ReadDirFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber()) {
    Napi::TypeError::New(env, "expected (fd, maxEntries)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  double fd = info[0].As<Napi::Number>().DoubleValue();
  double max = info[1].As<Napi::Number>().DoubleValue();
  if (!(fd >= 0 && fd <= 2147483647.0) || fd != static_cast<double>(static_cast<int>(fd))) {
    Napi::TypeError::New(env, "expected a non-negative integer file descriptor").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (!(max >= 0 && max <= 1048576.0) || max != static_cast<double>(static_cast<uint32_t>(max))) {
    Napi::TypeError::New(env, "maxEntries must be an integer in 0..1048576").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Promise::Deferred deferred = Napi::Promise::Deferred::New(env);
  int dupfd = fcntl(static_cast<int>(fd), F_DUPFD_CLOEXEC, 0);
  if (dupfd < 0) {
    deferred.Reject(ErrnoError(env, "readDirFd", errno).Value());
    return deferred.Promise();
  }
  auto* worker = new ReadDirWorker(env, deferred, dupfd, static_cast<uint32_t>(max));
  worker->Queue();  // deletes itself once complete
  return deferred.Promise();
}

}  // namespace

void InitBeneath(Napi::Env env, Napi::Object exports) {
  exports.Set("openBeneath", Napi::Function::New(env, OpenBeneath, "openBeneath"));
  exports.Set("readDirFd", Napi::Function::New(env, ReadDirFd, "readDirFd"));
}

}  // namespace flyme
