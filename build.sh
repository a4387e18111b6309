#!/usr/bin/env bash
# Developer entry point.
#   ./build.sh demo                   install QEMU, build the guest image, boot the sample guest with `vm run`
#   ./build.sh test [--results DIR]   install the test tools (as root), build everything, run the whole suite (what CI runs)
#   ./build.sh install                install the test tools and build the guest image; fail if that is impossible (CI)
#   ./build.sh pack                   build the NuGet packages (Virtualization.Core, .Hosting, the vm tool) into nuget/
#                                     (VCORE_REPOSITORY_URL: the repository URL they name; default: this clone's
#                                     https `origin`, else the placeholder in Directory.Build.props)
#   ./build.sh bench [filter]         run the BenchmarkDotNet benchmarks (Release)
#   ./build.sh mutate [folder] [test-filter]
#                                     mutation testing (Stryker.NET) of src/Virtualization.Core/<folder> (default Lifecycle)
#                                     with the fast tests only, narrowed by an optional `dotnet test --filter` expression
#                                     (e.g. FullyQualifiedName~.Disks.); report under StrykerOutput/<folder>. Not run in CI.
set -euo pipefail
cd "$(dirname "$0")"
cmd=${1:-test}; shift || true

# What the test suite uses on this machine: a C compiler and kernel headers (vcore-exec, the stub VMM, a layout test),
# the arm64 cross compiler (vcore-exec for linux-arm64), gdisk/fdisk (GPT checks), QEMU and the guest image (end-to-end).
# Installed when missing and this is a root shell on Debian/Ubuntu (`test` and CI's .ci/run, through `install`);
# otherwise `test` prints what to install, and the tests that need a missing tool skip and say why.
test_packages="gcc libc6-dev linux-libc-dev gcc-aarch64-linux-gnu gdisk fdisk util-linux"
# install_test_tools strict|lenient: strict (CI) fails when anything cannot be installed; lenient (`test`) goes on.
install_test_tools() {
  local mode=$1
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    echo "build.sh: not a root shell on Debian/Ubuntu, so the test tools are not installed. The tests that need them" >&2
    echo "  skip unless you install: apt-get install $test_packages (and run guest/build-image.sh as root)" >&2
    [ "$mode" = lenient ]; return
  fi
  local missing=""
  for p in $test_packages; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
  if [ -n "$missing" ]; then
    echo "build.sh: installing$missing" >&2
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing; } >/dev/null; then
      echo "build.sh: apt-get install$missing failed" >&2
      [ "$mode" = lenient ] || return 1
    fi
  fi
  if ! guest/build-image.sh >/dev/null; then
    echo "build.sh: the guest image build failed (the QEMU end-to-end tests need it)" >&2
    [ "$mode" = lenient ] || return 1
  fi
}

case "$cmd" in
  test)
    results=TestResults
    if [ "${1:-}" = "--results" ]; then results=$2; fi
    install_test_tools lenient
    dotnet build Virtualization.Core.sln -c Release
    dotnet test tests/Virtualization.Core.Tests -c Release --no-build \
      --logger "trx;LogFileName=tests.trx" --logger "console;verbosity=normal" --results-directory "$results" \
      -- RunConfiguration.TestSessionTimeout=1800000
    ;;
  install)
    install_test_tools strict
    ;;
  demo)
    guest/build-image.sh
    dotnet run --project src/Virtualization.Cli -c Release -- run guest/sample-vm.json --vmm qemu --accel tcg
    ;;
  pack)
    # A package must carry vcore-exec for both linux-x64 and linux-arm64 (needs gcc-aarch64-linux-gnu).
    url=${VCORE_REPOSITORY_URL:-}
    if [ -z "$url" ]; then
      url=$(git remote get-url origin 2>/dev/null || true)
      case "$url" in https://*) url=${url%.git} ;; *) url="" ;; esac
    fi
    dotnet pack src/Virtualization.Core -c Release -o nuget -p:VcoreRequireAllNativeHelpers=true ${url:+-p:VcoreRepositoryUrl=$url}
    dotnet pack src/Virtualization.Core.Hosting -c Release -o nuget -p:VcoreRequireAllNativeHelpers=true ${url:+-p:VcoreRepositoryUrl=$url}
    dotnet pack src/Virtualization.Cli -c Release -o nuget -p:VcoreRequireAllNativeHelpers=true ${url:+-p:VcoreRepositoryUrl=$url}
    ;;
  mutate)
    # Folder of src/Virtualization.Core to mutate (Lifecycle, Vmm, Crosvm, Qemu, Disks, Config, ...). The fast tests
    # only (no QEMU E2E, soak, model or Slow tests): see tests/Virtualization.Core.Tests/stryker-config.json.
    folder=${1:-Lifecycle}
    if [ ! -d "src/Virtualization.Core/$folder" ]; then
      echo "build.sh mutate: no folder src/Virtualization.Core/$folder" >&2; exit 2
    fi
    dotnet tool restore
    out="$PWD/StrykerOutput/$folder"
    cd tests/Virtualization.Core.Tests
    filter="Category!=E2E&Category!=Soak&Category!=Model&Category!=Slow"
    if [ -n "${2:-}" ]; then filter="($filter)&($2)"; fi
    dotnet stryker --mutate "**/$folder/**/*.cs" --concurrency "${STRYKER_CONCURRENCY:-2}" --output "$out" \
      --test-case-filter "$filter" --skip-version-check
    ;;
  bench)
    dotnet run -c Release --project benchmarks/Virtualization.Core.Benchmarks -- --filter "${1:-*}"
    ;;
  *)
    echo "usage: $0 demo|test|install|pack|bench|mutate" >&2; exit 2 ;;
esac
