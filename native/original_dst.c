// Reads the destination a connection had before iptables REDIRECT rewrote it
// (getsockopt SO_ORIGINAL_DST / IP6T_SO_ORIGINAL_DST). Node has no getsockopt.
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6/ip6_tables.h>
#include <netinet/in.h>
#include <node_api.h>
#include <string.h>
#include <sys/socket.h>

static napi_value fail(napi_env env, const char* what, int error) {
  char message[160];
  snprintf(message, sizeof message, "%s: %s", what, strerror(error));
  napi_throw_error(env, "E_ORIGINAL_DST", message);
  return NULL;
}

// originalDestination(fd) -> { address: string, port: number }
static napi_value OriginalDestination(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd = -1;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    napi_throw_type_error(env, "E_ORIGINAL_DST", "expected a socket file descriptor");
    return NULL;
  }
  struct sockaddr_storage storage;
  memset(&storage, 0, sizeof storage);
  socklen_t length = sizeof storage;
  struct sockaddr_storage local;
  socklen_t localLength = sizeof local;
  if (getsockname(fd, (struct sockaddr*)&local, &localLength) != 0) return fail(env, "getsockname", errno);
  int rc = local.ss_family == AF_INET6
               ? getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, &storage, &length)
               : getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &storage, &length);
  if (rc != 0) return fail(env, "getsockopt(SO_ORIGINAL_DST)", errno);

  char address[INET6_ADDRSTRLEN];
  int port;
  if (storage.ss_family == AF_INET6) {
    struct sockaddr_in6* in6 = (struct sockaddr_in6*)&storage;
    inet_ntop(AF_INET6, &in6->sin6_addr, address, sizeof address);
    port = ntohs(in6->sin6_port);
  } else {
    struct sockaddr_in* in4 = (struct sockaddr_in*)&storage;
    inet_ntop(AF_INET, &in4->sin_addr, address, sizeof address);
    port = ntohs(in4->sin_port);
  }
  napi_value result, jsAddress, jsPort;
  napi_create_object(env, &result);
  napi_create_string_utf8(env, address, NAPI_AUTO_LENGTH, &jsAddress);
  napi_create_int32(env, port, &jsPort);
  napi_set_named_property(env, result, "address", jsAddress);
  napi_set_named_property(env, result, "port", jsPort);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "originalDestination", NAPI_AUTO_LENGTH, OriginalDestination, NULL, &fn);
  napi_set_named_property(env, exports, "originalDestination", fn);
  return exports;
}
