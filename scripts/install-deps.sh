#!/usr/bin/env bash
# Installs what certsched needs to build, test and run, from Debian 12's archive.
# Idempotent: safe to run again. Run as root.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
  ca-certificates cmake make g++ ccache pkg-config \
  librocksdb-dev rocksdb-tools libssl-dev openssl libboost-dev libcereal-dev libspdlog-dev \
  libgtest-dev libcli11-dev nlohmann-json3-dev \
  util-linux faketime nginx-light python3-aiosmtpd libcurl4-openssl-dev curl \
  libsystemd-dev systemd prometheus-cpp-dev prometheus chromium \
  libpq-dev postgresql-15 postgresql-client-15 \
  clang-14 libclang-rt-14-dev >/dev/null
echo "install-deps: Debian packages are installed"
