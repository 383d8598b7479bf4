# SPDX-License-Identifier: GPL-2.0
"""A real Debian guest captures our kernel's crash with its own
kdump-tools (harness/ph distro, and the test command when its cache is
there): nothing of ours inside the guest but the kernel.

- The kernel is built as Debian packages (make bindeb-pkg) from
  x86_64_defconfig + kvm_guest.config + configs/debian-guest.config, with
  and without the series; the packages are kept under
  ~/.cache/panic-hooks/distro/debs/<tree>/.
- A Debian 12 root filesystem is made with mmdebstrap from Debian's
  packages (systemd, kdump-tools, makedumpfile, kexec-tools, crash) with
  the package installed with dpkg -i, kdump-tools enabled as Debian documents
  it (USE_KDUMP=1, crashkernel= on the command line), and one unit of
  ours that prints `kdump-config show` and crashes the guest with sysrq-c.
  The tarball is cached under ~/.cache/panic-hooks/distro/, keyed by the
  recipe and the package.
- The guest boots under QEMU with a pvpanic device; kdump-tools' capture
  kernel saves /var/crash/<stamp>/dump.<stamp> and dmesg.<stamp> and
  reboots. The host then reads the disk image without mounting it
  (debugfs), checks the files, the panic message (makedumpfile
  --dump-dmesg, and crash --minimal), the PANIC_HOOKS= record, and the
  QMP events: one GUEST_CRASHLOADED before the capture kernel's first
  line patched, none unpatched.

QEMU: Debian 12's QEMU 7.2 corrupts a distribution-sized 6.12 kernel
under TCG (double faults in the slab allocator, seen with Debian's own
6.12 kernel from bookworm-backports); QEMU 10 from bookworm-backports does
not. The guest runs on that QEMU, unpacked privately into the cache (the
host's QEMU is not touched)."""

import hashlib
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from . import common, parsers, qemu, source
from .common import log, run
from .context import Context, Unavailable
from .report import CheckFailed, Skipped, expect

DISTRO = common.CACHE / 'distro'
SUITE = 'bookworm'
MIRROR = 'http://deb.debian.org/debian'
SECURITY = 'http://deb.debian.org/debian-security'
PACKAGES = ['systemd-sysv', 'udev', 'kdump-tools', 'makedumpfile', 'kexec-tools', 'crash',
	    'initramfs-tools', 'e2fsprogs', 'procps', 'kmod']
HOST_PACKAGES = {'/usr/bin/mmdebstrap': 'mmdebstrap', '/usr/sbin/debugfs': 'e2fsprogs',
		 '/usr/bin/crash': 'crash', '/usr/bin/dpkg-buildpackage': 'dpkg-dev',
		 '/usr/bin/dh': 'debhelper', 'kmod': 'kmod'}
# Debian's default (grub's crashkernel for kdump-tools).
CRASHKERNEL = 'crashkernel=384M-:128M'
APPEND = f'root=/dev/vda rw console=ttyS0 {CRASHKERNEL}'
KERNELS = ('debian-guest', 'debian-guest-unpatched')
BOOT_TIMEOUT = 1200
READY = 'ready to kdump'

# Run in the chroot before the packages are configured: answers for their
# postinst scripts, and initramfs settings that do not depend on the
# machine that builds the image (MODULES=list, and the QEMU disk drivers
# in every initrd, kdump's included).
ESSENTIAL_HOOK = r'''#!/bin/sh
set -eu
R=$1
cat <<'SEL' | chroot "$R" debconf-set-selections
kdump-tools kdump-tools/use_kdump boolean true
kexec-tools kexec-tools/load_kexec boolean false
kexec-tools kexec-tools/use_grub_config boolean false
SEL
mkdir -p "$R/etc/initramfs-tools/conf.d" "$R/etc/initramfs-tools/hooks"
echo MODULES=list >"$R/etc/initramfs-tools/conf.d/ph-modules"
cat >"$R/etc/initramfs-tools/hooks/ph-virtio" <<'HOOK'
#!/bin/sh
PREREQ=""
prereqs() { echo "$PREREQ"; }
case "$1" in prereqs) prereqs; exit 0;; esac
. /usr/share/initramfs-tools/hook-functions
for m in virtio_pci virtio_blk ext4; do force_load "$m"; done
HOOK
chmod 0755 "$R/etc/initramfs-tools/hooks/ph-virtio"
'''

# Run in the chroot after everything is installed: the guest's identity,
# fstab, the kdump initrd made now (kdump-config would make it at first
# boot, slowly under TCG) exactly as kdump-tools' kernel hook does, and the
# unit that shows kdump's state and crashes the guest once.
CUSTOMIZE_HOOK = r'''#!/bin/sh
set -eu
R=$1
DEB=$2
# The kernel package, installed as an operator would: dpkg -i (its
# dependencies, kmod and initramfs-tools, are in the package list).
cp "$DEB" "$R/tmp/"
chroot "$R" dpkg -i "/tmp/$(basename "$DEB")"
rm "$R/tmp/$(basename "$DEB")"
echo ph-debian >"$R/etc/hostname"
printf '/dev/vda\t/\text4\trw,errors=remount-ro\t0\t0\n' >"$R/etc/fstab"
chroot "$R" passwd -d root
if ! mountpoint -q "$R/proc"; then mount -t proc proc "$R/proc"; trap 'umount "$R/proc"' EXIT; fi
KVER=$(ls "$R/boot" | sed -n 's/^vmlinuz-//p')
[ "$(echo "$KVER" | wc -w)" = 1 ] || { echo "expected one kernel in /boot, got: $KVER" >&2; exit 1; }
[ -e "$R/boot/initrd.img-$KVER" ] || chroot "$R" update-initramfs -c -k "$KVER"
chroot "$R" /etc/kernel/postinst.d/kdump-tools "$KVER"
ln -sfn "/boot/vmlinuz-$KVER" "$R/var/lib/kdump/vmlinuz"
ln -sfn "/var/lib/kdump/initrd.img-$KVER" "$R/var/lib/kdump/initrd.img"
cp "$R/etc/kdump/sysctl.conf" "$R/var/lib/kdump/latest_sysctls-$KVER"
sed -i 's/^USE_KDUMP=.*/USE_KDUMP=1/' "$R/etc/default/kdump-tools"
grep -q '^USE_KDUMP=1$' "$R/etc/default/kdump-tools"
cat >"$R/usr/local/sbin/ph-crash" <<'EOF'
#!/bin/sh
echo "ph-debian: kdump-config show:"
kdump-config show 2>&1
if [ "$(cat /sys/kernel/kexec_crash_loaded)" != 1 ]; then
	echo "ph-debian: not ready to kdump, powering off"
	systemctl --no-block poweroff
	exit 1
fi
mkdir -p /var/lib/ph && touch /var/lib/ph/crashed && sync
echo "ph-debian: crashing with sysrq-c" >/dev/kmsg
echo 1 >/proc/sys/kernel/sysrq
echo c >/proc/sysrq-trigger
EOF
chmod 0755 "$R/usr/local/sbin/ph-crash"
cat >"$R/etc/systemd/system/ph-crash.service" <<'EOF'
[Unit]
Description=Show kdump's state, then crash once (panic-hooks harness)
After=kdump-tools.service multi-user.target
Wants=kdump-tools.service
ConditionPathExists=!/proc/vmcore
ConditionPathExists=!/var/lib/ph/crashed

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/ph-crash
StandardOutput=journal+console

[Install]
WantedBy=multi-user.target
EOF
ln -sfn /etc/systemd/system/ph-crash.service \
	"$R/etc/systemd/system/multi-user.target.wants/ph-crash.service"
for u in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer; do
	ln -sfn /dev/null "$R/etc/systemd/system/$u"
done
echo "$KVER" >"$R/root/ph-kver"
'''


def _sha(*parts: bytes) -> str:
	h = hashlib.sha256()
	for p in parts:
		h.update(p)
	return h.hexdigest()[:16]


def private_qemu() -> tuple[str, list[str]]:
	"""qemu-system-x86_64 from bookworm-backports, unpacked into the cache
	with its own apt lists: (binary, arguments for its firmware)."""
	root = DISTRO / 'qemu-backports'
	binary = root / 'root/usr/bin/qemu-system-x86_64'
	if not binary.exists():
		log(f'fetching QEMU from {SUITE}-backports into {root}')
		apt = root / 'apt'
		(apt / 'lists/partial').mkdir(parents=True, exist_ok=True)
		(root / 'debs').mkdir(exist_ok=True)
		(apt / 'sources.list').write_text(f'deb {MIRROR} {SUITE}-backports main\n')
		opts = ['-o', f'Dir::Etc::SourceList={apt}/sources.list', '-o', 'Dir::Etc::SourceParts=/dev/null',
			'-o', f'Dir::State::Lists={apt}/lists', '-o', 'Dir::Cache::pkgcache=',
			'-o', 'Dir::Cache::srcpkgcache=']
		logfile = common.LOGS / 'distro-qemu.log'
		run(['apt-get', *opts, 'update', '-q'], logfile=logfile)
		run(['apt-get', *opts, 'download', '-q', 'qemu-system-x86', 'qemu-system-data',
		     'qemu-system-common', 'seabios'], logfile=logfile, cwd=root / 'debs')
		for deb in sorted((root / 'debs').glob('*.deb')):
			run(['dpkg-deb', '-x', deb, root / 'root'], logfile=logfile)
	share = root / 'root/usr/share'
	return str(binary), ['-L', str(share / 'seabios'), '-L', str(share / 'qemu')]


def packages(ctx: Context, name: str) -> Path:
	"""The linux-image package of kernel name for the build tree's commit,
	built with bindeb-pkg once and kept in the cache."""
	k = ctx.kernels[name]
	tree = source.tree_of(k.commit)
	dest = DISTRO / 'debs' / f'{tree}-{name}'
	found = sorted(dest.glob('linux-image-*.deb'))
	if found:
		return found[0]
	k = ctx.kernel(name)
	debs = [d for d in k.debs() if '-dbg_' not in d.name]
	expect(len(debs) == 1, f'bindeb-pkg left {len(debs)} linux-image packages for {name}', k.log)
	dest.mkdir(parents=True, exist_ok=True)
	shutil.copy(k.vmlinux, dest / 'vmlinux')        # for crash(8)
	shutil.copy(debs[0], dest / debs[0].name)
	return dest / debs[0].name


def cached_packages(ctx: Context, name: str) -> Optional[Path]:
	k = ctx.kernels[name]
	found = sorted((DISTRO / 'debs' / f'{source.tree_of(k.commit)}-{name}').glob('linux-image-*.deb'))
	return found[0] if found else None


def rootfs(deb: Path) -> Path:
	"""The Debian 12 root filesystem with deb installed, as a tarball."""
	key = _sha(' '.join([SUITE, MIRROR, SECURITY] + PACKAGES).encode(), ESSENTIAL_HOOK.encode(),
		   CUSTOMIZE_HOOK.encode(), deb.read_bytes())
	tar = DISTRO / f'rootfs-{SUITE}-{key}.tar'
	if tar.exists():
		return tar
	log(f'mmdebstrap {SUITE} with {deb.name} -> {tar}')
	DISTRO.mkdir(parents=True, exist_ok=True)
	with tempfile.TemporaryDirectory(dir=DISTRO) as tmp:
		hooks = Path(tmp)
		for name, text in (('essential.sh', ESSENTIAL_HOOK), ('customize.sh', CUSTOMIZE_HOOK)):
			(hooks / name).write_text(text)
			(hooks / name).chmod(0o755)
		run(['mmdebstrap', '--mode=root', '--variant=minbase', '--format=tar',
		     '--include=' + ','.join(PACKAGES),
		     f'--essential-hook={hooks}/essential.sh "$1"',
		     f'--customize-hook={hooks}/customize.sh "$1" {deb.resolve()}',
		     SUITE, hooks / 'rootfs.tar',
		     f'deb {MIRROR} {SUITE} main', f'deb {MIRROR} {SUITE}-updates main',
		     f'deb {SECURITY} {SUITE}-security main'],
		    logfile=common.LOGS / f'distro-mmdebstrap-{key}.log')
		(hooks / 'rootfs.tar').rename(tar)
	return tar


@dataclass
class Image:
	disk: Path
	vmlinuz: Path
	initrd: Path
	kernel_version: str


def image(tar: Path, workdir: Path) -> Image:
	"""A raw ext4 disk made from tar without mounting (mkfs.ext4 -d), and
	the kernel and initrd from its /boot."""
	root = workdir / 'rootfs'
	shutil.rmtree(root, ignore_errors=True)
	root.mkdir(parents=True)
	run(['tar', '-C', root, '--numeric-owner', '--xattrs', "--xattrs-include=*", '-xpf', tar])
	kver = (root / 'root/ph-kver').read_text().strip()
	img = Image(workdir / 'disk.img', workdir / 'vmlinuz', workdir / 'initrd.img', kver)
	shutil.copy(root / 'boot' / f'vmlinuz-{kver}', img.vmlinuz)
	shutil.copy(root / 'boot' / f'initrd.img-{kver}', img.initrd)
	img.disk.unlink(missing_ok=True)
	run(['truncate', '-s', '3G', img.disk])
	run(['mkfs.ext4', '-q', '-F', '-d', root, img.disk])
	shutil.rmtree(root)
	return img


@dataclass
class Capture:
	kernel: str
	ready: bool                  # kdump-config show said "ready to kdump"
	files: list[str]             # /var/crash/<stamp>/ as debugfs lists it
	dmesg_has_panic: bool        # makedumpfile --dump-dmesg of the dump
	crash_log_has_panic: bool    # crash --minimal's log
	record: Optional[str]        # PANIC_HOOKS= of the dump's VMCOREINFO
	events: list[str]            # QMP guest events, "NAME at T s"
	crashloaded_before_capture: bool
	seconds: float
	rundir: Path


def _debugfs(disk: Path, request: str) -> str:
	return run(['debugfs', '-R', request, disk]).stdout.decode(errors='replace')


def boot_and_crash(ctx: Context, name: str) -> Capture:
	"""Install kernel name's package in a Debian 12 guest, crash it, and
	read back what kdump-tools saved."""
	deb = packages(ctx, name)
	workdir = common.BUILD / 'distro' / name
	workdir.mkdir(parents=True, exist_ok=True)
	img = image(rootfs(deb), workdir)
	binary, firmware = private_qemu()
	m = qemu.Machine(name=f'distro-{name}', platform='x86_64', kernel=img.vmlinuz,
			 initrd=img.initrd, append=APPEND, smp=2, memory_mb=2048,
			 timeout=BOOT_TIMEOUT, binary=binary,
			 devices=firmware + ['-drive', f'file={img.disk},format=raw,if=none,id=root',
					     '-device', 'virtio-blk-pci,drive=root', '-device', 'pvpanic'])
	m.accel = list(qemu.ACCEL_TCG_MULTI)
	out = qemu.run(m)
	rundir = out.rundir
	expect(not out.timed_out, f'the guest did not finish within {BOOT_TIMEOUT} s', out.serial)
	banners = [ln for ln in out.lines if 'Linux version' in ln.text]
	expect(len(banners) >= 2, 'the capture kernel never started', out.serial)
	stamps = re.findall(r'\b(\d{12})\b', _debugfs(img.disk, 'ls /var/crash'))
	expect(stamps, 'kdump-tools saved nothing under /var/crash', out.serial)
	stamp = sorted(stamps)[-1]
	files = re.findall(r'((?:dump|dmesg)\.\d{12})', _debugfs(img.disk, f'ls /var/crash/{stamp}'))
	saved = rundir / 'crash'
	saved.mkdir()
	_debugfs(img.disk, f'rdump /var/crash/{stamp} {saved}')
	dump = saved / stamp / f'dump.{stamp}'
	expect(dump.exists() and (saved / stamp / f'dmesg.{stamp}').exists(),
	       f'/var/crash/{stamp} holds {files}, not dump.{stamp} and dmesg.{stamp}', out.serial)
	vmcore = rundir / 'vmcore'
	with open(dump, 'rb') as flat:      # kdump-config saves makedumpfile's flattened format
		run(['makedumpfile', '-R', vmcore], input_data=flat.read(), logfile=rundir / 'dump.log')
	run(['makedumpfile', '--dump-dmesg', vmcore, rundir / 'dmesg.txt'], logfile=rundir / 'dump.log')
	dmesg = (rundir / 'dmesg.txt').read_text(errors='replace')
	with open(vmcore, 'rb') as f:
		head = f.read(1 << 20)
	try:
		info = parsers.kdump_vmcoreinfo(head)
	except parsers.ParseError as e:
		raise CheckFailed(f'{vmcore}: {e}') from e
	crash_log = _crash_log(deb.parent / 'vmlinux', vmcore, info, rundir)
	events = out.events_named('GUEST_PANICKED', 'GUEST_CRASHLOADED')
	before = bool(events) and all(e.name == 'GUEST_CRASHLOADED' and e.t < banners[1].t
				      for e in events)
	return Capture(name, bool(out.first(READY)),
		       files, 'sysrq triggered crash' in dmesg, 'sysrq triggered crash' in crash_log,
		       info.get('PANIC_HOOKS'), [f'{e.name} at {e.t:.1f} s' for e in events], before,
		       out.wall_seconds, rundir)


def _crash_log(vmlinux: Path, vmcore: Path, info: dict[str, str], rundir: Path) -> str:
	"""Debian's crash 8.0.2 on the dump, --minimal (it cannot read all of
	6.12), given the KASLR offset from VMCOREINFO: its `log`."""
	args = ['crash', '--minimal', '-s']
	if info.get('KERNELOFFSET'):
		args.append(f'--kaslr=0x{info["KERNELOFFSET"]}')
	proc = subprocess.run(args + [str(vmlinux), str(vmcore)], input=b'log\nquit\n',
			      capture_output=True, timeout=300)
	text = (proc.stdout + proc.stderr).decode(errors='replace')
	(rundir / 'crash-minimal.txt').write_text(text)
	return text


def _crash_verdict(c: Capture) -> str:
	"""What crash(8) made of the dump: informative, not judged (the issue
	accepts makedumpfile --dump-dmesg, which is)."""
	if c.crash_log_has_panic:
		return 'its log shows the panic'
	text = (c.rundir / 'crash-minimal.txt').read_text(errors='replace')
	if 'no debugging data available' in text:
		return ('not read: it needs DWARF, and the package is built without debug info '
			'(CONFIG_DEBUG_INFO_NONE, to keep two distribution builds within reach)')
	return 'no panic in its log (see crash-minimal.txt)'


def expect_capture(c: Capture, patched: bool) -> str:
	"""What the issue asks of each run."""
	log_ = c.rundir / 'serial.log'
	expect(c.ready, 'kdump-config show never said "ready to kdump"', log_)
	expect(c.dmesg_has_panic, 'makedumpfile --dump-dmesg of the dump lacks the panic message',
	       c.rundir / 'dmesg.txt')
	if patched:
		expect(c.record is not None and c.record.startswith('pvpanic:ok:'),
		       f'PANIC_HOOKS={c.record}, expected the pvpanic hook', c.rundir / 'vmcore')
		expect(len(c.events) == 1 and c.crashloaded_before_capture,
		       f'QMP events {c.events}: expected one GUEST_CRASHLOADED before the capture '
		       'kernel\'s first line', c.rundir / 'qmp-events.log')
	else:
		expect(c.record is None, f'PANIC_HOOKS={c.record} without the series?', c.rundir)
		expect(not c.events, f'QMP events {c.events} without the series', c.rundir / 'qmp-events.log')
	return (f'{" ".join(c.files)}; panic in the saved log; PANIC_HOOKS={c.record}; '
		f'QMP: {", ".join(c.events) or "no event"}; '
		f'crash --minimal: {_crash_verdict(c)}; '
		f'{c.seconds:.0f} s')


def check(ctx: Context, name: str, cached_only: bool) -> str:
	"""One kernel's run as a check; in the test command only when the
	package and the root filesystem are already cached."""
	if cached_only and not cached_packages(ctx, name):
		raise Skipped(f'no cached Debian package of {name} for this tree: run harness/ph distro '
			      '(builds two Debian-sized kernels, about 40 min cold on 2 cores)')
	common.ensure_packages(HOST_PACKAGES)
	try:
		capture = boot_and_crash(ctx, name)
	except Unavailable as e:
		raise CheckFailed(str(e)) from e
	return expect_capture(capture, not name.endswith('-unpatched'))


def run_command(ctx: Context) -> bool:
	"""harness/ph distro: both kernels, then a short report."""
	results = [(name, ctx.report.check(f'distro: {name}', check, ctx, name, False))
		   for name in KERNELS]
	print('\nDebian 12 guest, kdump-tools, QEMU/TCG with a pvpanic device:')
	for name, value in results:
		print(f'  {name:24} {value if value else "FAILED (see above)"}')
	return all(v for _, v in results)
