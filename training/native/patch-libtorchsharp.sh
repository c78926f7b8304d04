#!/usr/bin/env bash
# Makes TorchSharp's native bridge load where the system libstdc++ is older than GCC 13's (Debian 12):
# builds the one-function shim beside it and points the bridge's single GLIBCXX_3.4.32 reference at the shim.
# Idempotent; a no-op where libstdc++ already provides GLIBCXX_3.4.32. Usage: patch-libtorchsharp.sh OUTPUT_DIR
set -euo pipefail
out=${1:?usage: patch-libtorchsharp.sh OUTPUT_DIR}
here=$(cd "$(dirname "$0")" && pwd)
libstdcxx=$(/sbin/ldconfig -p 2>/dev/null | awk '/libstdc\+\+\.so\.6 .*x86-64/ {print $NF; exit}')
if [ -n "$libstdcxx" ] && grep -q GLIBCXX_3.4.32 "$libstdcxx" 2>/dev/null; then
  exit 0
fi
for tool in patchelf gcc g++ readelf; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "patch-libtorchsharp: '$tool' is needed to load TorchSharp on this system (apt-get install patchelf g++ binutils); TorchSharp will not load." >&2
    exit 0
  fi
done
tools=$(mktemp -d)
trap 'rm -rf "$tools"' EXIT
gcc -O2 -o "$tools/weaken_version" "$here/weaken_version.c"
find "$out" -name libLibTorchSharp.so -print0 | while IFS= read -r -d '' lib; do
  dir=$(dirname "$lib")
  if [ ! -f "$dir/libvcut_iosinit.so" ] || [ "$here/ios_base_library_init.cpp" -nt "$dir/libvcut_iosinit.so" ]; then
    g++ -shared -fPIC -O2 -o "$dir/libvcut_iosinit.so" "$here/ios_base_library_init.cpp"
  fi
  if ! readelf -d "$lib" | grep -q libvcut_iosinit.so; then
    # The one symbol of that version now binds, unversioned, to the shim; the version itself becomes optional.
    patchelf --clear-symbol-version _ZSt21ios_base_library_initv "$lib"
    patchelf --add-needed libvcut_iosinit.so "$lib"
    "$tools/weaken_version" "$lib" GLIBCXX_3.4.32
  fi
done
