#!/usr/bin/env bash
# Developer entry point.
#   ./build.sh demo                   install QEMU, build the guest image, boot the sample guest with `vm run`
#   ./build.sh test [--results DIR]   build everything and run the whole test suite (what CI runs)
#   ./build.sh pack                   build the NuGet package into nuget/
#   ./build.sh bench [filter]         run the BenchmarkDotNet benchmarks (Release)
set -euo pipefail
cd "$(dirname "$0")"
cmd=${1:-test}; shift || true
case "$cmd" in
  test)
    results=TestResults
    if [ "${1:-}" = "--results" ]; then results=$2; fi
    dotnet build Virtualization.Core.sln -c Release
    dotnet test tests/Virtualization.Core.Tests -c Release --no-build \
      --logger "trx;LogFileName=tests.trx" --logger "console;verbosity=normal" --results-directory "$results" \
      -- RunConfiguration.TestSessionTimeout=1800000
    ;;
  demo)
    guest/build-image.sh
    dotnet run --project src/Virtualization.Cli -c Release -- run guest/sample-vm.json --vmm qemu --accel tcg
    ;;
  pack)
    # A package must carry vcore-exec for both linux-x64 and linux-arm64 (needs gcc-aarch64-linux-gnu).
    dotnet pack src/Virtualization.Core -c Release -o nuget -p:VcoreRequireAllNativeHelpers=true
    dotnet pack src/Virtualization.Cli -c Release -o nuget -p:VcoreRequireAllNativeHelpers=true
    ;;
  bench)
    dotnet run -c Release --project benchmarks/Virtualization.Core.Benchmarks -- --filter "${1:-*}"
    ;;
  *)
    echo "usage: $0 demo|test|pack|bench" >&2; exit 2 ;;
esac
