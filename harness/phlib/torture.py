# SPDX-License-Identifier: GPL-2.0
"""The torture matrix: the panic path under every way in, on every
platform. Two kinds of cells:

- wait cells (context x platform, and tick configuration on riscv64): a
  panic from process, softirq, hard interrupt, timer interrupt (a soft
  lockup, BUG() in an hrtimer) or NMI context must reboot after panic=3
  on time, and with panic=0 the vCPU must go quiet;
- hook cells (case x platform, with and without a capture kernel): a hook
  that oopses or panics again, panics on all CPUs at once, a panic while
  another CPU spins with interrupts off, a printk flood: each hook runs
  exactly once, the record says so, and the capture or the reboot comes.

The test command runs each cell once; `ph torture` runs each N times,
beside the unpatched kernel, and prints the table."""

import statistics
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

from . import measure, qemu, scenario
from .arches import PLATFORMS
from .context import Context
from .guest import Guest
from .report import CheckFailed, Skipped, expect

REBOOT_SECONDS = 3
QUIET_WINDOW = 4.0
# Quiet enough: the vCPUs used less than this share of a core...
QUIET_BUSY = 0.01
# ... and woke no more than this many times a second.
QUIET_WAKEUPS_PER_S = 1.0


@dataclass(frozen=True)
class Context_:
	"""A way into the panic path: what /init crashes with, and how."""
	name: str
	crash: str
	append: str = ''
	smp: int = 1
	cpu: int = -1
	nmi: bool = False                # the host injects an NMI
	skip: dict[str, str] = field(default_factory=dict)   # platform: why not


SOFTLOCKUP = 'softlockup_panic=1 watchdog_thresh=1'
CONTEXTS = {c.name: c for c in (
	Context_('process', 'sysrq'),
	Context_('softirq', 'PANIC_SOFTIRQ'),
	Context_('hardirq', 'PANIC_HARDIRQ'),
	Context_('timer', 'SOFTLOCKUP', SOFTLOCKUP,
		 skip={'s390x': 's390 has no soft lockup detector (the timer-oops cell covers it)'}),
	Context_('timer-oops', 'BUG_HRTIMER'),
	Context_('nmi', 'nmi', 'unknown_nmi_panic=1', nmi=True),
)}

# Tick configurations, run on riscv64 at boot on one NO_HZ_FULL and
# HIGH_RES_TIMERS kernel, whose modes the parameters select; `ph torture
# --built-ticks` also boots a kernel built for each.
TICK_KERNEL = 'riscv64-nohz-full-hrt'
TICKS = {
	'periodic': ('nohz=off highres=off', 1, -1),
	'periodic-hrt': ('nohz=off', 1, -1),
	'nohz-idle': ('highres=off', 1, -1),
	'nohz-idle-hrt': ('', 1, -1),
	'nohz-full': ('nohz_full=1 highres=off', 2, 1),
	'nohz-full-hrt': ('nohz_full=1', 2, 1),
}

KERNEL_OF = {'x86_64': 'x86_64', 'i386': 'i386', 'arm64-gicv3': 'arm64',
	     'arm64-gicv2': 'arm64', 'riscv64': 'riscv64', 'ppc64le': 'ppc64le',
	     's390x': 's390x'}
WAIT_PLATFORMS = list(KERNEL_OF)
HOOK_PLATFORMS = ['x86_64', 'arm64-gicv3', 'riscv64']

HOOK_FAULT = 'lkdtm.cpoint_name=PANIC_HOOK lkdtm.cpoint_type=EXCEPTION lkdtm.cpoint_count=1'
HOOK_PANIC = 'lkdtm.cpoint_name=PANIC_HOOK lkdtm.cpoint_type=PANIC lkdtm.cpoint_count=1'


@dataclass(frozen=True)
class HookCase:
	name: str
	crash: str
	append: str
	smp: int = 1
	status: str = 'ok'              # the pvpanic hook's status in the record


HOOK_CASES = {c.name: c for c in (
	HookCase('fault-under-die-lock', 'EXCEPTION', 'oops=panic ' + HOOK_FAULT, status='reentered'),
	HookCase('fault', 'sysrq', HOOK_FAULT, status='reentered'),
	HookCase('panic', 'sysrq', HOOK_PANIC, status='reentered'),
	HookCase('all-cpus', 'PANIC_ALL_CPUS', '', smp=2),
	HookCase('stop-irqoff', 'PANIC_STOP_IRQOFF', '', smp=2),
	HookCase('printk-flood', 'PANIC_PRINTK_FLOOD', '', smp=2),
)}


@dataclass
class WaitFigures:
	reboot: Optional[float]
	cpu: float
	wakeups: int
	window: float
	logs: list[str]

	@property
	def ok(self) -> bool:
		return measure.on_time(self.reboot, REBOOT_SECONDS) and self.quiet

	@property
	def quiet(self) -> bool:
		return self.cpu / self.window < QUIET_BUSY and \
			self.wakeups / self.window <= QUIET_WAKEUPS_PER_S


def _nmi_action(q: qemu.Qemu) -> None:
	q.qmp('inject-nmi')


def _machine(g: Guest, platform: str, name: str, crash: str, append: str, panic: int,
	     smp: int = 1, cpu: int = -1, mode: str = 'panic') -> qemu.Machine:
	words = append + (f' ph.cpu={cpu}' if cpu >= 0 else '')
	return scenario.machine(g, name, mode, words.strip(), crash=crash, panic=panic,
				platform=platform, smp=smp, timeout=90)


def _run(m: qemu.Machine, action: Optional[Callable[[qemu.Qemu], None]],
	 until: Optional[str] = None) -> qemu.Outcome:
	"""Run m; do action once the guest waits for it; stop at until, or
	at QEMU's exit."""
	with qemu.Qemu(m) as q:
		if action:
			if q.wait(lambda q: q.seen('ph-init: waiting for an NMI')) != qemu.CONDITION:
				raise CheckFailed('the guest never waited for its NMI', q.rundir / 'serial.log')
			action(q)
		seen = q.wait(lambda q: q.seen(until)) if until else q.wait()
		alive = q.qmp_alive() if seen != qemu.TIMEOUT else False
		wall = q.now()
		q.kill()
	return qemu.Outcome(m, list(q.lines), list(q.events), q.proc.returncode,
			    seen == qemu.TIMEOUT, q.cpu_seconds(), wall, q.rundir, alive)


def wait_cell(g: Guest, platform: str, label: str, crash: str, append: str, smp: int = 1,
	      cpu: int = -1, nmi: bool = False) -> WaitFigures:
	"""panic=3 reboot timing and the quiet of panic=0, for one way in."""
	action = _nmi_action if nmi else None
	out = _run(_machine(g, platform, f'torture-{label}-reboot', crash, append, REBOOT_SECONDS,
			    smp, cpu), action)
	panic = out.first(scenario.PANIC_LINE)
	took = out.wall_seconds - panic.t if panic and not out.timed_out else None
	m = _machine(g, platform, f'torture-{label}-quiet', crash, append, 0, smp, cpu)
	if nmi:
		with qemu.Qemu(m) as q:
			if q.wait(lambda q: q.seen('ph-init: waiting for an NMI')) != qemu.CONDITION:
				raise CheckFailed('the guest never waited for its NMI', q.rundir / 'serial.log')
			_nmi_action(q)
			if q.wait(lambda q: q.seen(scenario.END_LINE)) != qemu.CONDITION:
				raise CheckFailed('no end of panic after the NMI', q.rundir / 'serial.log')
			time.sleep(measure.SETTLE)
			before = q.vcpus()
			time.sleep(QUIET_WINDOW)
			after = q.vcpus()
			expect(q.alive(), 'QEMU exited during the window', q.rundir / 'serial.log')
			quiet = measure.Quiet(after.cpu - before.cpu, after.wakeups - before.wakeups,
					      QUIET_WINDOW, str(q.rundir / 'serial.log'))
	else:
		quiet = measure.quiet(m, window=QUIET_WINDOW)
	return WaitFigures(took, quiet.cpu, quiet.wakeups, quiet.window, [str(out.serial), quiet.log])


def describe(f: WaitFigures) -> str:
	reboot = f'{f.reboot:.2f} s' if f.reboot is not None else 'none'
	return f'panic={REBOOT_SECONDS} -> reboot {reboot}; panic=0 -> {f.cpu:.3f} s CPU, ' \
	       f'{f.wakeups} wakeups in {f.window:.0f} s'


def expect_wait(f: WaitFigures) -> str:
	why = []
	if not measure.on_time(f.reboot, REBOOT_SECONDS):
		why.append('the reboot was not on time (allowed: 2 % + 0.5 s)')
	if not f.quiet:
		why.append(f'the vCPU was not quiet (allowed under {QUIET_BUSY:.0%} of a core and '
			   f'{QUIET_WAKEUPS_PER_S:g} wakeup a second)')
	expect(not why, describe(f) + ': ' + '; '.join(why), None)
	return describe(f)


def context_cell(ctx: Context, context: str, platform: str, kernel: str = '') -> WaitFigures:
	c = CONTEXTS[context]
	if platform in c.skip:
		raise Skipped(c.skip[platform])
	if c.nmi and not PLATFORMS[platform].nmi:
		raise Skipped(f'{platform} has no NMI the host can inject for a panic')
	g = ctx.guest(kernel or KERNEL_OF[platform])
	return wait_cell(g, platform, f'{g.name}-{platform}-{context}', c.crash, c.append, c.smp,
			 c.cpu, c.nmi)


def tick_cell(ctx: Context, tick: str, kernel: str = TICK_KERNEL) -> WaitFigures:
	append, smp, cpu = TICKS[tick]
	g = ctx.guest(kernel)
	return wait_cell(g, 'riscv64', f'{kernel}-{tick}', 'PANIC_HARDIRQ', append, smp, cpu)


@dataclass
class HookFigures:
	captured: bool              # with a capture kernel: it came up
	record: Optional[str]       # PANIC_HOOKS= it read, with a capture kernel
	events: int                 # pvpanic events QMP saw
	reboot: Optional[float]     # without a capture kernel
	log: str


def hook_cell(ctx: Context, case: str, platform: str, capture: bool) -> HookFigures:
	h = HOOK_CASES[case]
	g = ctx.guest(KERNEL_OF[platform])
	label = f'hook-{case}-{platform}-{"kdump" if capture else "reboot"}'
	m = _machine(g, platform, label, h.crash, h.append, -1 if capture else REBOOT_SECONDS,
		     h.smp, mode='kdump' if capture else 'panic')
	out = qemu.run(m)
	events = len(out.events_named('GUEST_PANICKED', 'GUEST_CRASHLOADED'))
	expect(out.qmp_alive, 'QMP did not answer to the end: events cannot be counted', out.serial)
	if capture:
		captured = bool(scenario.capture_banner(out)) and bool(out.first('ph-init: capture kernel up'))
		return HookFigures(captured, scenario.record_line(out), events, None, str(out.serial))
	panic = out.first('Kernel panic')
	took = out.wall_seconds - panic.t if panic and not out.timed_out else None
	return HookFigures(False, None, events, took, str(out.serial))


def expect_hook(f: HookFigures, case: str, capture: bool) -> str:
	h = HOOK_CASES[case]
	if capture:
		expect(f.captured, 'the capture kernel did not come up', None)
		expect(f.record is not None, 'no PANIC_HOOKS= line in the dump', None)
		want = f'pvpanic:{h.status}:'
		expect(f.record.startswith(want) and f.record.count('pvpanic') == 1,
		       f'PANIC_HOOKS={f.record}, expected the pvpanic hook once, {h.status}')
		events_expected = 0 if h.status == 'reentered' else 1
		expect(f.events == events_expected, f'{f.events} pvpanic events, expected '
		       f'{events_expected} (the hook ran {"not " if not events_expected else ""}once)')
		return f'captured, PANIC_HOOKS={f.record}, {f.events} pvpanic event(s)'
	expect(measure.on_time(f.reboot, REBOOT_SECONDS),
	       f'rebooted after {f.reboot} s, asked for {REBOOT_SECONDS}', None)
	events_expected = 0 if h.status == 'reentered' else 1
	expect(f.events == events_expected, f'{f.events} pvpanic events, expected {events_expected}')
	return f'rebooted {f.reboot:.2f} s after the panic, {f.events} pvpanic event(s)'


def summarize(samples: list[float]) -> str:
	return f'{statistics.median(samples):.2f}' if samples else '-'
