// Hands the free pages of every malloc arena back to the kernel every few
// seconds (glibc malloc_trim), from a thread of its own so the event loop never
// waits on it. glibc returns an arena's memory by itself only from the arena's
// top; each of V8's compiler threads has an arena, and what a compile job frees
// there stays resident until something trims it.
#define _GNU_SOURCE
#include <node_api.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

static atomic_uint interval_ms;
static atomic_bool started;

#ifdef __GLIBC__
static void* trim_forever(void* unused) {
  (void)unused;
  pthread_setname_np(pthread_self(), "malloc-trim");
  for (;;) {
    unsigned ms = atomic_load(&interval_ms);
    struct timespec pause = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&pause, NULL);
    malloc_trim(0);
  }
  return NULL;
}

static int start_thread(void) {
  pthread_attr_t attributes;
  pthread_attr_init(&attributes);
  pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attributes, 64 * 1024);
  // Signals stay with Node's threads.
  sigset_t all, previous;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &previous);
  pthread_t thread;
  int rc = pthread_create(&thread, &attributes, trim_forever, NULL);
  pthread_sigmask(SIG_SETMASK, &previous, NULL);
  pthread_attr_destroy(&attributes);
  return rc;
}
#endif

// startMallocTrim(intervalMs) -> boolean: whether a trimmer runs. A second call
// changes the interval of the one already running.
static napi_value StartMallocTrim(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  uint32_t ms = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_uint32(env, argv[0], &ms) != napi_ok || ms == 0) {
    napi_throw_type_error(env, "E_MALLOC_TRIM", "expected an interval in milliseconds above 0");
    return NULL;
  }
  bool running = false;
#ifdef __GLIBC__
  atomic_store(&interval_ms, ms);
  bool expected = false;
  if (atomic_compare_exchange_strong(&started, &expected, true)) {
    if (start_thread() != 0) atomic_store(&started, false);
  }
  running = atomic_load(&started);
#endif
  napi_value result;
  napi_get_boolean(env, running, &result);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "startMallocTrim", NAPI_AUTO_LENGTH, StartMallocTrim, NULL, &fn);
  napi_set_named_property(env, exports, "startMallocTrim", fn);
  return exports;
}
