#!/usr/bin/env bash
# check_results.sh RUN_DIR README PLOT... — a run directory is complete and matches the documentation:
# results.csv parses (every row has the header's field count, quoted fields counted as one), its header is exactly the column list
# README.md documents between its csv-columns markers, meta.json says complete, and each named plot
# exists as PNG and SVG.
set -u
dir=$1 readme=$2
shift 2
fail() { echo "check_results: $*" >&2; exit 1; }
csv="$dir/results.csv"
[ -s "$csv" ] || fail "$csv is missing or empty"
# Fields per record, RFC 4180: commas inside double quotes do not separate ("" is a quote; the
# lab's fields hold no line breaks).
fields='{ n = 1; q = 0; for (i = 1; i <= length($0); i++) { c = substr($0, i, 1); if (c == "\"") q = !q; else if (c == "," && !q) n++ } }'
nf=$(head -1 "$csv" | awk "$fields"' { print n }')
bad=$(awk -v want="$nf" "$fields"' n != want { print NR": "n" fields" }' "$csv" | head -3)
[ -z "$bad" ] || fail "$csv: rows with a field count other than the header's $nf: $bad"
rows=$(($(wc -l <"$csv") - 1))
[ "$rows" -gt 0 ] || fail "$csv has no rows"
documented=$(sed -n '/<!-- csv-columns:begin -->/,/<!-- csv-columns:end -->/p' "$readme" |
  grep -o '`[a-z_0-9]*`' | tr -d '`' | paste -sd, -)
[ -n "$documented" ] || fail "$readme documents no CSV columns between its csv-columns markers"
header=$(head -1 "$csv")
[ "$header" = "$documented" ] || fail "$csv header differs from the columns $readme documents:
  csv:    $header
  readme: $documented"
grep -q '"complete": true' "$dir/meta.json" || fail "$dir/meta.json does not say the run is complete"
for p in "$@"; do
  for ext in png svg; do
    [ -s "$dir/plots/$p.$ext" ] || fail "plot $dir/plots/$p.$ext is missing"
  done
done
echo "check_results: $csv: $rows rows, $nf documented columns; meta.json complete; $# plots as PNG and SVG"
