# SPDX-License-Identifier: GPL-2.0
"""Guest scenarios shared by the demo, the tests and the benchmarks: boot a
built kernel with its initramfs, optionally load a capture kernel and
panic, and read back what the capture saved."""

import os
from dataclasses import dataclass
from pathlib import Path

from . import build, common, dump, guest, qemu, source
from .common import log
from .report import CheckFailed, expect

CONSOLE = 'console=ttyS0,115200 earlyprintk=serial,ttyS0,115200'
CRASHKERNEL = 'crashkernel=128M'
CAPTURE_BANNER = 'Linux version'
PANIC_LINE = 'Kernel panic - not syncing'

_kvm = None


@dataclass
class Guest:
	"""A built kernel ready to boot."""
	name: str
	image: Path
	initrd: Path


def prepare(src, kernel):
	boot, _ = guest.build_images(src, kernel.image, kernel.name, kernel.module_files())
	return Guest(kernel.name, kernel.image, boot)


def built(*makers):
	"""Build the kernels made by makers (see kernels.py) and their guest
	images, from a fresh machine if need be; {maker name: Guest}."""
	common.ensure_packages()
	src = source.prepare_pristine()
	source.create_kernel_tree(src)
	guests = {}
	for make in makers:
		k = make(src)
		build.build(k)
		guests[make.__name__] = prepare(src, k)
	return guests


ACCEL_KVM = ['-accel', 'kvm', '-cpu', 'host']


def kvm_probe(g):
	"""(True, why) when a probe boot of g under KVM reaches /init; once."""
	global _kvm
	if _kvm is None:
		_kvm = (False, 'no usable /dev/kvm')
		if os.access('/dev/kvm', os.R_OK | os.W_OK):
			m = qemu.Machine('kvm-probe', g.image, g.initrd, CONSOLE + ' ph.mode=idle',
					 accel=ACCEL_KVM, timeout=20)
			try:
				out = qemu.run(m, until=lambda q: q.seen('ph-init: idle'))
				if out.first('ph-init: idle'):
					_kvm = (True, 'a probe boot under KVM reached /init')
				else:
					_kvm = (False, f'a probe boot under KVM did not reach /init '
						f'(see {out.rundir})')
			except common.CommandError as e:     # QEMU died before QMP was up
				_kvm = (False, f'QEMU failed under KVM: {e.tail.strip()}')
		log(f'KVM: {"usable" if _kvm[0] else "not usable"}: {_kvm[1]}')
	return _kvm


def accel(g):
	"""KVM when a probe boot proves it works here, else single-threaded TCG."""
	return list(ACCEL_KVM if kvm_probe(g)[0] else qemu.ACCEL_TCG)


def machine(g, name, mode, append='', devices=(), smp=1, timeout=150, disk=True, panic=-1):
	"""A run of guest g; panic=-1 reboots (QEMU exits) right after a panic."""
	words = [CONSOLE, f'ph.mode={mode}', f'panic={panic}', append]
	if mode == 'kdump':
		words.append(CRASHKERNEL)
	return qemu.Machine(name=name, kernel=g.image, initrd=g.initrd,
			    append=' '.join(w for w in words if w), devices=list(devices),
			    smp=smp, disk_mb=128 if disk else 0, timeout=timeout, accel=accel(g))


def capture_banner(outcome):
	"""The capture kernel's first console line: the second kernel banner."""
	banners = [ln for ln in outcome.lines if CAPTURE_BANNER in ln.text]
	return banners[1] if len(banners) > 1 else None


def expect_captured(outcome):
	"""The capture kernel ran and saved a dump; returns the Dump read back."""
	serial = outcome.rundir / 'serial.log'
	expect(not outcome.timed_out, f'QEMU did not finish within {outcome.machine.timeout} s',
	       serial)
	expect(outcome.first(PANIC_LINE), 'the guest never panicked', serial)
	expect(capture_banner(outcome), 'the capture kernel never started', serial)
	expect(outcome.first('ph-init: dump saved'), 'the capture kernel did not save a dump',
	       serial)
	try:
		d = dump.read_disk(outcome.disk, outcome.rundir, outcome.rundir / 'dump.log')
	except (dump.DumpError, common.CommandError) as e:
		raise CheckFailed(f'dump unreadable: {e}', outcome.rundir / 'dump.log') from e
	expect(PANIC_LINE in d.dmesg, 'the saved dump\'s kernel log has no panic message',
	       outcome.rundir / 'vmcore-dmesg.txt')
	return d

