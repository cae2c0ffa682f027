#!/usr/bin/env bash
# install_consumers.sh - installs the build into a temporary prefix and
# builds a program against it the two documented ways: pkg-config, and
# CMake's find_package(orthotope). Both programs must run. Usage:
#   install_consumers.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1 source=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
cmake --install "$build" --prefix "$prefix" >/dev/null
for f in lib/liborthotope.so include/orthotope.h lib/pkgconfig/orthotope.pc \
         lib/cmake/orthotope/orthotopeConfig.cmake; do
  [ -e "$prefix/$f" ] || { echo "install_consumers.sh: $f not installed" >&2; exit 1; }
done

# pkg-config
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
cc "$source/examples/api_tour.c" $(pkg-config --cflags --libs orthotope) \
   -Wl,-rpath,"$prefix/lib" -o "$work/tour-pc"
"$work/tour-pc" | grep -q "free small again: double_free"

# find_package
mkdir -p "$work/consumer"
cp "$source/examples/api_tour.c" "$work/consumer/"
cat > "$work/consumer/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.20)
project(consumer C)
find_package(orthotope 0.1 REQUIRED)
add_executable(tour api_tour.c)
target_link_libraries(tour PRIVATE orthotope::orthotope)
CMAKE
cmake -S "$work/consumer" -B "$work/consumer/build" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/consumer/build" >/dev/null
"$work/consumer/build/tour" | grep -q "free small again: double_free"
echo "install_consumers.sh: pkg-config and find_package consumers built and ran"
