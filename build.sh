#!/usr/bin/env bash
# Restore, build and test MLNetReflectedDiffusion. The TorchSharp native-loading fix runs inside the
# build (Directory.Build.targets), so a fresh clone needs nothing else.
#   ./build.sh                 restore, build (Release) and test
#   ./build.sh --no-test       restore and build only
#   ./build.sh --test-only     test the last build
#   ./build.sh --filter EXPR   pass a test filter (dotnet test --filter)
#   ./build.sh --configuration Debug
set -euo pipefail
cd "$(dirname "$0")"

configuration=Release
do_build=1
do_test=1
filter=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --no-test) do_test=0 ;;
    --test-only) do_build=0 ;;
    --no-build) do_build=0 ;;
    --filter) filter="$2"; shift ;;
    -c|--configuration) configuration="$2"; shift ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "build.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

if [[ $do_build == 1 ]]; then
  dotnet restore MLNetReflectedDiffusion.sln
  dotnet build MLNetReflectedDiffusion.sln -c "$configuration" --no-restore -m:1
fi
if [[ $do_test == 1 ]]; then
  # -m:1 runs the test projects one after another: two libtorch processes on two cores spin against each other's
  # OpenMP threads (a 20 s training test took 4 min beside another test host). --blame names the test that was
  # running if a test host dies.
  # TorchSharp's Scalar holds a raw handle and has a finalizer, so a Scalar converted implicitly (every a + b passes
  # alpha = 1 that way) can be freed by the finalizer thread while libtorch still reads it, when a GC lands inside the
  # native call: seen here as 'Expected false to be true' from c10::Scalar::toDouble, about once a suite run on a
  # 2-core AVX-512 machine. A 32 MiB gen0 budget makes GCs about 16 times rarer (measured with
  # 2.5 GB of small allocations: 1,224 gen0 GCs by default, 76 at 32 MiB), and with them the chance; only the environment
  # variable sets it (runtimeconfig.json does not).
  export DOTNET_GCgen0size="${DOTNET_GCgen0size:-0x2000000}"
  args=(test MLNetReflectedDiffusion.sln -c "$configuration" --no-build -m:1 --blame --logger "console;verbosity=normal")
  [[ -n "$filter" ]] && args+=(--filter "$filter")
  dotnet "${args[@]}"
fi
