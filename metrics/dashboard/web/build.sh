#!/bin/sh
# Rebuilds the dashboard's vendored assets (../assets/uPlot.*) from
# package-lock.json, byte for byte: npm ci installs exactly the locked,
# integrity-checked tarball, and the files are copied as published. Run it
# after changing the pinned version in package.json (then `npm install
# --package-lock-only` first); check with `git diff --exit-code ../assets`.
# The page's own script, ../assets/dashboard.js, is source, not built.
set -eu
cd "$(dirname "$0")"
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
out=../assets
dist=node_modules/uplot/dist
cp "$dist/uPlot.iife.min.js" "$out/uPlot.iife.min.js"
cp "$dist/uPlot.min.css" "$out/uPlot.min.css"
cp node_modules/uplot/LICENSE "$out/uPlot.LICENSE"
version=$(node -p 'require("./node_modules/uplot/package.json").version')
printf 'uPlot %s (MIT, see uPlot.LICENSE), from the npm registry through package-lock.json; rebuilt by web/build.sh.\n' "$version" >"$out/uPlot.VERSION"
