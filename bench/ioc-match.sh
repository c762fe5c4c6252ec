#!/usr/bin/env bash
# Micro-benchmarks of ferret-ioc's matcher (divan): 100,000 SHA-256 indicators and the
# signature-base file-name IOC set. Prints the machine load before and after, since the
# figures mean little on a busy machine.
#
#   bench/ioc-match.sh [CORPUS_DIR]
#
# CORPUS_DIR defaults to ../shared/corpus beside the repository; without it the
# signature-base benches measure nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
corpus="${1:-$(pwd)/../shared/corpus}"
echo "load before: $(uptime)"
FERRET_CORPUS="$corpus" cargo bench -p ferret-ioc --bench match
echo "load after: $(uptime)"
