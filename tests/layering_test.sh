#!/usr/bin/env bash
# The layering check (ctest `layering`, label unit): every `#include "<dir>/..."` in src/ must follow the link
# graph of the layer libraries (src/CMakeLists.txt, docs/DESIGN.md "Layers").
#
# Usage: tests/layering_test.sh SRC_DIR LAYER=DEP,DEP ... (the layers lowest first, each with the layers its
# tte_<layer> library links; CMake passes the graph it built, TTE_LAYER_GRAPH). It fails, naming the file, the
# line and the include, when
#   - a file of src/<layer> includes a higher layer, or a lower one its library does not link;
#   - an include climbs out of its directory ("../"), which would hide the layer it reaches;
#   - a library links a layer that is not below it, or one none of its files includes (an unused link);
#   - src/ has a directory that is no layer (a new layer must be added to TTE_LAYERS).
set -uo pipefail

if [ $# -lt 2 ] || [ ! -d "$1" ]; then
  echo "usage: $0 SRC_DIR LAYER=DEP,DEP ..." >&2
  exit 2
fi
src=$1
shift

declare -A rank deps
order=()
for spec in "$@"; do
  layer=${spec%%=*}
  if [ -n "${rank[$layer]+x}" ]; then
    echo "layering: layer $layer is listed twice" >&2
    exit 2
  fi
  rank[$layer]=${#order[@]}
  order+=("$layer")
  deps[$layer]=" ${spec#*=} "
  deps[$layer]=${deps[$layer]//,/ }
done
chain=$(printf ' < %s' "${order[@]}")
chain=${chain:3}

errors=0
fail() {
  echo "layering: $*"
  errors=$((errors + 1))
}

for d in "$src"/*/; do
  d=$(basename "$d")
  [ -n "${rank[$d]+x}" ] || fail "src/$d is not a layer: add it to TTE_LAYERS in src/CMakeLists.txt"
done

for layer in "${order[@]}"; do
  for dep in ${deps[$layer]}; do
    if [ -z "${rank[$dep]+x}" ] || [ "${rank[$dep]}" -ge "${rank[$layer]}" ]; then
      fail "tte_$layer links tte_$dep, which is not a layer below it ($chain)"
    fi
  done
  [ -d "$src/$layer" ] || { fail "layer $layer has no directory src/$layer"; continue; }
  used=" "
  # file:line:text of every #include of every source and header of the layer.
  while IFS= read -r hit; do
    file=${hit%%:*}
    rest=${hit#*:}
    line=${rest%%:*}
    text=${rest#*:}
    [[ $text =~ include[[:space:]]*[\<\"]([^\">]*) ]] || continue
    path=${BASH_REMATCH[1]}
    where="${file#"$src"/}:$line: #include \"$path\""
    case $path in
      ../* | */../*) fail "src/$where climbs out of its directory: include \"<layer>/...\" instead"; continue ;;
    esac
    [[ $path == */* ]] || continue
    top=${path%%/*}
    [ -n "${rank[$top]+x}" ] || continue  # a system or third-party header
    [ "$top" = "$layer" ] && continue
    used+="$top "
    if [ "${rank[$top]}" -gt "${rank[$layer]}" ]; then
      fail "src/$where: $layer may not include $top, a higher layer ($chain)"
    elif [[ ${deps[$layer]} != *" $top "* ]]; then
      fail "src/$where: tte_$layer does not link tte_$top (add it in src/$layer/CMakeLists.txt)"
    fi
  done < <(grep -rnE --include='*.c' --include='*.cc' --include='*.h' --include='*.cpp' --include='*.hpp' \
             '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]' "$src/$layer" | sort -t: -k1,1 -k2,2n)
  for dep in ${deps[$layer]}; do
    [[ $used == *" $dep "* ]] || fail "tte_$layer links tte_$dep but no file of src/$layer includes it"
  done
done

if [ "$errors" -gt 0 ]; then
  echo "layering: $errors violation(s); layers, lowest first: $chain"
  exit 1
fi
echo "layering: OK, ${#order[@]} layers ($chain)"
