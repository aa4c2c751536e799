// FlyMe native addon: everything FlyMe reads about the peer of an accepted Unix socket, in one call (Linux).
#ifndef FLYME_NATIVE_PEER_PROCESS_H_
#define FLYME_NATIVE_PEER_PROCESS_H_

#include <napi.h>

namespace flyme {

// Adds peerProcess to the addon's exports on Linux (see the header comment of peer_process.cc).
void InitPeerProcess(Napi::Env env, Napi::Object exports);

}  // namespace flyme

#endif  // FLYME_NATIVE_PEER_PROCESS_H_
