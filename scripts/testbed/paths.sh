# shellcheck shell=bash
# Sourced by the test bed's scripts: the checkout, the test bed's own directory and the build cache, each overridable
# as the scripts document (TESTBED_DIR, TESTBED_CACHE).
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TESTBED_DIR="${TESTBED_DIR:-$REPO/.testbed}"
CACHE="${TESTBED_CACHE:-$HOME/.cache/bootstrap-testbed}"
BIN="$CACHE/bin"
