// systemd notification (sd_notify(3) protocol) without libsystemd: one datagram with the state
// string to the AF_UNIX socket named by $NOTIFY_SOCKET (a path, or "@name" for the abstract
// namespace). Node core cannot send AF_UNIX datagrams, hence this lives in the addon.
#pragma once

#include <string>

namespace vigil::binding {

enum class NotifyResult { kSent, kNoSocket, kError };

// socket_name: the value of $NOTIFY_SOCKET (nullptr or "" -> kNoSocket). On kError *error says
// what failed (in the engine's message shape).
NotifyResult sd_notify_send(const char* socket_name, const std::string& state, std::string* error);

}  // namespace vigil::binding
