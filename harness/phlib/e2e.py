# SPDX-License-Identifier: GPL-2.0
"""End-to-end checks on x86_64 in QEMU: a real panic, a real capture kernel
loaded by kexec-tools, a real dump saved by makedumpfile and read back on
the host; the pre-kdump hooks run before it, once, also when one of them
oopses or panics again (LKDTM's PANIC_HOOK crash point)."""

from . import parsers, qemu, scenario
from .context import Context
from .report import CheckFailed, Skipped, expect
from .torture import HOOK_FAULT, HOOK_PANIC

HOOK_LINE = 'panic_hooks: ran pvpanic hook'


def _record(d) -> list[parsers.HookRecord]:
	expect('PANIC_HOOKS' in d.vmcoreinfo, 'VMCOREINFO of the dump has no PANIC_HOOKS line',
	       d.vmcore)
	try:
		return parsers.panic_hooks_record(d.vmcoreinfo['PANIC_HOOKS']) or []
	except parsers.ParseError as e:
		raise CheckFailed(str(e)) from e


def kdump_capture(ctx: Context, kernel: str) -> str:
	"""A panic with a capture kernel loaded: the dump is saved and its kernel
	log, read back without vmlinux, holds the panic."""
	g = ctx.guest(kernel)
	out = qemu.run(scenario.machine(g, f'kdump-{kernel}', 'kdump', disk=True))
	d = scenario.expect_captured(out)
	expect('sysrq triggered crash' in d.dmesg, 'dump log lacks the sysrq panic message',
	       out.rundir / 'vmcore-dmesg.txt')
	return f'dump saved and read back, {d.vmcore.stat().st_size >> 20} MiB'


def kdump_capture_kvm(ctx: Context) -> str:
	"""The same capture under KVM, where a probe boot of the unpatched kernel
	shows KVM works; a counted SKIP elsewhere."""
	usable, why = scenario.kvm_probe(ctx.guest('x86_64-unpatched'))
	if not usable:
		raise Skipped(why)
	m = scenario.machine(ctx.guest('x86_64'), 'kdump-kvm', 'kdump', disk=True)
	m.accel = list(scenario.ACCEL_KVM)
	scenario.expect_captured(qemu.run(m))
	return 'captured under KVM'


def hook_runs_before_capture(ctx: Context, smp: int = 1) -> str:
	"""The pvpanic hook runs once, before the capture kernel, and the dump
	records it."""
	out = qemu.run(scenario.machine(ctx.guest('x86_64'), f'hook-ok-smp{smp}', 'kdump', smp=smp,
					disk=True))
	d = scenario.expect_captured(out)
	line = out.first(HOOK_LINE)
	banner = scenario.capture_line(out)
	expect(line and out.count(HOOK_LINE) == 1, f'the hook line appears {out.count(HOOK_LINE)} '
	       'times, not once', out.serial)
	expect(line and out.lines.index(line) < out.lines.index(banner),
	       'the hook did not run before the capture kernel started', out.serial)
	record = _record(d)
	expect([r.slot for r in record] == ['pvpanic'] and record[0].status == 'ok',
	       f'PANIC_HOOKS={d.vmcoreinfo["PANIC_HOOKS"]}, expected pvpanic:ok:<ns>')
	expect(HOOK_LINE in d.dmesg, 'the hook\'s line is not in the dump\'s kernel log')
	return f'PANIC_HOOKS={d.vmcoreinfo["PANIC_HOOKS"]}'


def hook_runs_before_capture_smp2(ctx: Context) -> str:
	"""The same with a second CPU to stop first."""
	return hook_runs_before_capture(ctx, smp=2)


def hooks_after_notifiers_when_asked(ctx: Context) -> str:
	"""With crash_kexec_post_notifiers, the notifiers and kmsg_dump come
	before the hooks. That is what the switch has always asked for, and
	the capture still follows. panic_print=0x02 prints the memory report
	("Mem-Info:") after the notifiers: the hook's line must come after it."""
	out = qemu.run(scenario.machine(ctx.guest('x86_64'), 'hook-post-notifiers', 'kdump',
					'crash_kexec_post_notifiers panic_print=0x02', disk=True))
	d = scenario.expect_captured(out)
	report, line = out.first('Mem-Info:'), out.first(HOOK_LINE)
	if report is None:
		raise CheckFailed('no panic_print memory report ("Mem-Info:")', out.serial)
	if line is None or out.count(HOOK_LINE) != 1:
		raise CheckFailed(f'the hook line appears {out.count(HOOK_LINE)} times, not once',
				  out.serial)
	expect(out.lines.index(report) < out.lines.index(line),
	       'the hook ran before the notifiers and panic_print', out.serial)
	expect(out.lines.index(line) < out.lines.index(scenario.capture_line(out)),
	       'the hook did not run before the capture kernel started', out.serial)
	record = _record(d)
	expect([(r.slot, r.status) for r in record] == [('pvpanic', 'ok')],
	       f'PANIC_HOOKS={d.vmcoreinfo["PANIC_HOOKS"]}, expected pvpanic:ok:<ns>')
	return f'Mem-Info:, then the hook, then the capture; PANIC_HOOKS={d.vmcoreinfo["PANIC_HOOKS"]}'


def hook_faults_after_notifiers(ctx: Context) -> str:
	"""With crash_kexec_post_notifiers, a hook that oopses after the
	notifiers does not run them again. The panic it causes comes back
	through panic(), past the notifiers, panic_print and kmsg_dump that
	already ran: one "Mem-Info:" report, the hook re-entered, a capture."""
	out = qemu.run(scenario.machine(ctx.guest('x86_64'), 'hook-fault-post-notifiers', 'kdump',
					'crash_kexec_post_notifiers panic_print=0x02 ' + HOOK_FAULT,
					disk=True))
	d = scenario.expect_captured(out)
	expect(out.first('Oops in a pre-kdump panic hook') is not None,
	       'the hook did not oops (no "Oops in a pre-kdump panic hook" panic)', out.serial)
	expect(out.count('Mem-Info:') == 1, f'panic_print ran {out.count("Mem-Info:")} times: the '
	       'notifiers and kmsg_dump ran again for the hook\'s panic', out.serial)
	record = _record(d)
	expect([(r.slot, r.status) for r in record] == [('pvpanic', 'reentered')],
	       f'PANIC_HOOKS={d.vmcoreinfo["PANIC_HOOKS"]}, expected pvpanic:reentered')
	return f'one Mem-Info: report; PANIC_HOOKS={d.vmcoreinfo["PANIC_HOOKS"]}'


def _reentered(ctx: Context, name: str, append: str, said: str) -> str:
	out = qemu.run(scenario.machine(ctx.guest('x86_64'), name, 'kdump', append, disk=True))
	d = scenario.expect_captured(out)
	expect(said in d.dmesg, f'the dump\'s kernel log lacks "{said}"', out.rundir / 'vmcore-dmesg.txt')
	expect('hook pvpanic re-entered the panic path' in d.dmesg, 'no re-entry line in the dump',
	       out.rundir / 'vmcore-dmesg.txt')
	record = _record(d)
	expect([(r.slot, r.status) for r in record] == [('pvpanic', 'reentered')],
	       f'PANIC_HOOKS={d.vmcoreinfo["PANIC_HOOKS"]}, expected pvpanic:reentered')
	return 'captured; PANIC_HOOKS=pvpanic:reentered:0'


def hook_faults(ctx: Context) -> str:
	"""A hook that oopses, in its own context: the oops ends in a panic,
	the hook is not called again, the capture still happens."""
	return _reentered(ctx, 'hook-fault', HOOK_FAULT, 'Oops in a pre-kdump panic hook')


def hook_panics(ctx: Context) -> str:
	"""A hook that calls panic() again: the same."""
	return _reentered(ctx, 'hook-panic', HOOK_PANIC, 'Kernel panic - not syncing: dumptest')


def hooks_disabled(ctx: Context) -> str:
	"""panic_hooks=off: no hook runs, the capture happens, the dump says so,
	and the boot log says what the pvpanic slot no longer does."""
	out = qemu.run(scenario.machine(ctx.guest('x86_64'), 'hooks-off-param', 'kdump',
					'panic_hooks=off', disk=True))
	d = scenario.expect_captured(out)
	expect(out.first('disabled by panic_hooks=off'), 'no boot message for panic_hooks=off',
	       out.serial)
	expect(out.first('panic_hooks=off: pvpanic:'), 'no boot warning of what pvpanic loses',
	       out.serial)
	expect(HOOK_LINE not in d.dmesg, 'a hook ran although panic_hooks=off')
	expect(d.vmcoreinfo.get('PANIC_HOOKS') == 'disabled', 'PANIC_HOOKS record is not "disabled"')
	return 'PANIC_HOOKS=disabled'


def hooks_bad_param(ctx: Context) -> str:
	"""A malformed panic_hooks= is reported and the hooks stay on."""
	out = qemu.run(scenario.machine(ctx.guest('x86_64'), 'hooks-bad-param', 'kdump',
					'panic_hooks=maybe', disk=True))
	d = scenario.expect_captured(out)
	expect(out.first('malformed panic_hooks=maybe'), 'no message for the malformed value',
	       out.serial)
	expect([r.slot for r in _record(d)] == ['pvpanic'], 'the hook did not run')
	return 'reported; PANIC_HOOKS=' + d.vmcoreinfo['PANIC_HOOKS']


def hook_without_capture_kernel(ctx: Context) -> str:
	"""No capture kernel: one GUEST_PANICKED, no hook line, and the panic
	goes on to its reboot, as in 6.12. (That the hook runs without a
	capture kernel is shown by the torture cells whose hook crashes: the
	hook's own console line says so.)"""
	out = qemu.run(scenario.machine(ctx.guest('x86_64'), 'hook-no-kdump', 'panic', timeout=90))
	expect(out.exit_code is not None, 'the panic did not reboot', out.serial)
	events = out.events_named('GUEST_PANICKED', 'GUEST_CRASHLOADED')
	expect([e.name for e in events] == ['GUEST_PANICKED'],
	       f'expected one GUEST_PANICKED, got {[e.name for e in events]}', out.serial)
	expect(not out.first(HOOK_LINE), 'a hook line was printed without a capture to follow',
	       out.serial)
	return 'one GUEST_PANICKED, reboot'
