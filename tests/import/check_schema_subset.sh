#!/usr/bin/env bash
# Checks tte's TFLite schema subset against TFLite's own schema: every field tte declares must sit in
# the same vtable slot, with the same type, as in TFLite's schema, and every union member and enum
# value tte names must carry the same number (placeholder tables excepted). Both schemas are compiled by flatc into WORK and their generated headers compared.
# Usage: check_schema_subset.sh FLATC SUBSET_FBS REFERENCE_FBS WORK
set -euo pipefail
flatc=$1 subset=$2 reference=$3 work=$4
if [[ ! -f "$reference" ]]; then
  echo "SKIPPED: reference schema $reference not found (../shared absent)"
  exit 0
fi
rm -rf "$work" && mkdir -p "$work/sub" "$work/ref"
# flatc 2.0.8 does not accept `(deprecated)` on enum values, which the newest schema uses.
sed 's/ (deprecated)\(,\| {\)/\1/' "$reference" > "$work/ref/schema.fbs"
"$flatc" --cpp -o "$work/sub" "$subset"
"$flatc" --cpp -o "$work/ref" "$work/ref/schema.fbs"
# One line per fact: "<Table>.VT_<FIELD> <slot>", "<Table>.VT_<FIELD>:type <C++ type of its accessor>"
# and "<Enum>_<Member> <number>".
facts() {
  awk '
    /^struct [A-Za-z0-9_]+ FLATBUFFERS_FINAL_CLASS : private flatbuffers::Table/ { t = $2 }
    t != "" && /^    VT_[A-Z0-9_]+ = [0-9]+/ { v = $3; sub(",", "", v); print t "." $1, v }
    /^enum [A-Za-z0-9_]+ : / { e = $2; in_enum = 1; next }
    in_enum && /^};/ { in_enum = 0 }
    in_enum && /^  [A-Za-z0-9_]+ = -?[0-9]+/ { v = $3; sub(",", "", v); print $1, v }
    t != "" && match($0, /(GetField|GetPointer)<.*>\(VT_[A-Z0-9_]+/) {
      s = substr($0, RSTART, RLENGTH); f = s; sub(/.*\(/, "", f)
      sub(/^(GetField|GetPointer)</, "", s); sub(/>\(VT_[A-Z0-9_]+$/, "", s)
      gsub(/(tte::)?(tflite::)?(fb::)?/, "", s); gsub(/ /, "", s)
      print t "." f ":type", s
    }
  ' "$1" | sort -u
}
facts "$work/sub/"*_generated.h > "$work/sub.facts"
facts "$work/ref/schema_generated.h" > "$work/ref.facts"
# Placeholder tables and the generated _MIN/_MAX enum bounds have no counterpart to compare.
awk '
  NR == FNR { ref[$1] = $2; next }
  /Placeholder/ || $1 ~ /_(MIN|MAX)$/ { next }
  { n++; if (!($1 in ref) || ref[$1] != $2) { bad = 1; print "MISMATCH: " $1 " is " $2 " in tte'"'"'s subset, \"" ($1 in ref ? ref[$1] : "absent") "\" in TFLite'"'"'s schema" } }
  END { print "checked " n " slots, types, union members and enum values against TFLite'"'"'s schema"; exit bad }
' "$work/ref.facts" "$work/sub.facts"
