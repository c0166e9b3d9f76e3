#!/usr/bin/env bash
# The end-to-end browser test (tests/browser/e2e.test.mjs): `serve all --dev` and its example
# login UI in Debian's headless Chromium, driven by playwright-core. Installs chromium and
# chromium-driver with apt-get when missing (playwright-core downloads no browser), builds
# the binary, installs the pinned npm packages and runs the test with node's test runner.
# Screenshots go to target/browser-screenshots/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

if ! [ -x /usr/bin/chromium ] || ! command -v chromedriver >/dev/null 2>&1; then
    echo "installing chromium and chromium-driver"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver
fi
/usr/bin/chromium --version
for tool in node npm; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "error: $tool is not installed; the browser test runs on Node.js" >&2
        exit 1
    fi
done
node --version

cargo build --locked
(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
rm -rf target/browser-screenshots
mkdir -p target/browser-screenshots
cd tests/browser
node --test e2e.test.mjs
