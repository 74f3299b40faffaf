{
  "targets": [
    {
      "target_name": "corosync_ts_ipc",
      "sources": ["ipc.c"],
      "cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-missing-field-initializers", "-Wno-format-truncation", "-fvisibility=hidden"],
      "libraries": ["-lpthread", "-ldl"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
