# The etcd engine's gRPC client, generated at build time from the .proto files
# Debian ships (issue 14): etcd's own (golang-etcd-server-dev) and their
# imports gogoproto/gogo.proto (golang-github-gogo-protobuf-dev) and
# google/api/annotations.proto (golang-github-gogo-googleapis-dev), compiled
# with protoc and grpc_cpp_plugin against libgrpc++ and libprotobuf. Nothing
# is vendored or downloaded.
#
# Sets ROCKSFS_WITH_ETCD (ON when everything was found) and, then, the target
# rocksfs_etcd_proto. When something is missing the etcd engine is left out
# and ROCKSFS_ETCD_MISSING says what, for the tests to report when they skip.

set(ROCKSFS_WITH_ETCD OFF)
set(ROCKSFS_ETCD_MISSING "")
# BUILD/etcd_engine.txt tells the mounted tests whether the engine was built:
# "built", or "missing: ..." (tests/mount/etcd_testlib.py).
file(WRITE ${CMAKE_BINARY_DIR}/etcd_engine.txt "missing: (configure did not finish)\n")

set(ROCKSFS_GOCODE /usr/share/gocode/src CACHE PATH "Root of Debian's Go sources (the .proto files)")
set(_etcd_root ${ROCKSFS_GOCODE}/go.etcd.io)              # holds etcd/...
set(_gogo_root ${ROCKSFS_GOCODE}/github.com/gogo/protobuf)  # holds gogoproto/...
set(_gapi_root ${ROCKSFS_GOCODE}/github.com/gogo/googleapis)  # holds google/api/...
# Paths relative to their roots, as the imports name them.
set(_etcd_protos
  etcd/etcdserver/etcdserverpb/rpc.proto
  etcd/mvcc/mvccpb/kv.proto
  etcd/auth/authpb/auth.proto)
set(_gogo_protos gogoproto/gogo.proto)
set(_gapi_protos google/api/annotations.proto google/api/http.proto)

foreach(p ${_etcd_protos})
  if(NOT EXISTS ${_etcd_root}/${p})
    list(APPEND ROCKSFS_ETCD_MISSING "${_etcd_root}/${p} (golang-etcd-server-dev)")
  endif()
endforeach()
foreach(p ${_gogo_protos})
  if(NOT EXISTS ${_gogo_root}/${p})
    list(APPEND ROCKSFS_ETCD_MISSING "${_gogo_root}/${p} (golang-github-gogo-protobuf-dev)")
  endif()
endforeach()
foreach(p ${_gapi_protos})
  if(NOT EXISTS ${_gapi_root}/${p})
    list(APPEND ROCKSFS_ETCD_MISSING "${_gapi_root}/${p} (golang-github-gogo-googleapis-dev)")
  endif()
endforeach()

find_package(Protobuf QUIET)
find_package(gRPC CONFIG QUIET)
find_program(ROCKSFS_PROTOC protoc)
find_program(ROCKSFS_GRPC_CPP_PLUGIN grpc_cpp_plugin)
if(NOT Protobuf_FOUND OR NOT ROCKSFS_PROTOC)
  list(APPEND ROCKSFS_ETCD_MISSING "protoc and libprotobuf (protobuf-compiler, libprotobuf-dev)")
endif()
if(NOT gRPC_FOUND OR NOT ROCKSFS_GRPC_CPP_PLUGIN)
  list(APPEND ROCKSFS_ETCD_MISSING "gRPC C++ (libgrpc++-dev, protobuf-compiler-grpc)")
endif()

if(ROCKSFS_ETCD_MISSING)
  string(REPLACE ";" ", " _missing "${ROCKSFS_ETCD_MISSING}")
  set(ROCKSFS_ETCD_MISSING "${_missing}")
  message(STATUS "etcd engine: not built, missing ${ROCKSFS_ETCD_MISSING} (scripts/setup.sh installs them)")
  file(WRITE ${CMAKE_BINARY_DIR}/etcd_engine.txt "missing: ${ROCKSFS_ETCD_MISSING}\n")
  return()
endif()

set(_out ${CMAKE_BINARY_DIR}/etcd_client)
set(_sources)
# protoc_one(ROOT PROTO GRPC): generate PROTO (relative to ROOT) into _out, with
# the gRPC stubs too when GRPC is TRUE.
function(protoc_one root proto grpc)
  string(REGEX REPLACE "\\.proto$" "" base ${proto})
  set(outputs ${_out}/${base}.pb.cc ${_out}/${base}.pb.h)
  set(plugin_args)
  if(grpc)
    list(APPEND outputs ${_out}/${base}.grpc.pb.cc ${_out}/${base}.grpc.pb.h)
    set(plugin_args --grpc_out=${_out} --plugin=protoc-gen-grpc=${ROCKSFS_GRPC_CPP_PLUGIN})
  endif()
  add_custom_command(
    OUTPUT ${outputs}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${_out}
    COMMAND ${ROCKSFS_PROTOC}
            -I${Protobuf_INCLUDE_DIRS} -I${_etcd_root} -I${_gogo_root} -I${_gapi_root}
            --cpp_out=${_out} ${plugin_args} ${root}/${proto}
    DEPENDS ${root}/${proto}
    COMMENT "protoc ${proto}"
    VERBATIM)
  set(_sources ${_sources} ${_out}/${base}.pb.cc PARENT_SCOPE)
  if(grpc)
    set(_sources ${_sources} ${_out}/${base}.pb.cc ${_out}/${base}.grpc.pb.cc PARENT_SCOPE)
  endif()
endfunction()

foreach(p ${_gogo_protos})
  protoc_one(${_gogo_root} ${p} FALSE)
endforeach()
foreach(p ${_gapi_protos})
  protoc_one(${_gapi_root} ${p} FALSE)
endforeach()
protoc_one(${_etcd_root} etcd/mvcc/mvccpb/kv.proto FALSE)
protoc_one(${_etcd_root} etcd/auth/authpb/auth.proto FALSE)
protoc_one(${_etcd_root} etcd/etcdserver/etcdserverpb/rpc.proto TRUE)
list(REMOVE_DUPLICATES _sources)

add_library(rocksfs_etcd_proto STATIC ${_sources})
target_include_directories(rocksfs_etcd_proto SYSTEM PUBLIC ${_out})
target_link_libraries(rocksfs_etcd_proto PUBLIC gRPC::grpc++ protobuf::libprotobuf)
# Generated code: not ours to warn about.
target_compile_options(rocksfs_etcd_proto PRIVATE -w)
set(ROCKSFS_WITH_ETCD ON)
file(WRITE ${CMAKE_BINARY_DIR}/etcd_engine.txt "built\n")
message(STATUS "etcd engine: built (gRPC client generated from ${_etcd_root})")
