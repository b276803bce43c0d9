{
  "targets": [
    {
      "target_name": "original_dst",
      "sources": ["original_dst.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-Wall", "-O2"]
    },
    {
      "target_name": "malloc_trim",
      "sources": ["malloc_trim.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-Wall", "-O2"]
    },
    {
      "target_name": "idle_threads",
      "sources": ["idle_threads.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-Wall", "-O2"]
    }
  ]
}
