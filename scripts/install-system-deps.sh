#!/usr/bin/env bash
# Installs the Debian packages the integration tests need (MIT Kerberos KDC and clients, kcat with
# the Cyrus GSSAPI plugin, faketime for the clock-skew test, Java + Maven for the Kafka broker,
# Mosquitto 2 for the mqtt source tests, mosquitto_pub / mosquitto_sub for the MQTT 5 client tests, Chromium for the dashboard's browser tests — driven by
# playwright-core, which never downloads a browser of its own).
# Idempotent; needs root (or sudo). Safe to run on a developer machine.
set -euo pipefail
PKGS=(mosquitto mosquitto-clients python3-venv iproute2 krb5-kdc krb5-admin-server krb5-user libkrb5-dev kcat libsasl2-modules-gssapi-mit faketime openjdk-17-jre-headless maven chromium)
missing=()
for p in "${PKGS[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "system packages present: ${PKGS[*]}"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
