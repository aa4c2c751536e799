// FlyMe native addon: argument checks shared by the peer-credential functions (peercred.cc, peer_process.cc).
#ifndef FLYME_NATIVE_SOCKET_ARGS_H_
#define FLYME_NATIVE_SOCKET_ARGS_H_

#include <napi.h>

#include <cerrno>
#include <cstring>

#include <sys/socket.h>
#include <sys/types.h>

#include "errno_error.h"

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

}  // namespace flyme

#endif  // FLYME_NATIVE_SOCKET_ARGS_H_
