#!/usr/bin/env bash
# CI's check of the packages: both architectures built, their contents
# listed and checked, the amd64 package installed and run, and the arm64
# program run under qemu user-mode emulation (a demo class to its end, then
# a report of it). Needs root (it installs the package); `make
# package-check` installs the tools first.
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)

packaging/deb.sh amd64
# The server's arm64 package builds the same way (make deb ARCH=arm64); CI
# builds the classroom app's, the one that goes on the Pis.
ONLY=taproll packaging/deb.sh arm64

# contains DEB PATH...: each PATH is in the package.
contains() {
	local deb=$1 listing
	shift
	listing=$(dpkg-deb -c "$deb")
	for path in "$@"; do
		if ! grep -q " \./${path}\$" <<<"$listing"; then
			echo "check: $deb lacks $path; it holds:" >&2
			echo "$listing" >&2
			exit 1
		fi
	done
}
for arch in amd64 arm64; do
	deb=dist/taproll_${version}_${arch}.deb
	echo "== $deb"
	dpkg-deb -c "$deb"
	dpkg-deb -f "$deb" Architecture Depends
	[ "$(dpkg-deb -f "$deb" Architecture)" = "$arch" ]
	contains "$deb" usr/bin/taproll usr/share/man/man1/taproll.1.gz \
		usr/share/man/man1/taproll-run.1.gz usr/share/man/man1/taproll-doctor.1.gz \
		usr/share/bash-completion/completions/taproll usr/share/zsh/vendor-completions/_taproll \
		usr/share/fish/vendor_completions.d/taproll.fish \
		lib/systemd/system/taproll-record@.service lib/modprobe.d/taproll-nfc.conf \
		usr/share/doc/taproll/examples/config.toml
done
server=dist/taproll-server_${version}_amd64.deb
echo "== $server"
dpkg-deb -c "$server"
contains "$server" usr/bin/taproll-server lib/systemd/system/taproll-server.service

# The stripped program's size per architecture (docs/benchmarks.md).
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for arch in amd64 arm64; do
	dpkg-deb -x "dist/taproll_${version}_${arch}.deb" "$work/$arch"
	bytes=$(stat -c %s "$work/$arch/usr/bin/taproll")
	echo "taproll $arch: $bytes bytes"
	# Packed relative relocations (deb.sh) need glibc 2.36: where the linker
	# made them, the package says so.
	dump=objdump
	[ "$arch" = arm64 ] && dump=aarch64-linux-gnu-objdump
	if "$dump" -p "$work/$arch/usr/bin/taproll" | grep -q GLIBC_ABI_DT_RELR; then
		echo "taproll $arch: packed relative relocations"
		dpkg-deb -f "dist/taproll_${version}_${arch}.deb" Depends | grep -q 'libc6 (>= 2.36)'
	fi
	if [ "$bytes" -ge 8000000 ]; then
		echo "check: the $arch program is $bytes bytes, not under 8 MB" >&2
		exit 1
	fi
done
file "$work/arm64/usr/bin/taproll" | grep -q 'ARM aarch64'

# Installed as an admin would, dependencies and all.
env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
	"./dist/taproll_${version}_amd64.deb"
/usr/bin/taproll --version | grep -qx "taproll $version"
man -w taproll
man -w taproll-doctor
# An instance of the template, as an admin enables it (works without a
# running systemd: it reads the files).
if command -v systemd-analyze >/dev/null; then
	systemd-analyze verify taproll-record@pi.service
else
	echo "check: no systemd-analyze here: the unit was not verified"
fi
# The CI machine is left as it was.
env DEBIAN_FRONTEND=noninteractive apt-get purge -y taproll

# The arm64 program under qemu: a demo class to its end, and its report.
arm=$work/arm64/usr/bin/taproll
qemu-aarch64 "$arm" --version | grep -qx "taproll $version"
db=$work/demo.db
HOME=$work XDG_STATE_HOME=$work/state qemu-aarch64 "$arm" demo --headless --db "$db" > "$work/demo.jsonl"
# grep -c says 0 with status 1: not a failure here, the counts are checked.
taps=$(grep -c '"event":"tap"' "$work/demo.jsonl" || true)
present=$(grep -c '"outcome":"present"' "$work/demo.jsonl" || true)
late=$(grep -c '"outcome":"late"' "$work/demo.jsonl" || true)
echo "arm64 demo under qemu: $taps taps, $present present, $late late"
# The demo's scenario: 28 taps, 20 students on time and 5 late.
[ "$taps" -eq 28 ] && [ "$present" -eq 20 ] && [ "$late" -eq 5 ]
HOME=$work qemu-aarch64 "$arm" report --db "$db" --format csv > "$work/report.csv"
head -3 "$work/report.csv"
grep -q 'Student no,Name,Section,Status' "$work/report.csv"
# The report says what the taps said.
[ "$(grep -c ',present,' "$work/report.csv" || true)" -eq "$present" ]
[ "$(grep -c ',late,' "$work/report.csv" || true)" -eq "$late" ]
echo "packages: ok"
