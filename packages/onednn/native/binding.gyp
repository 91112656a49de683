{
  "targets": [
    {
      "target_name": "advlab_onednn",
      "sources": [
        "src/addon.cc",
        "src/common.cc",
        "src/conv.cc",
        "src/matmul.cc",
        "src/pool.cc",
        "src/elementwise.cc",
        "src/reduce.cc"
      ],
      "include_dirs": ["<!@(node -p \"require('node-addon-api').include\")"],
      # C++ exceptions on: dnnl.hpp reports every failure by throwing dnnl::error, and each exported
      # function turns C++ exceptions into JS errors (common.h, Guarded).
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      # -O3 but no -march=native: the .node file must run on any x86-64; oneDNN itself picks the best ISA
      # (AVX2 / AVX-512 JIT kernels) at run time, and our own loops are memory-bound.
      "cflags": ["-O3", "-fopenmp", "-fexceptions"],
      "cflags_cc": ["-std=c++17", "-O3", "-fopenmp", "-fexceptions"],
      "libraries": ["-ldnnl", "-fopenmp"]
    }
  ]
}
