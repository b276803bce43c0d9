// Moves threads of this process to the SCHED_IDLE scheduling policy: they run
// only on CPU time no other thread of the machine wants, and any thread that
// wakes takes the CPU from them at once. Lowering a thread's own policy needs
// no privilege (Linux 2.6.39 and later); raising it back would, so this is one
// way.
#define _GNU_SOURCE
#include <errno.h>
#include <node_api.h>
#include <stdio.h>
#include <string.h>
#ifdef __linux__
#include <sched.h>
#endif

// setIdlePolicy(threadId) -> undefined; throws E_IDLE_THREAD naming the thread and the reason.
static napi_value SetIdlePolicy(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t tid = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_int32(env, argv[0], &tid) != napi_ok || tid <= 0) {
    napi_throw_type_error(env, "E_IDLE_THREAD", "expected a thread id above 0");
    return NULL;
  }
#ifdef __linux__
  struct sched_param param = {0};
  if (sched_setscheduler(tid, SCHED_IDLE, &param) != 0) {
    char message[128];
    snprintf(message, sizeof message, "thread %d: sched_setscheduler(SCHED_IDLE): %s", tid, strerror(errno));
    napi_throw_error(env, "E_IDLE_THREAD", message);
    return NULL;
  }
#else
  napi_throw_error(env, "E_IDLE_THREAD", "SCHED_IDLE exists only on Linux");
  return NULL;
#endif
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "setIdlePolicy", NAPI_AUTO_LENGTH, SetIdlePolicy, NULL, &fn);
  napi_set_named_property(env, exports, "setIdlePolicy", fn);
  return exports;
}
