# SPDX-License-Identifier: GPL-2.0
"""Guest scenarios shared by the demo, the checks, the torture matrix and
the benchmarks: boot a guest on a platform, optionally load a capture
kernel and crash it some way, and read back what the capture saved."""

import os
from typing import Callable, Optional, Sequence

from . import common, dump, qemu
from .arches import PLATFORMS, platforms_of
from .common import log
from .guest import Guest
from .report import CheckFailed, expect

CRASHKERNEL = 'crashkernel=128M'
CAPTURE_BANNER = 'Linux version'
PANIC_LINE = 'Kernel panic - not syncing'
END_LINE = 'end Kernel panic'
# s390's SCLP console emits what panic() prints after the panic notifiers
# only from a timer that no longer runs: there the disabled wait itself,
# which QEMU reports as GUEST_PANICKED, says that the panic is done.
DONE_BY_EVENT = ('s390x',)

NO_RECORD = 'ph-init: vmcoreinfo has no PANIC_HOOKS line'
ACCEL_KVM = ['-accel', 'kvm', '-cpu', 'host']
# A pvpanic device for each platform that has one the guest supports.
PVPANIC = {'x86_64': ['-device', 'pvpanic'], 'i386': ['-device', 'pvpanic'],
	   'arm64-gicv3': ['-device', 'pvpanic-pci'], 'arm64-gicv2': ['-device', 'pvpanic-pci'],
	   'riscv64': ['-device', 'pvpanic-pci'], 'ppc64le': ['-device', 'pvpanic-pci']}


def panic_done(platform: str) -> Callable[[qemu.Qemu], bool]:
	"""Whether a guest on platform has finished its panic (the end line,
	or the guest-panicked event where that line never comes out)."""
	if platform in DONE_BY_EVENT:
		return lambda q: any(e.name == 'GUEST_PANICKED' for e in q.events)
	return lambda q: q.seen(END_LINE)


_kvm: Optional[tuple[bool, str]] = None


def platform_of(g: Guest, platform: str = '') -> str:
	"""The platform to boot g on: the one named, else its arch's first."""
	return platform or platforms_of(g.arch)[0].name


def machine(g: Guest, name: str, mode: str, append: str = '', devices: Sequence[str] = (),
	    smp: int = 1, timeout: float = 150, disk: bool = False, panic: int = -1,
	    crash: str = '', platform: str = '', pvpanic: bool = True) -> qemu.Machine:
	"""A run of guest g: ph.mode=mode (idle, panic, kdump), crashing with
	ph.crash=crash; panic=-1 reboots (QEMU exits) right after a panic."""
	p = platform_of(g, platform)
	words = [PLATFORMS[p].console, f'ph.mode={mode}', f'panic={panic}', append]
	if crash:
		words.append(f'ph.crash={crash}')
	if mode == 'kdump':
		words.append(CRASHKERNEL)
	devices = list(devices) + (PVPANIC.get(p, []) if pvpanic else [])
	m = qemu.Machine(name=name, platform=p, kernel=g.image, initrd=g.initrd,
			 append=' '.join(w for w in words if w), devices=devices, smp=smp,
			 disk_mb=128 if disk else 0, timeout=timeout)
	if smp > 1:
		# A vCPU thread each: with one thread for all, a vCPU busy with
		# slow device emulation (a printk flood on the serial port)
		# starves the panic CPU, and the stock kernel's timeouts that count
		# udelay(1) calls (native_stop_other_cpus()) last a minute.
		m.accel = list(qemu.ACCEL_TCG_MULTI)
	return m


def kvm_probe(known_good: Guest) -> tuple[bool, str]:
	"""(usable, why): whether KVM works here, from a probe boot of a known
	good kernel (the unpatched one), so that a kernel under test that does
	not boot under KVM fails its check instead of turning it into a SKIP."""
	global _kvm
	if _kvm is None:
		_kvm = (False, 'no usable /dev/kvm')
		if os.access('/dev/kvm', os.R_OK | os.W_OK):
			m = machine(known_good, 'kvm-probe', 'idle', timeout=30, pvpanic=False)
			m.accel = list(ACCEL_KVM)
			try:
				out = qemu.run(m, until=lambda q: q.seen('ph-init: idle'))
				if out.first('ph-init: idle'):
					_kvm = (True, f'a probe boot of {known_good.name} under KVM reached /init')
				else:
					_kvm = (False, f'a probe boot of {known_good.name} under KVM did not '
						f'reach /init (see {out.rundir})')
			except common.CommandError as e:     # QEMU died before QMP was up
				_kvm = (False, f'QEMU failed under KVM: {e.tail.strip()}')
		log(f'KVM: {"usable" if _kvm[0] else "not usable"}: {_kvm[1]}')
	return _kvm


def capture_banner(outcome: qemu.Outcome) -> Optional[qemu.Line]:
	"""The capture kernel's first console line: the second kernel banner."""
	banners = [ln for ln in outcome.lines if CAPTURE_BANNER in ln.text]
	return banners[1] if len(banners) > 1 else None


def capture_line(outcome: qemu.Outcome) -> qemu.Line:
	"""The capture kernel's first console line; a failure without one."""
	banner = capture_banner(outcome)
	if banner is None:
		raise CheckFailed('the capture kernel never started', outcome.serial)
	return banner


def record_line(outcome: qemu.Outcome) -> Optional[str]:
	"""The PANIC_HOOKS= value the capture kernel's /init read out of
	/proc/vmcore, None if it printed none."""
	line = outcome.first('ph-init: vmcoreinfo PANIC_HOOKS=')
	return line.text.split('PANIC_HOOKS=', 1)[1].strip() if line else None


def expect_capture_kernel(outcome: qemu.Outcome) -> Optional[str]:
	"""The guest crashed and its capture kernel came up with a dump;
	returns the PANIC_HOOKS= value it read from /proc/vmcore, None when
	VMCOREINFO has none (a kernel without the hooks)."""
	expect(not outcome.timed_out, f'QEMU did not finish within {outcome.machine.timeout} s',
	       outcome.serial)
	expect(outcome.first(PANIC_LINE) or outcome.first('Oops') or outcome.first('BUG:'),
	       'the guest never crashed', outcome.serial)
	expect(capture_banner(outcome), 'the capture kernel never started', outcome.serial)
	expect(outcome.first('ph-init: capture kernel up'), 'the capture kernel\'s /init did not run',
	       outcome.serial)
	expect(outcome.first('ph-init: vmcoreinfo') or outcome.first(NO_RECORD),
	       'the capture kernel\'s /init did not read VMCOREINFO', outcome.serial)
	return record_line(outcome)


def expect_captured(outcome: qemu.Outcome) -> dump.Dump:
	"""The capture kernel saved a dump, read back on the host."""
	expect_capture_kernel(outcome)
	expect(outcome.first('ph-init: dump saved'), 'the capture kernel did not save a dump',
	       outcome.serial)
	try:
		d = dump.read_disk(outcome.disk, outcome.rundir, outcome.rundir / 'dump.log')
	except (dump.DumpError, common.CommandError) as e:
		raise CheckFailed(f'dump unreadable: {e}', outcome.rundir / 'dump.log') from e
	expect(PANIC_LINE in d.dmesg or 'Oops' in d.dmesg,
	       'the saved dump\'s kernel log has no crash in it', outcome.rundir / 'vmcore-dmesg.txt')
	return d
