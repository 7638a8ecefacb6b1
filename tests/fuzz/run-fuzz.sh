#!/bin/sh
# make check: runs each fuzz target for FUZZ_SECONDS (default 5) over its
# seed corpus.  New inputs found go to a scratch directory, never into the
# corpus in the source tree.
set -eu
srcdir=${srcdir:-.}
secs=${FUZZ_SECONDS:-5}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for t in request batch scram; do
    mkdir -p "$scratch/$t"
    if ! ./tests/fuzz/fuzz_$t -max_total_time="$secs" -print_final_stats=1 \
            "$scratch/$t" "$srcdir/tests/fuzz/corpus/$t" > "$scratch/$t.log" 2>&1; then
        cat "$scratch/$t.log"
        echo "fuzz_$t failed"
        exit 1
    fi
    tail -n 3 "$scratch/$t.log"
done
