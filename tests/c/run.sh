#!/usr/bin/env bash
# Builds the C library (crate ffi/, debug profile: quick to build, and the
# sanitizers want the debug information anyway), compiles each C program under
# tests/c/ against include/jifen.h and BOTH the static and the shared library,
# with -std=c11 -Wall -Wextra -Wpedantic -Werror and AddressSanitizer +
# UndefinedBehaviorSanitizer, and runs them all. Exits non-zero on any failure.
#
# Usage: tests/c/run.sh        (from anywhere; needs cargo, cc, and cJSON,
#                               which it installs with apt-get when missing)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
build="$root/tests/c/build"
cc="${CC:-cc}"

# cJSON (Debian's libcjson-dev) reads the scenario files.
if ! echo '#include <cjson/cJSON.h>' | "$cc" -E -x c - >/dev/null 2>&1; then
    echo "== installing libcjson-dev"
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        sudo="sudo -n"
    fi
    $sudo apt-get update -qq </dev/null
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
        libcjson-dev </dev/null
fi

echo "== building the library (cargo build -p jifen-ffi)"
cargo build --quiet -p jifen-ffi </dev/null
target_dir="$(cargo metadata --format-version 1 --no-deps </dev/null |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
lib_dir="${target_dir:-$root/target}/debug"
static_lib="$lib_dir/libjifen.a"
shared_lib="$lib_dir/libjifen.so"
for lib in "$static_lib" "$shared_lib"; do
    [ -f "$lib" ] || { echo "missing $lib" >&2; exit 1; }
done

mkdir -p "$build"
cflags=(-std=c11 -Wall -Wextra -Wpedantic -Werror -g -O1 -fno-omit-frame-pointer
    -fsanitize=address,undefined -fno-sanitize-recover=all -I"$root/include")
# The shared library is copied beside the programs so each run loads this build.
cp "$shared_lib" "$build/"

failed=0
for source in "$root"/tests/c/*.c; do
    name="$(basename "$source" .c)"
    echo "== compiling $name (static, shared)"
    "$cc" "${cflags[@]}" "$source" "$static_lib" -lcjson -lpthread -ldl -lm \
        -o "$build/$name-static"
    "$cc" "${cflags[@]}" "$source" -L"$build" -ljifen -Wl,-rpath,'$ORIGIN' -lcjson -lpthread \
        -o "$build/$name-shared"
done

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
for source in "$root"/tests/c/*.c; do
    name="$(basename "$source" .c)"
    for link in static shared; do
        echo "== running $name ($link)"
        args=()
        [ "$name" = scenarios ] && args=("$root/tests/scenarios")
        if ! "$build/$name-$link" "${args[@]}" </dev/null; then
            echo "!! $name ($link) failed" >&2
            failed=1
        fi
    done
done

if [ "$failed" -ne 0 ]; then
    echo "C tests FAILED" >&2
    exit 1
fi
echo "C tests passed"
