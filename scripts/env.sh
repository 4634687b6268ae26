# SPDX-License-Identifier: GPL-2.0
# Common settings for the project's scripts. Source it; every value can be overridden from the environment.
#
# CACHE   where everything that outlives a checkout lives (kernel source, test kernel builds, apt state)
# KSRC    unpacked kernel source tree (default: linux-source-7.3 from trixie-backports, unpacked under $CACHE)
# KDIR    kernel build tree the modules are built against (default: the cached test kernel)

# Scripts run their own makes with their own -j; flags inherited from an outer make (-w, jobserver) only confuse
# them and their output.
unset MAKEFLAGS MFLAGS MAKELEVEL

# The Makefile exports its variables even when unset; an empty ARCH in the environment stops a kernel build.
for v in KDIR KSRC ARCH CROSS_COMPILE QEMU_KVM KVARIANT M MO DESTDIR PREFIX; do
	[ -n "${!v:-}" ] || unset "$v"
done

: "${HOME:=$(getent passwd "$(id -u)" | cut -d: -f6)}"
export HOME
: "${CACHE:=${XDG_CACHE_HOME:-$HOME/.cache}/rfl-bringup}"
# rustup's cargo, for bindgen-cli and the tools, when the caller's PATH lacks it.
case ":$PATH:" in *":$HOME/.cargo/bin:"*) ;; *) [ -d "$HOME/.cargo/bin" ] && PATH=$PATH:$HOME/.cargo/bin ;; esac
: "${BINDGEN_VERSION:=0.73.2}"
: "${KERNEL_SERIES:=7.3}"
: "${LLVM:=-19}"
: "${RUSTC:=/usr/bin/rustc}"
: "${LIBCLANG_PATH:=/usr/lib/llvm-19/lib}"
export CACHE LLVM RUSTC LIBCLANG_PATH
# bindgen-cli is installed into a cache-owned root so the host's ~/.cargo stays as it was.
BINDGEN_ROOT="$CACHE/bindgen-$BINDGEN_VERSION"
: "${BINDGEN:=$BINDGEN_ROOT/bin/bindgen}"
export BINDGEN

# The arm64 test VM's busybox (scripts/setup-host.sh fetches Debian's busybox-static:arm64 into it).
BUSYBOX_ARM64="$CACHE/busybox-arm64/busybox"
ARM64_EXTRA_ROOT="$CACHE/arm64-extra"
export BUSYBOX_ARM64 ARM64_EXTRA_ROOT

# dt-schema's venv (scripts/setup-host.sh creates it).
DTSCHEMA_BIN="$CACHE/venv-dtschema-2026.9/bin"
export DTSCHEMA_BIN

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export TOP

log() { printf '\033[1m==>\033[0m %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# The kernel's name for the architecture to build for: $ARCH, else the host's (`uname -m` says aarch64 on arm64).
kernel_arch() {
	local a=${ARCH:-$(uname -m)}
	case "$a" in aarch64) echo arm64 ;; amd64) echo x86_64 ;; *) echo "$a" ;; esac
}

# The Rust target of $(kernel_arch), and where scripts/build-tools.sh puts the tools built for it.
rust_triple() {
	case "$(kernel_arch)" in
	x86_64) echo x86_64-unknown-linux-gnu ;;
	arm64) echo aarch64-unknown-linux-gnu ;;
	*) die "no Rust target known for ARCH=$(kernel_arch)" ;;
	esac
}
tools_dir() {
	if [ "$(rust_triple)" = "$(/usr/bin/rustc -vV | sed -n 's/^host: //p')" ]; then
		echo "$TOP/build/static"
	else
		echo "$TOP/build/static-$(kernel_arch)"
	fi
}

# The make arguments every kernel build (tree or modules) needs.
kmake_args() {
	printf '%s\n' "LLVM=$LLVM" "RUSTC=$RUSTC" "BINDGEN=$BINDGEN"
}
