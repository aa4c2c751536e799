// FlyMe native addon: JS errors from errno values (shared by peercred.cc and beneath.cc).
#ifndef FLYME_NATIVE_ERRNO_ERROR_H_
#define FLYME_NATIVE_ERRNO_ERROR_H_

#include <napi.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace flyme {

// The errno's symbolic name (best effort; "EUNKNOWN" for the rest).
inline const char* ErrnoName(int err) {
  switch (err) {
    case EBADF: return "EBADF";
    case ENOTSOCK: return "ENOTSOCK";
    case ENOTCONN: return "ENOTCONN";
    case EINVAL: return "EINVAL";
    case ENOPROTOOPT: return "ENOPROTOOPT";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case ENOENT: return "ENOENT";
    case ELOOP: return "ELOOP";
    case EXDEV: return "EXDEV";
    case ENOTDIR: return "ENOTDIR";
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case EAGAIN: return "EAGAIN";
    case EINTR: return "EINTR";
    case ENOSYS: return "ENOSYS";
    case EMFILE: return "EMFILE";
    case ENFILE: return "ENFILE";
    case ENOMEM: return "ENOMEM";
    case EIO: return "EIO";
    case ESTALE: return "ESTALE";
    case ENODEV: return "ENODEV";
    case ENXIO: return "ENXIO";
    default: return "EUNKNOWN";
  }
}

// A JS Error "<what>: <strerror(err)>" with .code = errno name and .errno = err.
inline Napi::Error ErrnoError(Napi::Env env, const std::string& what, int err) {
  Napi::Error e = Napi::Error::New(env, what + ": " + std::strerror(err));
  e.Set("code", Napi::String::New(env, ErrnoName(err)));
  e.Set("errno", Napi::Number::New(env, err));
  return e;
}

// Throws ErrnoError(env, what, err) as a pending JS exception (the addon is built without C++ exceptions).
inline void ThrowErrno(Napi::Env env, const std::string& what, int err) {
  ErrnoError(env, what, err).ThrowAsJavaScriptException();
}

}  // namespace flyme

#endif  // FLYME_NATIVE_ERRNO_ERROR_H_
