#!/bin/sh
# rootfs.sh BINARY CA_CERTS OUT
#
# Lays out the files of Parley's container image under OUT, so that both ways
# of building it (scripts/image.sh on the host, the golang stage of the
# Dockerfile) produce the same image:
#
#   OUT/rootfs/  copied to / owned by root:
#       bin/parley                        the static binary
#       etc/ssl/certs/ca-certificates.crt for HTTPS to hosted model APIs
#       etc/passwd, etc/group             name the non-root user 65532
#                                         (from rootfs/etc next to this script)
#       tmp/                              mode 1777: os.TempDir, SQLite temp files
#   OUT/owned/   copied to / owned by 65532:65532 (COPY --chown):
#       data/                             SQLite database (a volume)
#       models/                           GGUF models (a volume)
#       keys/                             the model service's key (a volume
#                                         shared by model and api)
#
# A named volume mounted on /data, /models or /keys starts as a copy of these
# directories, owner included, which is what lets the non-root process write
# there. Plain POSIX sh: it runs in the golang image and on any build host.
set -eu

if [ "$#" -ne 3 ]; then
	echo "usage: $0 BINARY CA_CERTS OUT" >&2
	exit 2
fi
binary=$1
ca=$2
out=$3
skel=$(dirname "$0")/rootfs

[ -f "$binary" ] || { echo "$0: no binary at $binary" >&2; exit 1; }
[ -s "$ca" ] || { echo "$0: no CA bundle at $ca (install ca-certificates)" >&2; exit 1; }
if [ -e "$out/rootfs" ] || [ -e "$out/owned" ]; then
	echo "$0: $out already holds rootfs/ or owned/; give an empty folder" >&2
	exit 1
fi

mkdir -p "$out/rootfs/bin" "$out/rootfs/etc/ssl/certs" "$out/rootfs/tmp" \
	"$out/owned/data" "$out/owned/models" "$out/owned/keys"

cp "$binary" "$out/rootfs/bin/parley"
cp "$ca" "$out/rootfs/etc/ssl/certs/ca-certificates.crt"
cp "$skel/etc/passwd" "$skel/etc/group" "$out/rootfs/etc/"

chmod 0755 "$out/rootfs/bin/parley"
chmod 0644 "$out/rootfs/etc/ssl/certs/ca-certificates.crt" \
	"$out/rootfs/etc/passwd" "$out/rootfs/etc/group"
chmod 1777 "$out/rootfs/tmp"
chmod 0755 "$out/rootfs" "$out/rootfs/bin" "$out/rootfs/etc" "$out/rootfs/etc/ssl" \
	"$out/rootfs/etc/ssl/certs" "$out/owned"
chmod 0750 "$out/owned/data" "$out/owned/models"
chmod 0700 "$out/owned/keys"
