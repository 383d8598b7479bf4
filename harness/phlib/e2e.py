# SPDX-License-Identifier: GPL-2.0
"""End-to-end checks in QEMU: a real panic, a real capture kernel loaded by
kexec-tools, a real dump saved by makedumpfile and read back on the host."""

from . import qemu, scenario
from .report import Skipped, expect

HOOK = 'test_panic_hooks: hook call'


def kdump_capture(g):
	"""Any kernel: panic with a capture kernel loaded; the dump is saved and
	its kernel log, read back without vmlinux, holds the panic."""
	out = qemu.run(scenario.machine(g, f'kdump-{g.name}', 'kdump'))
	d = scenario.expect_captured(out)
	expect('sysrq triggered crash' in d.dmesg, 'dump log lacks the sysrq panic message',
	       out.rundir / 'vmcore-dmesg.txt')
	return out, d


def kdump_capture_kvm(g):
	"""The same capture under KVM, where KVM works; a counted SKIP elsewhere."""
	usable, why = scenario.kvm_probe(g)
	if not usable:
		raise Skipped(why)
	m = scenario.machine(g, f'kdump-kvm-{g.name}', 'kdump')
	m.accel = list(scenario.ACCEL_KVM)
	scenario.expect_captured(qemu.run(m))


def _hook_before_capture(out, calls=1):
	serial = out.rundir / 'serial.log'
	hook = out.first(HOOK)
	expect(hook, 'the test hook never ran', serial)
	expect(out.count(HOOK) == calls, f'the test hook ran {out.count(HOOK)} times, not {calls}',
	       serial)
	banner = scenario.capture_banner(out)
	expect(banner and out.lines.index(hook) < out.lines.index(banner),
	       'the test hook did not run before the capture kernel started', serial)


def _record(d, out):
	info = out.rundir / 'vmcore.elf'
	expect('PANIC_HOOKS' in d.vmcoreinfo, 'VMCOREINFO of the dump has no PANIC_HOOKS line', info)
	return d.vmcoreinfo['PANIC_HOOKS']


def hook_runs_before_capture(g, smp=1):
	"""The test hook runs once, before the capture kernel, and the dump
	records it."""
	out = qemu.run(scenario.machine(g, f'hook-ok-smp{smp}', 'kdump', 'test_panic_hooks.mode=ok',
					smp=smp))
	d = scenario.expect_captured(out)
	_hook_before_capture(out)
	expect(out.first('crash kernel loaded'), 'the hook was not told a capture kernel is loaded',
	       out.rundir / 'serial.log')
	record = _record(d, out)
	expect(record.startswith('test:ok:'), f'PANIC_HOOKS={record}, expected test:ok:<ns>')
	expect(HOOK in d.dmesg, 'the hook\'s line is not in the dump\'s kernel log')


def hook_runs_before_capture_smp2(g):
	"""The same with a second CPU to stop first."""
	hook_runs_before_capture(g, smp=2)


def hook_faults(g):
	"""A hook that oopses: not called again, the capture still happens."""
	out = qemu.run(scenario.machine(g, 'hook-fault', 'kdump', 'test_panic_hooks.mode=fault'))
	d = scenario.expect_captured(out)
	_hook_before_capture(out)
	serial = out.rundir / 'serial.log'
	expect(out.first('BUG: kernel NULL pointer dereference'), 'the hook did not oops', serial)
	expect(out.first('hook test re-entered the panic path'), 'no re-entry line', serial)
	record = _record(d, out)
	expect(record.startswith('test:reentered:'), f'PANIC_HOOKS={record}, expected test:reentered')


def hook_panics(g):
	"""A hook that calls panic() again: same as a fault."""
	out = qemu.run(scenario.machine(g, 'hook-panic', 'kdump', 'test_panic_hooks.mode=panic'))
	d = scenario.expect_captured(out)
	_hook_before_capture(out)
	expect(out.first('panicking again from the hook'), 'the hook did not panic',
	       out.rundir / 'serial.log')
	record = _record(d, out)
	expect(record.startswith('test:reentered:'), f'PANIC_HOOKS={record}, expected test:reentered')


def hooks_disabled(g):
	"""panic_hooks=off: no hook runs, the capture happens, the dump says so."""
	out = qemu.run(scenario.machine(g, 'hooks-off-param', 'kdump',
					'test_panic_hooks.mode=ok panic_hooks=off'))
	d = scenario.expect_captured(out)
	serial = out.rundir / 'serial.log'
	expect(out.first('disabled by panic_hooks=off'), 'no boot message for panic_hooks=off',
	       serial)
	expect(out.count(HOOK) == 0, 'a hook ran although panic_hooks=off', serial)
	expect(_record(d, out) == 'disabled', 'PANIC_HOOKS record is not "disabled"')


def hooks_bad_param(g):
	"""A malformed panic_hooks= is reported and the hooks stay on."""
	out = qemu.run(scenario.machine(g, 'hooks-bad-param', 'kdump',
					'test_panic_hooks.mode=ok panic_hooks=maybe'))
	scenario.expect_captured(out)
	expect(out.first('malformed panic_hooks=maybe'), 'no message for the malformed value',
	       out.rundir / 'serial.log')
	_hook_before_capture(out)


def hook_without_capture_kernel(g):
	"""No capture kernel: the hook still runs, told so, and the panic goes
	on to its reboot (panic=-1; QEMU runs with -no-reboot and exits)."""
	out = qemu.run(scenario.machine(g, 'hook-no-kdump', 'panic', 'test_panic_hooks.mode=ok',
					disk=False, timeout=90))
	serial = out.rundir / 'serial.log'
	expect(out.first('crash kernel not loaded'), 'the hook did not run (or was misinformed)',
	       serial)
	expect(out.count(HOOK) == 1, f'the hook ran {out.count(HOOK)} times', serial)
	expect(not out.timed_out, 'the panic did not reboot after the hook', serial)


# The checks of the pre-kdump hooks on the patched kernel, in run order.
HOOK_CHECKS = (hook_runs_before_capture, hook_runs_before_capture_smp2, hook_faults, hook_panics,
	       hooks_disabled, hooks_bad_param, hook_without_capture_kernel)
