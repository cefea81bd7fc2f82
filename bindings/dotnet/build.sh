#!/usr/bin/env bash
# Builds the .NET binding into $OUT (default $CARGO_TARGET_DIR/dotnet):
#   StackBill/            the PowerShell module: StackBill.psd1, StackBill.psm1,
#                         StackBill.dll and the native libstackbill_ffi
#   StackBill.Tests.exe   the test runner (with StackBill.dll and the native library
#                         beside it, and a runtimeconfig so CoreCLR runs it unchanged)
# PROFILE=release builds the native library optimised (default: debug). Needs cargo and
# mono's mcs (C# 7.2, .NET Framework 4.x profile).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
profile="${PROFILE:-debug}"
out="${OUT:-$CARGO_TARGET_DIR/dotnet}"

flags=()
[ "$profile" = release ] && flags+=(--release)
cargo build --quiet -p stackbill-ffi --lib "${flags[@]}" --manifest-path "$root/Cargo.toml"
case "$(uname -s)" in
  Darwin) native="libstackbill_ffi.dylib" ;;
  *) native="libstackbill_ffi.so" ;;
esac

mkdir -p "$out/StackBill"
mcs -nologo -langversion:7.2 -warnaserror+ -optimize+ -unsafe+ -target:library -r:System.Core.dll \
  -out:"$out/StackBill/StackBill.dll" "$here"/StackBill/*.cs
cp "$CARGO_TARGET_DIR/$profile/$native" "$here/powershell/StackBill.psd1" "$here/powershell/StackBill.psm1" "$out/StackBill/"

cp "$out/StackBill/StackBill.dll" "$out/StackBill/$native" "$out/"
mcs -nologo -langversion:7.2 -warnaserror+ -target:exe -r:System.Core.dll -r:"$out/StackBill.dll" \
  -out:"$out/StackBill.Tests.exe" "$here"/tests/*.cs
cat > "$out/StackBill.Tests.runtimeconfig.json" <<'JSON'
{"runtimeOptions": {"framework": {"name": "Microsoft.NETCore.App", "version": "3.1.0"}, "rollForward": "LatestMajor"}}
JSON
echo "$out"
