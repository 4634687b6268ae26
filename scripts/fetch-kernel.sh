#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Fetches Debian's linux-source-$KERNEL_SERIES from trixie-backports through an apt configuration of our own (own
# sources list, lists and archive dirs under $CACHE/apt) and unpacks it once under $CACHE. The system's apt sources
# are never touched: adding trixie to them could pull trixie's libc onto a Debian 12 host.
# Prints the path of the unpacked tree on stdout.
set -euo pipefail
. "$(dirname "$0")/env.sh"

if [ -n "${KSRC:-}" ]; then
	[ -f "$KSRC/Makefile" ] || die "KSRC=$KSRC is not a kernel source tree"
	echo "$KSRC"
	exit 0
fi

A=$CACHE/apt
stamp=$CACHE/linux-source.path
if [ -s "$stamp" ] && [ -f "$(cat "$stamp")/Makefile" ]; then
	cat "$stamp"
	exit 0
fi

mkdir -p "$A"/lists/partial "$A"/archives/partial "$A"/etc/sources.list.d "$A"/etc/preferences.d
echo 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie-backports main' \
	> "$A/etc/sources.list"
apt_opts=(
	-o "Dir::State::Lists=$A/lists" -o "Dir::Cache=$A" -o "Dir::Cache::archives=$A/archives"
	-o "Dir::Etc::SourceList=$A/etc/sources.list" -o "Dir::Etc::SourceParts=$A/etc/sources.list.d"
	-o "Dir::Etc::PreferencesParts=$A/etc/preferences.d" -o "Dir::State::status=/var/lib/dpkg/status"
	-o "APT::Sandbox::User=root"
)
log "fetching linux-source-$KERNEL_SERIES from trixie-backports (project-owned apt state in $A)"
apt-get -q "${apt_opts[@]}" update >/dev/null
rm -f "$A"/archives/linux-source-"$KERNEL_SERIES"_*.deb
(cd "$A/archives" && apt-get -q "${apt_opts[@]}" download "linux-source-$KERNEL_SERIES" >/dev/null)
deb=$(ls "$A"/archives/linux-source-"$KERNEL_SERIES"_*_all.deb)
ver=$(dpkg-deb -f "$deb" Version)

x=$CACHE/deb-x
rm -rf "$x" && mkdir -p "$x"
dpkg-deb -x "$deb" "$x"
tarball=$(ls "$x"/usr/src/linux-source-"$KERNEL_SERIES".tar.*)
dest=$CACHE/src/$ver
log "unpacking $ver into $dest"
rm -rf "$dest.tmp" && mkdir -p "$dest.tmp"
tar -xaf "$tarball" -C "$dest.tmp"
rm -rf "$dest" && mv "$dest.tmp/linux-source-$KERNEL_SERIES" "$dest" && rm -rf "$dest.tmp" "$x"
echo "$dest" > "$stamp"
echo "$dest"
