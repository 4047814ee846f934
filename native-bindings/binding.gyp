{
  "targets": [
    {
      "target_name": "tapgate_native",
      "sources": [
        "src/addon.cc",
        "src/af-packet.cc",
        "src/bpf-filter.cc",
        "src/mapped-file.cc",
        "src/original-dst.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
      "defines": ["NAPI_VERSION=8"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-O2"],
      "cflags_cc!": ["-fno-exceptions"],
      "libraries": ["-lpcap"]
    }
  ]
}
