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
        "src/reduce.cc",
        "src/layout.cc",
        "src/rowwise.cc",
        "src/memory.cc"
      ],
      "include_dirs": ["<!@(node -p \"require('node-addon-api').include\")"],
      # C++ exceptions on: dnnl.hpp reports every failure by throwing dnnl::error, and each exported
      # function turns C++ exceptions into JS errors (common.h, Guarded).
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      # -O3 but no -march=native: the .node file must run on any x86-64; oneDNN itself picks the best ISA
      # (AVX2 / AVX-512 JIT kernels) at run time, and our own loops are memory-bound.
      # -fno-trapping-math: we never read floating-point exception flags, and without it GCC keeps float
      # compares as branches (no if-conversion / vectorisation): Step on random data ran 20x slower.
      # -fno-math-errno: nor errno, which otherwise keeps sqrt a checked libm call instead of sqrtps.
      "cflags": ["-O3", "-fopenmp", "-fexceptions", "-fno-trapping-math", "-fno-math-errno"],
      "cflags_cc": ["-std=c++17", "-O3", "-fopenmp", "-fexceptions", "-fno-trapping-math", "-fno-math-errno"],
      "libraries": ["-ldnnl", "-fopenmp"]
    }
  ]
}
