#!/usr/bin/env bash
# Nv's one entry point for newcomers and CI.
#   ./build.sh run [nv args]   build and run the host (embedded SQLite default, no server needed)
#   ./build.sh test            build and run every test project; ends with "N passed, N failed, N skipped"
#   ./build.sh bench [args]    run the benchmarks (Release); see README.md for the scenarios
#   ./build.sh pack [args]     NuGet packages of Nv.Wal, Nv.DbWriter, Nv.Audit and Nv.Host in artifacts/packages (Release)
set -euo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

cmd="${1:-test}"
[ $# -gt 0 ] && shift

case "$cmd" in
  run)
    # dotnet run starts the host in the project's directory: keep the default data under ./data of the repository.
    export NV_DATA_DIR="${NV_DATA_DIR:-$PWD/data}"
    exec dotnet run --project src/Nv.Cli -c Release -- "$@"
    ;;
  bench)
    exec dotnet run --project tests/benchmarks -c Release -- "$@"
    ;;
  pack)
    # Version: VersionPrefix in Directory.Build.props. NvPack=true builds with ContinuousIntegrationBuild (no local paths in
    # the assemblies), so the same commit gives the same packages anywhere. Extra arguments go to dotnet pack (--no-build).
    mkdir -p artifacts/packages
    for proj in src/Nv.Wal src/Nv.DbWriter src/Nv.Audit src/Nv.Host; do
      dotnet pack "$proj" -c Release -nologo -v quiet -o artifacts/packages -p:NvPack=true "$@"
    done
    ls -1 artifacts/packages/*.nupkg
    ;;
  test)
    dotnet build Nv.sln -c Release -nologo -v quiet
    log="$(mktemp)"
    status=0
    for proj in tests/unit tests/integration tests/smoke tests/samples; do
      name="$(basename "$proj"/*.csproj .csproj)"
      echo "== $name"
      if ! dotnet test "$proj" -c Release --no-build -nologo --logger "console;verbosity=normal" 2>&1 | tee -a "$log"; then
        status=1
      fi
    done
    # Total the per-project summaries: "Total tests: N" followed by indented "Passed: N", "Failed: N", "Skipped: N".
    read -r passed failed skipped < <(awk '
      /^Total tests:/ { in_summary = 1; next }
      in_summary && /^[[:space:]]+Passed:/  { p += $2; next }
      in_summary && /^[[:space:]]+Failed:/  { f += $2; next }
      in_summary && /^[[:space:]]+Skipped:/ { s += $2; next }
      { in_summary = 0 }
      END { print p + 0, f + 0, s + 0 }' "$log")
    rm -f "$log"
    echo "$passed passed, $failed failed, $skipped skipped"
    [ "$failed" -eq 0 ] || status=1
    exit "$status"
    ;;
  *)
    echo "usage: ./build.sh run|test|bench|pack [args]" >&2
    exit 2
    ;;
esac
