#!/usr/bin/env bash
# Builds the Debian packages into dist/: taproll (the classroom app) and
# taproll-server (the receiving server), for ARCH amd64 or arm64. arm64 is
# cross-built on an amd64 machine (`make deps-cross` installs what that
# needs). Usage: [ONLY=taproll] packaging/deb.sh [amd64|arm64]
set -euo pipefail
cd "$(dirname "$0")/.."
# The modes in the packages are the install's, not the builder's umask's.
umask 022

arch=${1:-$(dpkg --print-architecture)}
case $arch in
amd64) target=x86_64-unknown-linux-gnu; objdump=objdump; cross=() ;;
arm64)
	target=aarch64-unknown-linux-gnu
	objdump=aarch64-linux-gnu-objdump
	# The C parts (SQLite, ring) with the cross compiler; the pcsc crate
	# links the arm64 libpcsclite (the linker is in .cargo/config.toml).
	cross=(env CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
		AR_aarch64_unknown_linux_gnu=aarch64-linux-gnu-ar
		PCSC_LIB_DIR=/usr/lib/aarch64-linux-gnu)
	;;
*)
	echo "deb.sh: ARCH must be amd64 or arm64, not $arch" >&2
	exit 2
	;;
esac
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)

# One build each: built together, the server's features of shared crates
# (tokio's, serde's, tracing's) would be unified into the classroom app.
# Packed relative relocations (DT_RELR, glibc 2.36: bookworm, Raspberry Pi
# OS 12): a position-independent program's relocation table shrinks from
# about 900 KB to 20 KB. Only this build: RUSTFLAGS would rebuild the rest.
# Bookworm's aarch64 linker (binutils 2.40; 2.41 has it) ignores the flag,
# with a warning: the arm64 program keeps its table, and glibc_needed sees.
RUSTFLAGS="-C link-arg=-Wl,-z,pack-relative-relocs" \
	"${cross[@]}" cargo build --locked --profile dist --target "$target" -p taproll
if [ "${ONLY:-}" != taproll ]; then
	"${cross[@]}" cargo build --locked --profile dist-server --target "$target" -p taproll-server
fi
# Man pages and completions come from the program itself, run here.
cargo build --locked -p taproll
host_taproll=target/debug/taproll

mkdir -p dist
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The oldest glibc the binary runs on: its newest versioned symbol, and
# 2.36 for packed relative relocations (GLIBC_ABI_DT_RELR).
glibc_needed() {
	{
		"$objdump" -T "$1" | grep -o 'GLIBC_[0-9.]*[0-9]' | sed 's/GLIBC_//'
		if "$objdump" -p "$1" | grep -q GLIBC_ABI_DT_RELR; then echo 2.36; fi
	} | sort -V | tail -1
}

# package NAME DEPENDS DESCRIPTION: the staged $work/NAME as dist/NAME_VERSION_ARCH.deb
package() {
	local name=$1 depends=$2 description=$3 root=$work/$1
	mkdir -p "$root/DEBIAN" "$root/usr/share/doc/$name"
	cat > "$root/usr/share/doc/$name/copyright" <<-COPYRIGHT
		Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
		Upstream-Name: taproll
		License: MIT OR Apache-2.0
	COPYRIGHT
	local size
	size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
	cat > "$root/DEBIAN/control" <<-CONTROL
		Package: $name
		Version: $version
		Architecture: $arch
		Maintainer: taproll <taproll@localhost>
		Installed-Size: $size
		Depends: $depends
		Section: misc
		Priority: optional
		Description: $description
	CONTROL
	dpkg-deb --root-owner-group --build "$root" "dist/${name}_${version}_${arch}.deb"
}

# taproll: the program, its man pages and completions, the recorder's
# systemd unit, the modprobe rule for ACR122U readers, the example config.
root=$work/taproll
install -D -m 0755 "target/$target/dist/taproll" "$root/usr/bin/taproll"
mkdir -p "$root/usr/share/man/man1"
"$host_taproll" man "$root/usr/share/man/man1"
gzip -9n "$root"/usr/share/man/man1/*.1
install -d "$root/usr/share/bash-completion/completions" \
	"$root/usr/share/zsh/vendor-completions" "$root/usr/share/fish/vendor_completions.d"
"$host_taproll" completions bash > "$root/usr/share/bash-completion/completions/taproll"
"$host_taproll" completions zsh > "$root/usr/share/zsh/vendor-completions/_taproll"
"$host_taproll" completions fish > "$root/usr/share/fish/vendor_completions.d/taproll.fish"
install -D -m 0644 assets/taproll-record@.service "$root/lib/systemd/system/taproll-record@.service"
install -D -m 0644 packaging/taproll-nfc.conf "$root/lib/modprobe.d/taproll-nfc.conf"
install -D -m 0644 config.example.toml "$root/usr/share/doc/taproll/examples/config.toml"
install -D -m 0644 README.md "$root/usr/share/doc/taproll/README.md"
install -D -m 0755 packaging/taproll.postinst "$root/DEBIAN/postinst"
install -D -m 0755 packaging/taproll.prerm "$root/DEBIAN/prerm"
install -D -m 0755 packaging/taproll.postrm "$root/DEBIAN/postrm"
package taproll \
	"libc6 (>= $(glibc_needed "$root/usr/bin/taproll")), libpcsclite1, pcscd, libccid" \
	"classroom attendance with NFC student cards
 A live roster in the terminal, filled in as students tap their cards on a
 PC/SC reader; every tap stored in SQLite first; reports for spreadsheets
 and the LMS; an optional push to a taproll server."

# taproll-server: the receiving server, its unit and its docs.
if [ "${ONLY:-}" = taproll ]; then
	ls -l dist/*_"$arch".deb
	exit 0
fi
root=$work/taproll-server
install -D -m 0755 "target/$target/dist-server/taproll-server" "$root/usr/bin/taproll-server"
install -D -m 0644 assets/taproll-server.service "$root/lib/systemd/system/taproll-server.service"
install -D -m 0644 docs/server.md "$root/usr/share/doc/taproll-server/server.md"
install -D -m 0644 docs/protocol.md "$root/usr/share/doc/taproll-server/protocol.md"
install -D -m 0755 packaging/taproll-server.postinst "$root/DEBIAN/postinst"
package taproll-server \
	"libc6 (>= $(glibc_needed "$root/usr/bin/taproll-server")), adduser" \
	"receives the attendance taproll devices push
 Stores every event as sent (SQLite or PostgreSQL) and derives sessions and
 marks from them, for an institution's reports."
ls -l dist/*_"$arch".deb
