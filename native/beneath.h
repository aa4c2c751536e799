// FlyMe native addon: directories opened beneath a root without following links, and read by descriptor.
#ifndef FLYME_NATIVE_BENEATH_H_
#define FLYME_NATIVE_BENEATH_H_

#include <napi.h>

namespace flyme {

// Adds openBeneath and readDirFd to the addon's exports (see the header comment of peercred.cc).
void InitBeneath(Napi::Env env, Napi::Object exports);

}  // namespace flyme

#endif  // FLYME_NATIVE_BENEATH_H_
