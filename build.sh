#!/usr/bin/env bash
# Nv's one entry point for newcomers and CI.
#   ./build.sh run [nv args]   build and run the host (embedded SQLite default, no server needed)
#   ./build.sh test            build and run every test project; ends with "N passed, N failed, N skipped"
#   ./build.sh bench [args]    run the benchmarks (Release); see README.md for the scenarios
set -euo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

cmd="${1:-test}"
[ $# -gt 0 ] && shift

case "$cmd" in
  run)
    exec dotnet run --project src/Nv.Host -c Release -- "$@"
    ;;
  bench)
    exec dotnet run --project tests/benchmarks -c Release -- "$@"
    ;;
  test)
    dotnet build Nv.sln -c Release -nologo -v quiet
    log="$(mktemp)"
    status=0
    for proj in tests/unit tests/integration tests/smoke; do
      name="$(basename "$proj"/*.csproj .csproj)"
      echo "== $name"
      if ! dotnet test "$proj" -c Release --no-build -nologo --logger "console;verbosity=normal" 2>&1 | tee -a "$log"; then
        status=1
      fi
    done
    # Total the per-project summaries ("Passed!  - Failed: 0, Passed: 13, Skipped: 0, Total: 13 ...").
    passed=0 failed=0 skipped=0
    while read -r f p s; do
      failed=$((failed + f)); passed=$((passed + p)); skipped=$((skipped + s))
    done < <(sed -n 's/.*Failed: *\([0-9]*\), Passed: *\([0-9]*\), Skipped: *\([0-9]*\), Total.*/\1 \2 \3/p' "$log")
    # At normal verbosity the runner prints a "Total tests:" block ("     Passed: N" / "     Failed: N" / "    Skipped: N") instead.
    if [ "$((passed + failed + skipped))" -eq 0 ]; then
      read -r passed failed skipped < <(awk '/^ +Passed: +[0-9]+$/ {p += $2} /^ +Failed: +[0-9]+$/ {f += $2} /^ +Skipped: +[0-9]+$/ {s += $2}
        END {print p + 0, f + 0, s + 0}' "$log")
    fi
    rm -f "$log"
    echo "$passed passed, $failed failed, $skipped skipped"
    [ "$failed" -eq 0 ] || status=1
    exit "$status"
    ;;
  *)
    echo "usage: ./build.sh run|test|bench [args]" >&2
    exit 2
    ;;
esac
