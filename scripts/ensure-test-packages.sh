#!/usr/bin/env bash
# Installs the Debian packages the test suite drives as real peers, if any is missing.
set -euo pipefail
need=()
command -v socat >/dev/null || need+=(socat)
{ command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ]; } || need+=(mosquitto)
command -v mosquitto_pub >/dev/null || need+=(mosquitto-clients)
command -v rb >/dev/null || need+=(lrzsz)
command -v stm32flash >/dev/null || need+=(stm32flash)
command -v chromium >/dev/null || need+=(chromium)
command -v curl >/dev/null || need+=(curl)
command -v openssl >/dev/null || need+=(openssl)
# PostgreSQL server (initdb, pg_ctl, psql) for the records replication tests
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
# an independent CSV parser for the records export tests
command -v python3 >/dev/null || need+=(python3)
# CJK glyphs for the zh-CN screenshots of the renderer tests (Chromium shows empty boxes without them)
dpkg -s fonts-wqy-microhei >/dev/null 2>&1 || need+=(fonts-wqy-microhei)
[ ${#need[@]} -eq 0 ] && exit 0
echo "installing test packages: ${need[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
