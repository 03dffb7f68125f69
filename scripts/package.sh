#!/usr/bin/env bash
# Build the Debian package of rocksfs: rocksfs_VERSION-REVISION_ARCH.deb in
# the repository root, to install with `apt install ./rocksfs_*.deb`.
#
# Installs what is missing (scripts/setup.sh --no-build), configures a build
# directory of its own (prefix /usr, Debian's hardening flags from
# dpkg-buildflags, no tests), builds, makes the package with CPack's DEB
# generator, and checks it with lintian: any lintian error fails the script.
# The version is project(VERSION) in CMakeLists.txt.
#
# usage: scripts/package.sh [--output-dir DIR] [--no-lintian]
#   --output-dir DIR  where the .deb goes (default: the repository root; an
#                     older rocksfs_*.deb there is removed)
#   --no-lintian      skip the lintian check
# env:   ROCKSFS_PACKAGE_BUILD_DIR (default: build-package, in the repository)
#        DEBFULLNAME, DEBEMAIL: the package's Maintainer field
#        SOURCE_DATE_EPOCH (default: the time of the last commit)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD

output_dir=$root
lintian=1
while (( $# > 0 )); do
  case "$1" in
    --output-dir) output_dir=${2:?--output-dir needs a directory}; shift 2 ;;
    --no-lintian) lintian=0; shift ;;
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "package.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$output_dir"
output_dir=$(cd "$output_dir" && pwd)

bash scripts/setup.sh --no-build

build_dir=${ROCKSFS_PACKAGE_BUILD_DIR:-build-package}
mkdir -p "$build_dir"
build_dir=$(cd "$build_dir" && pwd)

# Reproducible: the dates in the changelog and the manual pages are the
# commit's, not the build's.
if [[ -z ${SOURCE_DATE_EPOCH:-} ]]; then
  SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || date +%s)
fi
export SOURCE_DATE_EPOCH
if commit=$(git rev-parse --short=12 HEAD 2>/dev/null); then
  git diff --quiet HEAD 2>/dev/null || commit+=" (with uncommitted changes)"
  export ROCKSFS_GIT_COMMIT=$commit
fi

maintainer_args=()
if [[ -n ${DEBFULLNAME:-} && -n ${DEBEMAIL:-} ]]; then
  maintainer_args=(-DROCKSFS_PACKAGE_MAINTAINER="$DEBFULLNAME <$DEBEMAIL>")
fi

# Debian's build flags: -O2 -g, fortify, stack protector, relro, bindnow and
# -Werror=format-security.
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
cxxflags="$(dpkg-buildflags --get CPPFLAGS) $(dpkg-buildflags --get CXXFLAGS)"
ldflags=$(dpkg-buildflags --get LDFLAGS)

echo "==> configuring the package build in $build_dir"
if ! cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
       -DCMAKE_INSTALL_PREFIX=/usr -DROCKSFS_DEBIAN_PACKAGE=ON -DROCKSFS_BUILD_TESTS=OFF \
       -DCMAKE_SKIP_INSTALL_ALL_DEPENDENCY=ON \
       -DCMAKE_CXX_FLAGS="$cxxflags" -DCMAKE_EXE_LINKER_FLAGS="$ldflags" \
       "${maintainer_args[@]}" >"$build_dir/configure.log" 2>&1; then
  cat "$build_dir/configure.log" >&2
  echo "package.sh: cmake configure failed (log: $build_dir/configure.log)" >&2
  exit 1
fi

# Only what the package installs (not the benchmark driver).
echo "==> building"
cmake --build "$build_dir" -j"$(nproc)" --target mount.rocksfs rocksfs man_pages

echo "==> packaging (cpack -G DEB)"
rm -f "$build_dir"/package/rocksfs_*.deb
if ! (cd "$build_dir" && cpack -G DEB) >"$build_dir/cpack.log" 2>&1; then
  cat "$build_dir/cpack.log" >&2
  echo "package.sh: cpack failed (log: $build_dir/cpack.log)" >&2
  exit 1
fi
debs=("$build_dir"/package/rocksfs_*.deb)
if (( ${#debs[@]} != 1 )) || [[ ! -f ${debs[0]} ]]; then
  echo "package.sh: cpack made no single rocksfs_*.deb in $build_dir/package" >&2
  exit 1
fi
deb=$output_dir/$(basename "${debs[0]}")
if [[ $output_dir != "$build_dir/package" ]]; then
  rm -f "$output_dir"/rocksfs_*.deb
  cp "${debs[0]}" "$deb"
fi

if (( lintian )); then
  echo "==> lintian"
  # Errors fail the build; warnings and notes are shown.
  lintian --fail-on error --display-info "$deb"
fi

echo "==> $deb"
dpkg-deb --field "$deb" Package Version Architecture Depends
