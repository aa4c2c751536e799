// FlyMe native addon: argument checks and Linux constants shared by the peer-credential functions (peercred.cc,
// peer_process.cc).
#ifndef FLYME_NATIVE_SOCKET_ARGS_H_
#define FLYME_NATIVE_SOCKET_ARGS_H_

#include <napi.h>

#include <cerrno>
#include <cstring>

#include <sys/socket.h>
#include <sys/types.h>

#include "errno_error.h"

#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>  // syscall
#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77  // asm-generic value (Linux 6.5+); headers of older distributions lack it.
#endif
#ifndef __NR_pidfd_send_signal
#define __NR_pidfd_send_signal 424  // same number on every architecture (unified syscall table).
#endif
#endif

namespace flyme {

// Reads argument 0 as a non-negative int32 fd; throws TypeError and returns false otherwise.
inline bool FdArg(const Napi::CallbackInfo& info, int* fd) {
  if (info.Length() < 1 || !info[0].IsNumber()) {
    Napi::TypeError::New(info.Env(), "expected an integer file descriptor").ThrowAsJavaScriptException();
    return false;
  }
  double d = info[0].As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d <= 2147483647.0) || d != static_cast<double>(static_cast<int>(d))) {
    Napi::TypeError::New(info.Env(), "expected a non-negative integer file descriptor").ThrowAsJavaScriptException();
    return false;
  }
  *fd = static_cast<int>(d);
  return true;
}

// Peer credentials only mean something on a connected AF_UNIX socket: on Linux, SO_PEERCRED on a TCP
// socket "succeeds" with uid/gid = -1 and pid = 0. Refuse anything that is not AF_UNIX up front.
inline bool RequireUnixSocket(Napi::Env env, int fd) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof(ss);
  std::memset(&ss, 0, sizeof(ss));
  if (getsockname(fd, reinterpret_cast<struct sockaddr*>(&ss), &len) != 0) {
    ThrowErrno(env, "getsockname", errno);
    return false;
  }
  if (ss.ss_family != AF_UNIX) {
    Napi::Error e = Napi::Error::New(env, "not a Unix domain socket: peer credentials are unavailable");
    e.Set("code", Napi::String::New(env, "ENOTUNIX"));
    e.ThrowAsJavaScriptException();
    return false;
  }
  return true;
}

#if defined(__linux__)
// pidfd_send_signal(pidfd, 0) succeeds, or fails with EPERM (the process exists, we may not signal it): the
// process has not been reaped, so its pid is still its own.
inline bool PidfdIsAlive(int pidfd) {
  long rc = syscall(__NR_pidfd_send_signal, pidfd, 0, nullptr, 0);
  return rc == 0 || errno == EPERM;
}

// SO_PEERCRED of the socket fd set on `out` as uid, gid and pid (-1 when the kernel reports none: a peer in a pid
// namespace we cannot see), the pid also in *pid. Throws (returns false, a JS exception pending) when the kernel
// has no credentials for it (an unconnected socket): never "uid -1".
inline bool PeerCredInto(Napi::Env env, int fd, Napi::Object out, pid_t* pid) {
  struct ucred cred;
  socklen_t len = sizeof(cred);
  std::memset(&cred, 0, sizeof(cred));
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    ThrowErrno(env, "getsockopt(SO_PEERCRED)", errno);
    return false;
  }
  if (len != sizeof(cred) || cred.uid == static_cast<uid_t>(-1) || cred.gid == static_cast<gid_t>(-1)) {
    ThrowErrno(env, "getsockopt(SO_PEERCRED) returned no credentials", ENOTCONN);
    return false;
  }
  out.Set("uid", Napi::Number::New(env, static_cast<double>(cred.uid)));
  out.Set("gid", Napi::Number::New(env, static_cast<double>(cred.gid)));
  out.Set("pid", Napi::Number::New(env, cred.pid > 0 ? static_cast<double>(cred.pid) : -1.0));
  *pid = cred.pid;
  return true;
}
#endif

}  // namespace flyme

#endif  // FLYME_NATIVE_SOCKET_ARGS_H_
