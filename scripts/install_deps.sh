#!/usr/bin/env bash
# Installs cimsim's build and test dependencies from Debian packages (idempotent: skips apt when
# every package is already installed). Runs apt-get through sudo when not root.
set -euo pipefail
packages=(cmake g++ make pkg-config
          libeigen3-dev libhdf5-dev libboost-program-options-dev nlohmann-json3-dev libyaml-cpp-dev libjpeg62-turbo-dev libpng-dev
          libgtest-dev libgmock-dev libbenchmark-dev libcurl4-openssl-dev zlib1g-dev libarchive-dev libssl-dev
          clang libclang-rt-14-dev hdf5-tools python3-h5py python3-matplotlib python3-numpy python3-pandas python3-pil python3-xarray util-linux)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}" >&2
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
