// FlyMe native addon: peerProcess(fd), Linux only (see the header comment of peercred.cc).
//
// peerProcess(fd[, keep]) -> { uid, gid, pid, pidfd, exe, startTime[, pidfdFd] } of the peer of the connected AF_UNIX socket fd,
// the whole of what flymed reads about each accepted connection, in one call and without JavaScript in between
// (it was ~10 calls into the addon and node:fs, about 0.1 ms per connection in a busy server):
//   1. SO_PEERCRED: uid, gid, pid. No credentials -> throws (ENOTCONN, ...), like getPeerCred.
//      pid is -1 when the kernel reports none (a pid namespace we cannot see); nothing else is read then.
//   2. SO_PEERPIDFD (Linux 6.5+): a pidfd for the very process that connected. None -> pidfd false.
//   3. readlink /proc/PID/exe and field 22 (starttime) of /proc/PID/stat.
//   4. pidfd_send_signal(pidfd, 0) after the reads: the process has not been reaped (EPERM counts as alive).
//      A pid is handed to another process only once its holder is reaped, and reaping cannot be undone, so a
//      process alive after the reads held PID from the SO_PEERCRED call to the end of the reads: the reads were
//      of the peer. (pid and pidfd both come from the socket's one recorded peer.) Only then pidfd is true and
//      exe / startTime (each if it could be read: exe needs ptrace-read access) are set; otherwise they are
//      absent, never stale. The pidfd is closed before returning, unless `keep` is true and the process was
//      alive: then it is returned as `pidfdFd` (O_CLOEXEC), the caller's to close (pinPeerProcess holds it for
//      the life of the connection).
// Fields that are not known are absent from the result (undefined), not null.

#include "peer_process.h"

#if defined(__linux__)

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include "errno_error.h"
#include "socket_args.h"  // also SO_PEERPIDFD and __NR_pidfd_send_signal where the headers lack them

namespace flyme {
namespace {

// Field 22 (starttime) of a /proc/PID/stat line of `len` bytes, or -1. The command name (field 2, in
// parentheses) may itself contain spaces and ')': fields are counted after the last ')'.
double ParseStartTime(const char* stat, size_t len) {
  const char* close = nullptr;
  for (size_t i = 0; i < len; i++) if (stat[i] == ')') close = stat + i;
  if (close == nullptr) return -1;
  const char* p = close + 1;
  const char* end = stat + len;
  // After ')' come field 3 (state) ... field 22 (starttime) is the 20th field.
  for (int field = 3;; field++) {
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\t')) p++;
    if (p >= end) return -1;
    const char* start = p;
    while (p < end && *p != ' ' && *p != '\n' && *p != '\t') p++;
    if (field < 22) continue;
    uint64_t value = 0;
    for (const char* q = start; q < p; q++) {
      if (*q < '0' || *q > '9') return -1;
      value = value * 10 + static_cast<uint64_t>(*q - '0');
      if (value > 9007199254740991ULL) return -1;  // beyond Number.MAX_SAFE_INTEGER
    }
    return p > start ? static_cast<double>(value) : -1;
  }
}

// /proc/PID/stat read into `buf`; its length, or -1.
ssize_t ReadStat(int pid, char* buf, size_t size) {
  char path[64];
  std::snprintf(path, sizeof(path), "/proc/%d/stat", pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  size_t total = 0;
  while (total < size) {
    ssize_t n = read(fd, buf + total, size - total);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    total += static_cast<size_t>(n);
  }
  close(fd);
  return static_cast<ssize_t>(total);
}

Napi::Value PeerProcess(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!FdArg(info, &fd)) return env.Undefined();
  if (!RequireUnixSocket(env, fd)) return env.Undefined();
  const bool keep = info.Length() > 1 && info[1].IsBoolean() && info[1].As<Napi::Boolean>().Value();
  Napi::Object out = Napi::Object::New(env);
  pid_t pid;
  if (!PeerCredInto(env, fd, out, &pid)) return env.Undefined();
  if (pid <= 0) return out;

  int pidfd = -1;
  socklen_t plen = sizeof(pidfd);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &plen) != 0 || plen != sizeof(pidfd) || pidfd < 0) {
    out.Set("pidfd", Napi::Boolean::New(env, false));  // kernel < 6.5, or no pidfd for this peer
    return out;
  }
  char exe[4096];
  char path[64];
  std::snprintf(path, sizeof(path), "/proc/%d/exe", static_cast<int>(pid));
  ssize_t exeLen = readlink(path, exe, sizeof(exe));
  if (exeLen >= static_cast<ssize_t>(sizeof(exe))) exeLen = -1;  // possibly truncated: not reported
  char stat[4096];
  ssize_t statLen = ReadStat(static_cast<int>(pid), stat, sizeof(stat));
  double startTime = statLen > 0 ? ParseStartTime(stat, static_cast<size_t>(statLen)) : -1;
  bool alive = PidfdIsAlive(pidfd);
  out.Set("pidfd", Napi::Boolean::New(env, alive));
  if (!alive) {
    close(pidfd);
    return out;
  }
  if (keep) {
    // The kernel installs it O_CLOEXEC already; make sure anyway so a spawned child cannot inherit it.
    int flags = fcntl(pidfd, F_GETFD);
    if (flags >= 0 && !(flags & FD_CLOEXEC)) fcntl(pidfd, F_SETFD, flags | FD_CLOEXEC);
    out.Set("pidfdFd", Napi::Number::New(env, pidfd));
  } else {
    close(pidfd);
  }
  if (exeLen > 0) out.Set("exe", Napi::String::New(env, exe, static_cast<size_t>(exeLen)));
  if (startTime >= 0) out.Set("startTime", Napi::Number::New(env, startTime));
  return out;
}

}  // namespace

void InitPeerProcess(Napi::Env env, Napi::Object exports) {
  exports.Set("peerProcess", Napi::Function::New(env, PeerProcess, "peerProcess"));
}

}  // namespace flyme

#else

namespace flyme {

void InitPeerProcess(Napi::Env, Napi::Object) {}  // Linux only: JavaScript reads getPeerCred elsewhere.

}  // namespace flyme

#endif
