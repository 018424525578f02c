#!/bin/sh
# Runs one fuzz target for SECONDS (default 600) in one process (one core),
# its corpus seeded from the repository's own files and fuzz/seeds, with a
# dictionary of the format's words: `fuzz/run.sh import_csv 600`.
# cargo-fuzz wants nightly; RUSTC_BOOTSTRAP=1 lets the stable toolchain
# take its -Z flags (AddressSanitizer included). See docs/fuzzing.md.
set -eu
cd "$(dirname "$0")"
target=$1
seconds=${2:-600}
corpus=corpus/$target
mkdir -p "$corpus"
case $target in
    import_csv) cp ../tests/fixtures/*.csv "$corpus"/; dict=csv ;;
    config) cp ../config.example.toml "$corpus"/; dict=toml ;;
    scenario) cp ../assets/demo/scenario.toml "$corpus"/; dict=toml ;;
    server_batch) dict=json ;;
    *) dict= ;;
esac
cp seeds/"$target"/* "$corpus"/
dict_flag=${dict:+-dict=dicts/$dict.dict}
RUSTC_BOOTSTRAP=1 exec nice -n 10 cargo fuzz run "$target" "$corpus" -- \
    -max_total_time="$seconds" -print_final_stats=1 $dict_flag
