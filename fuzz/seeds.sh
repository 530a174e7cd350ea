#!/bin/sh
# Seed corpora for every fuzz target, from the bundled captures (fixtures/captures) and a few
# AWS config files. Writes fuzz/corpus/<target>/seed-* (not committed: rerun this instead).
#   fuzz/seeds.sh            # from the repository root or from fuzz/
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
corpus="$here/corpus"
mkdir -p "$corpus"
cargo run --quiet --manifest-path "$here/Cargo.toml" --bin seeds -- "$root/fixtures/captures" "$corpus"

# aws_config: config text \0 KEY=VALUE lines \0 --profile value (see fuzz_targets/aws_config.rs).
aws="$corpus/aws_config"
mkdir -p "$aws"
printf '[default]\nendpoint_url = https://s3.local.test:8443\n' > "$aws/seed-default"
printf '[profile dev]\nservices = dev-s3\n\n[services dev-s3]\ns3 =\n  endpoint_url = http://minio:9000\n\0AWS_PROFILE=dev\n\0' > "$aws/seed-services"
printf '[default]\nignore_configured_endpoint_urls = true\nendpoint_url = https://a\n\0AWS_ENDPOINT_URL_S3=https://b:9000\nAWS_ENDPOINT_URL=http://c\n\0' > "$aws/seed-ignore"
printf '[profile p]\ns3 =\n  addressing_style = path\nendpoint_url=https://x.test\n\0AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=false\n\0p' > "$aws/seed-profile-flag"
printf '# comment\n[default]\n; other\nregion=us-east-1\n[sso-session s]\nsso_region=x\n' > "$aws/seed-comments"

# decompress: the compressed fixtures (real gzip, zstd, lz4 archives, one of them cut), and the
# plain captures (the uncompressed path).
dec="$corpus/decompress"
mkdir -p "$dec"
for f in "$root"/fixtures/compressed/*; do cp "$f" "$dec/seed-$(basename "$f")"; done
cp "$root/fixtures/captures/mixed.pcap" "$dec/seed-mixed.pcap"
if command -v gzip >/dev/null; then
    gzip -1 -n -c "$root/fixtures/captures/refused.pcap" > "$dec/seed-refused.pcap.gz"
fi

for d in "$corpus"/*/; do
    printf '%-20s %4s seeds\n' "$(basename "$d")" "$(ls "$d" | wc -l)"
done
