#!/usr/bin/env bash
# Sigma matcher micro-benchmarks (divan): synthetic rules, and the SigmaHQ Windows rules over the
# SigmaHQ regression events when the shared corpus is beside the repository (or FERRET_CORPUS
# points at it). Prints the machine load with the figures.
set -euo pipefail
cd "$(dirname "$0")/.."
uptime
cargo bench -p ferret-sigma --bench eval "$@"
uptime
