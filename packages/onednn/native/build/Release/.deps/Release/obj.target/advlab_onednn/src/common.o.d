cmd_Release/obj.target/advlab_onednn/src/common.o := g++ -o Release/obj.target/advlab_onednn/src/common.o ../src/common.cc '-DNODE_GYP_MODULE_NAME=advlab_onednn' '-DUSING_UV_SHARED=1' '-DUSING_V8_SHARED=1' '-DV8_DEPRECATION_WARNINGS=1' '-D_GLIBCXX_USE_CXX11_ABI=1' '-D_FILE_OFFSET_BITS=64' '-D_LARGEFILE_SOURCE' '-D__STDC_FORMAT_MACROS' '-DOPENSSL_NO_PINSHARED' '-DOPENSSL_THREADS' '-DNAPI_VERSION=8' '-DNAPI_CPP_EXCEPTIONS' '-DBUILDING_NODE_EXTENSION' -I/usr/include/node -I/usr/src -I/usr/deps/openssl/config -I/usr/deps/openssl/openssl/include -I/usr/deps/uv/include -I/usr/deps/zlib -I/usr/deps/v8/include -I/work/main/node_modules/node-addon-api  -fPIC -pthread -Wall -Wextra -Wno-unused-parameter -O3 -fopenmp -fexceptions -fno-trapping-math -fno-math-errno -m64 -O3 -fno-omit-frame-pointer -fno-rtti -std=c++17 -O3 -fopenmp -fexceptions -fno-trapping-math -fno-math-errno -MMD -MF ./Release/.deps/Release/obj.target/advlab_onednn/src/common.o.d.raw   -c
Release/obj.target/advlab_onednn/src/common.o: ../src/common.cc \
 ../src/common.h /work/main/node_modules/node-addon-api/napi.h \
 /usr/include/node/node_api.h /usr/include/node/js_native_api.h \
 /usr/include/node/js_native_api_types.h \
 /usr/include/node/node_api_types.h \
 /work/main/node_modules/node-addon-api/napi-inl.h \
 /work/main/node_modules/node-addon-api/napi.h \
 /work/main/node_modules/node-addon-api/napi-inl.deprecated.h
../src/common.cc:
../src/common.h:
/work/main/node_modules/node-addon-api/napi.h:
/usr/include/node/node_api.h:
/usr/include/node/js_native_api.h:
/usr/include/node/js_native_api_types.h:
/usr/include/node/node_api_types.h:
/work/main/node_modules/node-addon-api/napi-inl.h:
/work/main/node_modules/node-addon-api/napi.h:
/work/main/node_modules/node-addon-api/napi-inl.deprecated.h:
