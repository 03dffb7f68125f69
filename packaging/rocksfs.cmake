# Manual pages, bash completion, examples, and the Debian package.
# Included from the top-level CMakeLists.txt after the tools are defined.
#
# Manual pages: help2man runs each built tool at build time with --help
# (rocksfs: --help-all, every command), takes the version from project(), and
# adds the prose of man/NAME.h2m (keys and paths, examples, files). The
# options in a page are therefore the binary's: it cannot drift from --help.
# Without help2man the pages are skipped with a message (scripts/setup.sh
# installs it).
#
# The Debian package (-DROCKSFS_DEBIAN_PACKAGE=ON, as scripts/package.sh
# configures it): CPack's DEB generator over the install rules below, with
# the version of project() in CMakeLists.txt, runtime dependencies from
# dpkg-shlibdeps, and the changelog and copyright file Debian requires.

set(ROCKSFS_MAN_DIR ${CMAKE_BINARY_DIR}/man)
find_program(ROCKSFS_HELP2MAN help2man)
find_program(ROCKSFS_GZIP gzip)
if(NOT ROCKSFS_HELP2MAN OR NOT ROCKSFS_GZIP)
  message(STATUS "help2man or gzip not found: the manual pages are not built "
                 "(apt-get install help2man, or run scripts/setup.sh)")
elseif(TARGET mount.rocksfs AND TARGET rocksfs)
  set(man_pages)
  # NAME SECTION HELP_OPTION
  foreach(page "mount.rocksfs;8;--help" "rocksfs;1;--help-all")
    list(GET page 0 program)
    list(GET page 1 section)
    list(GET page 2 help_option)
    set(page_file ${ROCKSFS_MAN_DIR}/${program}.${section})
    add_custom_command(
      OUTPUT ${page_file} ${page_file}.gz
      COMMAND ${CMAKE_COMMAND} -E make_directory ${ROCKSFS_MAN_DIR}
      COMMAND ${ROCKSFS_HELP2MAN} --no-info --no-discard-stderr --section=${section}
              --help-option=${help_option} --version-string=${PROJECT_VERSION}
              --include=${PROJECT_SOURCE_DIR}/man/${program}.h2m
              --output=${page_file} $<TARGET_FILE:${program}>
      COMMAND ${ROCKSFS_GZIP} -9 -n -k -f ${page_file}
      DEPENDS ${program} ${PROJECT_SOURCE_DIR}/man/${program}.h2m
      COMMENT "Generating the manual page ${program}(${section}) with help2man"
      VERBATIM)
    list(APPEND man_pages ${page_file})
    install(FILES ${page_file}.gz DESTINATION share/man/man${section})
  endforeach()
  add_custom_target(man_pages ALL DEPENDS ${man_pages})
  # mount.fuse.rocksfs, the helper mount -t fuse.rocksfs runs, is mount.rocksfs.
  install(CODE "
    set(link \"\${CMAKE_INSTALL_PREFIX}/share/man/man8/mount.fuse.rocksfs.8.gz\")
    message(STATUS \"Installing: \$ENV{DESTDIR}\${link} -> mount.rocksfs.8.gz\")
    file(CREATE_LINK mount.rocksfs.8.gz \"\$ENV{DESTDIR}\${link}\" SYMBOLIC)
    list(APPEND CMAKE_INSTALL_MANIFEST_FILES \"\${link}\")")
endif()

# Bash completion (one file for both programs) and the examples. (Links are
# added to install_manifest.txt by hand: CMake lists only what it copies.)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/bash-completion/rocksfs
        DESTINATION share/bash-completion/completions)
install(CODE "
  set(link \"\${CMAKE_INSTALL_PREFIX}/share/bash-completion/completions/mount.rocksfs\")
  message(STATUS \"Installing: \$ENV{DESTDIR}\${link} -> rocksfs\")
  file(CREATE_LINK rocksfs \"\$ENV{DESTDIR}\${link}\" SYMBOLIC)
  list(APPEND CMAKE_INSTALL_MANIFEST_FILES \"\${link}\")")
install(FILES ${PROJECT_SOURCE_DIR}/packaging/examples/fstab
              ${PROJECT_SOURCE_DIR}/packaging/examples/mnt-kv.mount
        DESTINATION share/doc/rocksfs/examples)

option(ROCKSFS_DEBIAN_PACKAGE
       "Configure the Debian package (cpack -G DEB); scripts/package.sh sets it" OFF)
if(NOT ROCKSFS_DEBIAN_PACKAGE)
  return()
endif()

if(NOT CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  message(FATAL_ERROR "ROCKSFS_DEBIAN_PACKAGE needs -DCMAKE_INSTALL_PREFIX=/usr "
                      "(it is ${CMAKE_INSTALL_PREFIX}); scripts/package.sh sets both")
endif()
set(ROCKSFS_PACKAGE_MAINTAINER "rocksfs maintainers <rocksfs@example.org>"
    CACHE STRING "The Maintainer field of the Debian package: \"NAME <EMAIL>\"")
set(ROCKSFS_DEBIAN_REVISION 1 CACHE STRING "The Debian revision of the package version")
set(ROCKSFS_DEBIAN_VERSION ${PROJECT_VERSION}-${ROCKSFS_DEBIAN_REVISION})

# Debian wants a changelog and a copyright file in /usr/share/doc/PACKAGE.
# The changelog's date is SOURCE_DATE_EPOCH when set (scripts/package.sh
# sets it to the commit's time), so the package is reproducible.
string(TIMESTAMP ROCKSFS_CHANGELOG_DATE "%a, %d %b %Y %H:%M:%S +0000" UTC)
set(ROCKSFS_GIT_NOTE "")
if(DEFINED ENV{ROCKSFS_GIT_COMMIT})
  set(ROCKSFS_GIT_NOTE " at commit $ENV{ROCKSFS_GIT_COMMIT}")
endif()
configure_file(${PROJECT_SOURCE_DIR}/packaging/changelog.Debian.in
               ${CMAKE_BINARY_DIR}/debian/changelog.Debian @ONLY)
execute_process(COMMAND ${ROCKSFS_GZIP} -9 -n -k -f ${CMAKE_BINARY_DIR}/debian/changelog.Debian
                RESULT_VARIABLE gzip_status)
if(NOT gzip_status EQUAL 0)
  message(FATAL_ERROR "gzip of ${CMAKE_BINARY_DIR}/debian/changelog.Debian failed")
endif()
install(FILES ${CMAKE_BINARY_DIR}/debian/changelog.Debian.gz
              ${PROJECT_SOURCE_DIR}/packaging/copyright
        DESTINATION share/doc/rocksfs)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME rocksfs)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_DEBIAN_PACKAGE_RELEASE ${ROCKSFS_DEBIAN_REVISION})
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # rocksfs_VERSION-REVISION_ARCH.deb
set(CPACK_PACKAGE_CONTACT "${ROCKSFS_PACKAGE_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${ROCKSFS_PACKAGE_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "FUSE filesystem that shows a RocksDB database as a directory tree")
set(CPACK_PACKAGE_DESCRIPTION
    "rocksfs mounts a RocksDB database as a directory tree: keys split on a
delimiter are paths and values are file contents, so any program reads and
writes them with ordinary file calls. The database stays a plain RocksDB
database that other RocksDB programs, such as ldb, read and write.

This package holds mount.rocksfs, which is also the helper for
mount -t fuse.rocksfs and /etc/fstab, and the admin tool rocksfs (bulk
load, dump, snapshots, backups and statistics).")
# Runtime libraries (librocksdb, libfuse3, libspdlog, libfmt, libstdc++, ...)
# come from dpkg-shlibdeps; fuse3 brings fusermount3 and /etc/fuse.conf.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "fuse3")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "rocksdb-tools")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_STRIP_FILES ON)
# Install with DESTDIR, so that the absolute /sbin paths of the mount helpers
# land in the package too.
set(CPACK_SET_DESTDIR ON)
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_PACKAGE_DIRECTORY ${CMAKE_BINARY_DIR}/package)
include(CPack)
