#include "sd_notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>

namespace vigil::binding {

NotifyResult sd_notify_send(const char* socket_name, const std::string& state, std::string* error) {
  if (socket_name == nullptr || socket_name[0] == '\0') return NotifyResult::kNoSocket;
  const size_t len = std::strlen(socket_name);
  sockaddr_un addr;
  std::memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  if (len >= sizeof addr.sun_path) {
    *error = std::string("failed to notify systemd with NOTIFY_SOCKET=") + socket_name +
             ": the socket name is longer than " + std::to_string(sizeof addr.sun_path - 1) + " bytes";
    return NotifyResult::kError;
  }
  if (socket_name[0] != '/' && socket_name[0] != '@') {
    *error = std::string("failed to notify systemd with NOTIFY_SOCKET=") + socket_name +
             ": expected an absolute path or an abstract name starting with @";
    return NotifyResult::kError;
  }
  std::memcpy(addr.sun_path, socket_name, len);
  socklen_t addr_len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len);
  if (socket_name[0] == '@') {
    addr.sun_path[0] = '\0';  // abstract namespace: leading NUL, no terminator counted
  } else {
    addr_len += 1;  // include the terminating NUL for a path
  }
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *error = std::string("failed to notify systemd with NOTIFY_SOCKET=") + socket_name +
             ": socket(): " + std::strerror(errno);
    return NotifyResult::kError;
  }
  const ssize_t sent = ::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL,
                                reinterpret_cast<const sockaddr*>(&addr), addr_len);
  const int saved = errno;
  ::close(fd);
  if (sent < 0 || static_cast<size_t>(sent) != state.size()) {
    *error = std::string("failed to notify systemd with NOTIFY_SOCKET=") + socket_name + ": sendto(): " +
             (sent < 0 ? std::strerror(saved) : "short write");
    return NotifyResult::kError;
  }
  return NotifyResult::kSent;
}

}  // namespace vigil::binding
