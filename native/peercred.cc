// FlyMe native addon: the kernel's view of who is on the other end of a Unix socket, and directory
// opens confined beneath a root (for flymed's `list`; implemented in beneath.cc).
//
// Exports (all take plain integer file descriptors or strings):
//   getPeerCred(fd)     -> { uid, gid, pid }   SO_PEERCRED (Linux) / getpeereid + LOCAL_PEERPID (macOS)
//   pidfdAlive(pidfd)   -> boolean             pidfd_send_signal(pidfd, 0) succeeds (not reaped)
//   peerProcess(fd[, keep])
//                       -> { uid, gid, pid, pidfd, exe?, startTime?, pidfdFd? }
//                                              Linux only (peer_process.cc): SO_PEERCRED, SO_PEERPIDFD,
//                                              /proc/PID/exe and starttime proven by the pidfd, in one call;
//                                              with keep, the live peer's pidfd is returned (pidfdFd)
//   closeFd(fd)         -> undefined
//   openBeneath(root, relative[, walk])
//                       -> fd                  directory `relative` opened beneath directory `root`, never
//                                              through a symlink or `..`: openat2(RESOLVE_BENEATH |
//                                              RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS) on Linux >= 5.6,
//                                              else (or with walk = true) an O_NOFOLLOW openat walk
//   readDirFd(fd, max)  -> Promise<{ entries: [{ name, mode, size, mtimeMs }], truncated }>
//                                              up to `max` entries of the directory fd, each fstatat'ed
//                                              with AT_SYMLINK_NOFOLLOW, read on the libuv thread pool
//                                              through a dup of fd taken at the call
//
// Everything is synchronous except readDirFd. Failures throw (or reject with) a JS Error whose message
// carries strerror(errno) and which has a `code` property (e.g. "ENOTCONN", "ENOTUNIX", "ELOOP").
// Built without C++ exceptions.

#include <napi.h>

#include "beneath.h"
#include "errno_error.h"
#include "peer_process.h"
#include "socket_args.h"

#include <cerrno>

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>  // macOS: LOCAL_PEERPID
#include <unistd.h>

#if defined(__APPLE__)
#include <sys/ucred.h>
#ifndef SOL_LOCAL
#define SOL_LOCAL 0
#endif
#ifndef LOCAL_PEERPID
#define LOCAL_PEERPID 0x002
#endif
#endif

namespace {

using flyme::FdArg;
using flyme::RequireUnixSocket;
using flyme::ThrowErrno;

Napi::Value GetPeerCred(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!FdArg(info, &fd)) return env.Undefined();
  if (!RequireUnixSocket(env, fd)) return env.Undefined();
  Napi::Object out = Napi::Object::New(env);
#if defined(__linux__)
  pid_t pid;
  if (!flyme::PeerCredInto(env, fd, out, &pid)) return env.Undefined();
#elif defined(__APPLE__)
  uid_t uid;
  gid_t gid;
  if (getpeereid(fd, &uid, &gid) != 0) {
    ThrowErrno(env, "getpeereid", errno);
    return env.Undefined();
  }
  pid_t pid = -1;
  socklen_t plen = sizeof(pid);
  if (getsockopt(fd, SOL_LOCAL, LOCAL_PEERPID, &pid, &plen) != 0 || pid <= 0) pid = -1;
  out.Set("uid", Napi::Number::New(env, static_cast<double>(uid)));
  out.Set("gid", Napi::Number::New(env, static_cast<double>(gid)));
  out.Set("pid", Napi::Number::New(env, static_cast<double>(pid)));
#else
  ThrowErrno(env, "peer credentials are not supported on this platform", ENOPROTOOPT);
  return env.Undefined();
#endif
  return out;
}

Napi::Value PidfdAlive(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int pidfd;
  if (!FdArg(info, &pidfd)) return env.Undefined();
#if defined(__linux__)
  return Napi::Boolean::New(env, flyme::PidfdIsAlive(pidfd));
#else
  (void)pidfd;
  return Napi::Boolean::New(env, false);
#endif
}

Napi::Value CloseFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd;
  if (!FdArg(info, &fd)) return env.Undefined();
  close(fd);  // Linux: the fd is released even on EINTR; never retry.
  return env.Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("getPeerCred", Napi::Function::New(env, GetPeerCred, "getPeerCred"));
  exports.Set("pidfdAlive", Napi::Function::New(env, PidfdAlive, "pidfdAlive"));
  exports.Set("closeFd", Napi::Function::New(env, CloseFd, "closeFd"));
  flyme::InitBeneath(env, exports);
  flyme::InitPeerProcess(env, exports);
#if defined(__linux__)
  exports.Set("platform", Napi::String::New(env, "linux"));
#elif defined(__APPLE__)
  exports.Set("platform", Napi::String::New(env, "darwin"));
#else
  exports.Set("platform", Napi::String::New(env, "unsupported"));
#endif
  return exports;
}

}  // namespace

NODE_API_MODULE(flyme_peercred, Init)
