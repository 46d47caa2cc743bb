#!/usr/bin/env bash
# Builds the two base images deploy/Dockerfile needs, from a Debian mirror, for hosts that
# cannot pull from Docker Hub (firewalls, private registries):
#   voxguard-base/python  Debian bookworm with its Python 3.11 and pip (stands in for
#                         python:3.11-slim-bookworm)
#   voxguard-base/node    the same system with this host's Node.js and npm, 20 or newer
#                         (stands in for node:22-bookworm-slim; Vite needs Node 20)
# Then: docker build --network host --build-arg NODE_IMAGE=voxguard-base/node \
#           --build-arg PYTHON_IMAGE=voxguard-base/python -f deploy/Dockerfile -t voxguard .
# Needs root, debootstrap and a running Docker daemon. Usage: deploy/base-images.sh [MIRROR]
set -euo pipefail

MIRROR="${1:-http://deb.debian.org/debian}"
for tool in debootstrap docker node npm; do
    command -v "$tool" >/dev/null || { echo "base-images.sh: $tool is not installed" >&2; exit 2; }
done
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$node_major" -lt 20 ]; then
    echo "base-images.sh: Node.js $node_major here; the web bundle needs 20 or newer" >&2
    exit 2
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
root="$work/rootfs"
debootstrap --variant=minbase --include=ca-certificates,python3,python3-pip,python-is-python3 \
    bookworm "$root" "$MIRROR"
# The official image's Python lives in /usr/local and pip installs into it; Debian marks its
# own Python as externally managed, which an image that only runs VoxGuard does not need.
rm -f "$root"/usr/lib/python3*/EXTERNALLY-MANAGED
# Certificate authorities this host adds to Debian's (a TLS-inspecting proxy's, a company
# CA): the image builds fetch from PyPI, npm and Debian through the same network.
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
    chroot "$root" update-ca-certificates >/dev/null
fi
chroot "$root" apt-get clean
rm -rf "$root"/var/lib/apt/lists/*

bundle=/etc/ssl/certs/ca-certificates.crt  # Debian's store, with the CAs added above
changes=(--change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    --change "ENV LANG=C.UTF-8" --change "ENV PIP_CERT=$bundle"
    --change "ENV NODE_EXTRA_CA_CERTS=$bundle" --change 'CMD ["bash"]')
tar -C "$root" -c . | docker import "${changes[@]}" - voxguard-base/python

# Node.js: this host's binary and npm over the same system (libstdc++ is already there).
install -m 0755 "$(command -v node)" "$root/usr/local/bin/node"
npm_root="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"
mkdir -p "$root/usr/local/lib/node_modules"
cp -a "$npm_root" "$root/usr/local/lib/node_modules/npm"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
tar -C "$root" -c . | docker import "${changes[@]}" - voxguard-base/node

docker run --rm voxguard-base/python python -c "import sys, pip; print('python', sys.version.split()[0], 'pip', pip.__version__)"
docker run --rm voxguard-base/node sh -c 'echo node $(node --version) npm $(npm --version)'
