# SPDX-License-Identifier: GPL-2.0
"""The series on other architectures: arm64 and riscv64 guests booted in
QEMU (TCG) and panicked, to see the halt and the timed reboot there; and
compile tests, with W=1 and sparse, of what the series touches for
powerpc64le and s390x."""

from dataclasses import dataclass

from . import build, common, guest, lint, qemu, slot_users
from .common import CONFIGS
from .halt import HALTED_MAX, SPINNING_MIN, busy_fraction
from .report import expect

HOOKS_ON = CONFIGS / 'panic-hooks.config'


@dataclass
class System:
	"""How to boot one architecture's guest in QEMU."""
	arch: str
	console: str
	accel: list


SYSTEMS = {
	# Cortex-A57 rather than -cpu max: TCG emulates max's pointer
	# authentication slowly, and the halt does not depend on it.
	'arm64': System('arm64', 'console=ttyAMA0 earlycon',
			['-accel', 'tcg,thread=single', '-cpu', 'cortex-a57']),
	'riscv64': System('riscv64', 'console=ttyS0 earlycon', ['-accel', 'tcg,thread=single']),
}

# Compile tests: the objects of the files the series touches for these
# architectures (their arch code and the generic panic code).
COMPILE_TESTS = {
	'ppc64le': (['ppc64le-fadump.config'],
		    ['arch/powerpc/kernel/fadump.o', 'arch/powerpc/kernel/idle.o',
		     'kernel/panic.o', 'kernel/panic_hooks.o', 'kernel/panic_halt.o',
		     'kernel/crash_core.o', 'kernel/time/tick-common.o']),
	's390x': (['s390x.config'],
		  ['arch/s390/kernel/idle.o', 'kernel/panic.o', 'kernel/panic_hooks.o',
		   'kernel/panic_halt.o', 'kernel/time/tick-common.o']),
}

# Debian's sparse rejects the riscv -march string (_zicsr_zifencei).
NO_SPARSE = {'riscv64'}


def guest_kernel(arch):
	return build.Kernel(f'{arch}-patched', common.KERNEL_TREE,
			    [CONFIGS / f'{arch}-guest.config', HOOKS_ON], arch=arch)


def compile_test_kernel(arch):
	fragments, objects = COMPILE_TESTS[arch]
	return build.Kernel(f'{arch}-compile', common.KERNEL_TREE,
			    [CONFIGS / f for f in fragments] + [HOOKS_ON], arch=arch,
			    objects=list(objects))


@dataclass
class CrossGuest:
	arch: str
	image: object
	initrd: object


def prepare(src, kernel):
	cross = build.ARCHES[kernel.arch][1]
	return CrossGuest(kernel.arch, kernel.image,
			  guest.build_minimal_image(src, kernel.name, cross))


def _machine(g, name, mode, panic, append='', timeout=120):
	s = SYSTEMS[g.arch]
	return qemu.Machine(name=f'{g.arch}-{name}', kernel=g.image, initrd=g.initrd,
			    append=f'{s.console} ph.mode={mode} panic={panic} {append}'.strip(),
			    timeout=timeout, accel=list(s.accel), arch=g.arch)


def _busy(g, name, mode, ready, append=''):
	return busy_fraction(_machine(g, name, mode, 0, append), ready)


def halts_after_panic(g):
	"""panic=0: the panicked guest costs the host about what an idle one does."""
	busy, log = _busy(g, 'halt', 'panic', 'end Kernel panic')
	idle, _ = _busy(g, 'idle', 'idle', 'ph-init: idle')
	expect(busy < HALTED_MAX, f'QEMU used {busy:.0%} of a core after the panic '
	       f'(idle guest: {idle:.0%}; halted should be under {HALTED_MAX:.0%})', log)
	return f'panicked {busy:.1%} of a core, idle {idle:.1%}'


def spins_on_request(g):
	"""panic_halt=spin: the busy wait is back, and the measurement sees it."""
	busy, log = _busy(g, 'spin', 'panic', 'end Kernel panic', 'panic_halt=spin')
	expect(busy > SPINNING_MIN, f'QEMU used only {busy:.0%} of a core with panic_halt=spin', log)
	return f'spinning {busy:.0%} of a core'


def reboots_on_time(g, seconds=3):
	"""panic=N while halted: the timer still wakes the panic CPU to reboot."""
	out = qemu.run(_machine(g, 'reboot', 'panic', seconds, timeout=100))
	log = out.rundir / 'serial.log'
	panic = out.first('Kernel panic - not syncing')
	expect(panic and not out.timed_out, 'no reboot after the panic', log)
	took = out.wall_seconds - panic.t
	expect(seconds * 0.9 < took < seconds + 3, f'rebooted {took:.2f} s after the panic, '
	       f'asked for {seconds} s', log)
	return f'rebooted {took:.2f} s after the panic (panic={seconds})'


def hyperv_kunit(g):
	"""The Hyper-V panic-order KUnit suite, built in, passes at boot."""
	out = qemu.run(_machine(g, 'kunit', 'idle', 0), until=lambda q: q.seen('ph-init: idle'))
	return slot_users.expect_kunit_passed(out, 'hv_panic')


GUEST_CHECKS = {'arm64': (halts_after_panic, spins_on_request, reboots_on_time, hyperv_kunit),
		'riscv64': (halts_after_panic, spins_on_request, reboots_on_time)}


def compiler_checks(kernel, tree, src):
	"""W=1 (and sparse where Debian's sparse copes) on kernel's touched
	objects: nothing new against the unpatched tree."""
	return lint.compiler_checks_vs_pristine(kernel, tree, src, kernel.arch not in NO_SPARSE)
