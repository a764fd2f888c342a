#!/usr/bin/env bash
# Regenerates proto/gen/ (TypeScript, ts-proto) from our .proto files with /usr/bin/protoc.
# Reproducible: same protoc, same ts-proto version (package-lock), output wiped first.
set -euo pipefail
cd "$(dirname "$0")/.."
PROTOC="${PROTOC:-/usr/bin/protoc}"
OUT=proto/gen
rm -rf "$OUT"
mkdir -p "$OUT"
mapfile -t FILES < <(cd proto && find . -name '*.proto' -not -path './gen/*' | sed 's|^\./||' | LC_ALL=C sort)
"$PROTOC" -I proto \
  --plugin=protoc-gen-ts_proto=./node_modules/.bin/protoc-gen-ts_proto \
  --ts_proto_out="$OUT" \
  --ts_proto_opt=outputServices=grpc-js,esModuleInterop=true,importSuffix=.ts,forceLong=bigint,useDate=false,useOptionals=none,exportCommonSymbols=false,outputTypeRegistry=false \
  "${FILES[@]}"
echo "generated $(find "$OUT" -name '*.ts' | wc -l) files in $OUT"
