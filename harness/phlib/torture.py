# SPDX-License-Identifier: GPL-2.0
"""The torture matrix: the panic path under every way in, on every
platform. Two kinds of cells:

- wait cells (context x platform, and tick configuration on riscv64): a
  panic from process, softirq, hard interrupt, timer interrupt (a soft
  lockup, BUG() in an hrtimer), an oops in a task or NMI context must
  reboot after panic=3
  on time, and with panic=0 the vCPU must go quiet;
- hook cells (case x platform, with and without a capture kernel): a hook
  that oopses or panics again, panics on all CPUs at once, a panic while
  another CPU spins with interrupts off, a printk flood: each hook runs
  exactly once, the record says so, and the capture or the reboot comes.

The test command runs each cell once; `ph torture` runs each N times,
beside the unpatched kernel, and prints the table."""

import fnmatch
import functools
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from . import kernels, measure, qemu, scenario
from .arches import PLATFORMS
from .context import Context, Unavailable
from .guest import Guest
from .report import CheckFailed, Skipped, expect

REBOOT_SECONDS = 3
QUIET_WINDOW = 4.0
# Quiet enough: the vCPUs used less than this share of a core...
QUIET_BUSY = 0.01
# ... and woke no more than this many times a second.
QUIET_WAKEUPS_PER_S = 1.0


@dataclass(frozen=True)
class PanicWay:
	"""How a cell's guest crashes: /init's ph.crash, the words it adds to
	the command line, whether the host injects an NMI, and the console
	line that shows the panic came that way (if one must)."""
	crash: str
	append: str
	host_injects: bool = False
	proof: str = ''                  # the console line that shows it, if any


# arm64 has no NMI the host can inject. With GICv3's priority masking
# (pseudo-NMIs), the PMU interrupt of the perf hard lockup detector is one,
# and it panics the CPU that LKDTM's HARDLOCKUP keeps with interrupts off.
PSEUDO_NMI_WATCHDOG = PanicWay('HARDLOCKUP',
			       'irqchip.gicv3_pseudo_nmi=1 nmi_watchdog=panic watchdog_thresh=1',
			       proof='Kernel panic - not syncing: Hard LOCKUP')
GUEST_NMI = {'arm64-gicv3': PSEUDO_NMI_WATCHDOG}


def panic_from_nmi(platform: str) -> PanicWay:
	"""The host's NMI where QMP can inject one (/init waits for it), else
	the guest's own; Skipped where there is neither."""
	if platform in GUEST_NMI:
		return GUEST_NMI[platform]
	if PLATFORMS[platform].nmi:
		return PanicWay('nmi', 'unknown_nmi_panic=1', True)
	raise Skipped(f'{platform} has no NMI, from the host or the guest, to panic on')


@dataclass(frozen=True)
class Context_:
	"""A way into the panic path: what /init crashes with, and how."""
	name: str
	crash: str
	append: str = ''
	smp: int = 1
	cpu: int = -1
	nmi: bool = False                # in NMI context: see panic_from_nmi()
	skip: dict[str, str] = field(default_factory=dict)   # platform: why not
	# platform: why the wait may spin there (documented fallbacks); the
	# reboot must still come on time.
	spins: dict[str, str] = field(default_factory=dict)


SOFTLOCKUP = 'softlockup_panic=1 watchdog_thresh=1'
# LKDTM crash types the series adds (patch "lkdtm: Add a crash point in the
# pre-kdump hooks and panics from every context"): not in unpatched kernels.
SERIES_CRASH_TYPES = ('PANIC_SOFTIRQ', 'PANIC_HARDIRQ', 'BUG_HRTIMER', 'PANIC_ALL_CPUS',
		      'PANIC_PRINTK_FLOOD')
CONTEXTS = {c.name: c for c in (
	Context_('process', 'sysrq'),
	Context_('softirq', 'PANIC_SOFTIRQ'),
	Context_('hardirq', 'PANIC_HARDIRQ'),
	Context_('timer', 'SOFTLOCKUP', SOFTLOCKUP,
		 skip={'s390x': 's390 has no soft lockup detector (the timer-oops cell covers it)'}),
	Context_('timer-oops', 'BUG_HRTIMER'),
	# BUG() in a task, oops=panic: under die_lock; on riscv the breakpoint
	# trap is taken as an NMI, so this is its panic in NMI context.
	Context_('oops', 'BUG', 'oops=panic'),
	Context_('nmi', 'nmi', nmi=True,
		 skip={'arm64-gicv2': 'GICv2 has no priority masking, so arm64 has no NMI there'},
		 spins={'ppc64le': 'powerpc does not halt in a system reset (NMI) handler: the '
			'wait spins there, as documented in its patch'}),
	Context_('process-smp2', 'sysrq', smp=2, cpu=1,
		 spins={'ppc64le': 'powerpc\'s stop_this_cpu() keeps the stopped CPUs spinning (at '
			'low SMT priority), as in 6.12: the series halts the panic CPU only'}),
)}

# Tick modes, selected at boot on a NO_HZ_FULL and HIGH_RES_TIMERS kernel
# (kernels.TICK_KERNELS): (parameters, CPUs, CPU that panics). The test
# command runs them on riscv64, `ph torture` on each tick platform; the
# panic comes from process context so that the unpatched kernel, which
# lacks the series' LKDTM crash types, runs the same cell.
TICKS = {
	'periodic': ('nohz=off highres=off', 1, -1),
	'periodic-hrt': ('nohz=off', 1, -1),
	'nohz-idle': ('highres=off', 1, -1),
	'nohz-idle-hrt': ('', 1, -1),
	'nohz-full': ('nohz_full=1 highres=off', 2, 1),
	'nohz-full-hrt': ('nohz_full=1', 2, 1),
}
TICK_PLATFORM = 'riscv64'

KERNEL_OF = {'x86_64': 'x86_64', 'i386': 'i386', 'arm64-gicv3': 'arm64',
	     'arm64-gicv2': 'arm64', 'riscv64': 'riscv64', 'ppc64le': 'ppc64le',
	     's390x': 's390x'}
WAIT_PLATFORMS = list(KERNEL_OF)
HOOK_PLATFORMS = ['x86_64', 'arm64-gicv3', 'riscv64', 'ppc64le']

HOOK_FAULT = 'lkdtm.cpoint_name=PANIC_HOOK lkdtm.cpoint_type=EXCEPTION lkdtm.cpoint_count=1'
HOOK_PANIC = 'lkdtm.cpoint_name=PANIC_HOOK lkdtm.cpoint_type=PANIC lkdtm.cpoint_count=1'


@dataclass(frozen=True)
class HookCase:
	name: str
	crash: str
	append: str
	smp: int = 1
	status: str = 'ok'              # the pvpanic hook's status in the record
	# crash_kexec_post_notifiers: pvpanic's notifier reports before the hook runs
	notifiers_first: bool = False
	nmi: bool = False               # crash and append from panic_from_nmi()


HOOK_CASES = {c.name: c for c in (
	HookCase('fault-under-die-lock', 'EXCEPTION', 'oops=panic ' + HOOK_FAULT, status='reentered'),
	HookCase('fault', 'sysrq', HOOK_FAULT, status='reentered'),
	HookCase('panic', 'sysrq', HOOK_PANIC, status='reentered'),
	HookCase('all-cpus', 'PANIC_ALL_CPUS', '', smp=2),
	HookCase('stop-irqoff', 'PANIC_STOP_IRQOFF', '', smp=2),
	HookCase('printk-flood', 'PANIC_PRINTK_FLOOD', '', smp=2),
	HookCase('fault-after-notifiers', 'EXCEPTION',
		 'oops=panic crash_kexec_post_notifiers ' + HOOK_FAULT, status='reentered',
		 notifiers_first=True),
	HookCase('nmi', '', '', smp=2, nmi=True),
)}


@dataclass
class WaitFigures:
	reboot: Optional[float]
	cpu: float
	wakeups: int
	window: float
	logs: list[str]
	spins: str = ''         # why the wait may spin in this cell, if it may

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
	with qemu.booted(m) as q:
		if action:
			if q.wait(lambda q: q.seen('ph-init: waiting for an NMI')) != qemu.CONDITION:
				raise CheckFailed('the guest never waited for its NMI', q.rundir / 'serial.log')
			action(q)
		seen = q.wait(_seeing(until)) if until is not None else q.wait()
		alive = q.qmp_alive() if seen != qemu.TIMEOUT else False
		wall = q.now()
		q.kill()
	return qemu.Outcome(m, list(q.lines), list(q.events), qemu.exit_code(q, seen == qemu.EXITED),
			    seen == qemu.TIMEOUT, q.cpu_seconds(), wall, q.rundir, alive,
			    list(q.replies_at))


def _seeing(needle: str) -> Callable[[qemu.Qemu], bool]:
	return lambda q: q.seen(needle)


def wait_cell(g: Guest, platform: str, label: str, crash: str, append: str, smp: int = 1,
	      cpu: int = -1, nmi: bool = False) -> WaitFigures:
	"""panic=3 reboot timing and the quiet of panic=0, for one way in."""
	action = _nmi_action if nmi else None
	out = _run(_machine(g, platform, f'torture-{label}-reboot', crash, append, REBOOT_SECONDS,
			    smp, cpu), action)
	took = measure.reboot_seconds(out)
	m = _machine(g, platform, f'torture-{label}-quiet', crash, append, 0, smp, cpu)
	if nmi:
		with qemu.booted(m) as q:
			if q.wait(lambda q: q.seen('ph-init: waiting for an NMI')) != qemu.CONDITION:
				raise CheckFailed('the guest never waited for its NMI', q.rundir / 'serial.log')
			_nmi_action(q)
			if q.wait(scenario.panic_done(platform)) != qemu.CONDITION:
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
	if not f.quiet and not f.spins:
		why.append(f'the vCPU was not quiet (allowed under {QUIET_BUSY:.0%} of a core and '
			   f'{QUIET_WAKEUPS_PER_S:g} wakeup a second)')
	expect(not why, describe(f) + ': ' + '; '.join(why), None)
	if not f.quiet:
		return f'{describe(f)} (spins: {f.spins})'
	return describe(f)


def context_cell(ctx: Context, context: str, platform: str, kernel: str = '') -> WaitFigures:
	c = CONTEXTS[context]
	if platform in c.skip:
		raise Skipped(c.skip[platform])
	way = panic_from_nmi(platform) if c.nmi else PanicWay(c.crash, c.append)
	kernel = kernel or KERNEL_OF[platform]
	if kernel.endswith('-unpatched') and way.crash in SERIES_CRASH_TYPES:
		raise Skipped(f'LKDTM has no {way.crash} without the series')
	g = ctx.guest(kernel)
	f = wait_cell(g, platform, f'{g.name}-{platform}-{context}', way.crash, way.append, c.smp,
		      c.cpu, way.host_injects)
	if way.proof:
		expect_panic_line(f, way.proof)
	f.spins = c.spins.get(platform, '')
	return f


def expect_panic_line(f: WaitFigures, line: str) -> None:
	"""Both runs of a wait cell panicked with line: a guest that crashed
	some other way (its NMI never came, say) is not this cell's context."""
	for log in f.logs:
		text = Path(log).read_text(errors='replace')
		expect(line in text, f'no "{line}" on the console: the panic did not come from '
		       'where this cell says', Path(log))


def tick_cell(ctx: Context, tick: str, platform: str = TICK_PLATFORM,
	      kernel: str = '') -> WaitFigures:
	append, smp, cpu = TICKS[tick]
	g = ctx.guest(kernel or kernels.TICK_KERNELS[platform])
	return wait_cell(g, platform, f'{g.name}-{platform}-tick-{tick}', 'sysrq', append, smp, cpu)


@dataclass
class HookFigures:
	captured: bool              # with a capture kernel: it came up
	record: Optional[str]       # PANIC_HOOKS= it read, with a capture kernel
	events: int                 # pvpanic events QMP saw
	reboot: Optional[float]     # without a capture kernel
	log: str
	# Without a capture kernel: the console said the hook re-entered.
	reentered_line: bool = False


# What panic_hooks.c prints when the pvpanic hook re-enters the panic path.
REENTERED_LINE = 'hook pvpanic re-entered the panic path'
# pseries tells the host of a panic itself (RTAS ibm,os-term, from the
# last panic notifier), and QEMU reports that as GUEST_PANICKED too; it
# says this on its stderr each time, which is not pvpanic's event.
OS_TERM_LINE = 'qemu-system-ppc64: OS terminated:'


def pvpanic_events(out: qemu.Outcome) -> int:
	"""pvpanic's events among QMP's panic events."""
	return len(out.events_named('GUEST_PANICKED', 'GUEST_CRASHLOADED')) - out.count(OS_TERM_LINE)


def hook_cell(ctx: Context, case: str, platform: str, capture: bool) -> HookFigures:
	h = HOOK_CASES[case]
	way = panic_from_nmi(platform) if h.nmi else PanicWay(h.crash, h.append)
	g = ctx.guest(KERNEL_OF[platform])
	label = f'hook-{case}-{platform}-{"kdump" if capture else "reboot"}'
	m = _machine(g, platform, label, way.crash, way.append,
		     -1 if capture else REBOOT_SECONDS, h.smp, mode='kdump' if capture else 'panic')
	out = _run(m, _nmi_action) if way.host_injects else qemu.run(m)
	# printk in NMI context only stores the line, and kdump is entered
	# before the console is flushed: only the cell without a capture kernel
	# can show the panic line. With one, the CPU that LKDTM keeps spinning
	# with interrupts off can only have been taken to kdump by an NMI.
	expect(capture or not way.proof or bool(out.first(way.proof)),
	       f'no "{way.proof}" on the console: the panic did not come from where this cell '
	       'says', out.serial)
	events = pvpanic_events(out)
	if capture:
		banner = scenario.capture_banner(out)
		expect(banner is None or out.qmp_answered_after(banner.t), 'QMP did not answer after '
		       'the capture kernel started: events cannot be counted', out.serial)
		captured = bool(scenario.capture_banner(out)) and bool(out.first('ph-init: capture kernel up'))
		return HookFigures(captured, scenario.record_line(out), events, None, str(out.serial))
	expect(out.qmp_alive, 'QMP did not answer to the end: events cannot be counted', out.serial)
	return HookFigures(False, None, events, measure.reboot_seconds(out), str(out.serial),
			   bool(out.first(REENTERED_LINE)))


def expect_hook(f: HookFigures, case: str, capture: bool) -> str:
	h = HOOK_CASES[case]
	if capture:
		expect(f.captured, 'the capture kernel did not come up', None)
		record = f.record or ''
		expect(f.record is not None, 'no PANIC_HOOKS= line in the dump', None)
		want = f'pvpanic:{h.status}:'
		expect(record.startswith(want) and record.count('pvpanic') == 1,
		       f'PANIC_HOOKS={f.record}, expected the pvpanic hook once, {h.status}')
		# The hook reports when it ends; the notifier, when it runs first.
		events_expected = 0 if h.status == 'reentered' and not h.notifiers_first else 1
		expect(f.events == events_expected, f'{f.events} pvpanic events, expected '
		       f'{events_expected}')
		return f'captured, PANIC_HOOKS={f.record}, {f.events} pvpanic event(s)'
	took = 'no reboot' if f.reboot is None else f'rebooted {f.reboot:.2f} s into the wait'
	expect(measure.on_time(f.reboot, REBOOT_SECONDS), f'{took}, asked for {REBOOT_SECONDS} s',
	       f.log)
	# pvpanic's notifier reports too when the hook never ran: only the
	# console shows that the crash point in the hook was hit.
	if h.status == 'reentered':
		expect(f.reentered_line, f'no "{REENTERED_LINE}" line: the hook did not run, or '
		       'its crash point did not fire', f.log)
	# Without a capture kernel the host hears of the panic once: from the
	# hook, or, when the hook died before telling it, from pvpanic's
	# notifier, which reports only what the hook did not.
	expect(f.events == 1, f'{f.events} pvpanic events, expected exactly 1', f.log)
	return f'{took}, 1 pvpanic event'


# The whole matrix (harness/ph torture) -------------------------------------

@dataclass
class Cell:
	"""One cell of the matrix: a name, the kernels it boots, and a run of
	it on a kernel (patched, or its unpatched twin) giving figures."""
	name: str
	kind: str                                   # 'wait' or 'hook'
	kernel: str
	run: Callable[[Context, str], Any]
	verdict: Callable[[Any], str]
	unpatched: bool = True                      # whether it has an unpatched twin


def cells() -> list[Cell]:
	out = []
	for context in CONTEXTS:
		for platform in WAIT_PLATFORMS:
			out.append(Cell(f'{context} on {platform}', 'wait', KERNEL_OF[platform],
					functools.partial(_context_on, context=context, platform=platform),
					expect_wait))
	for platform, kernel in kernels.TICK_KERNELS.items():
		for tick in TICKS:
			out.append(Cell(f'tick {tick} on {platform}', 'wait', kernel,
					functools.partial(_tick_on, tick=tick, platform=platform),
					expect_wait))
	for case in HOOK_CASES:
		for platform in HOOK_PLATFORMS:
			for capture in (True, False):
				how = 'capture kernel loaded' if capture else 'no capture kernel'
				out.append(Cell(f'hook {case} on {platform}, {how}', 'hook',
						KERNEL_OF[platform],
						functools.partial(_hook_on, case=case, platform=platform,
								  capture=capture),
						functools.partial(expect_hook, case=case, capture=capture),
						unpatched=False))
	return out


def _context_on(ctx: Context, kernel: str, context: str, platform: str) -> WaitFigures:
	return context_cell(ctx, context, platform, kernel)


def _tick_on(ctx: Context, kernel: str, tick: str, platform: str) -> WaitFigures:
	return tick_cell(ctx, tick, platform, kernel)


def _hook_on(ctx: Context, kernel: str, case: str, platform: str, capture: bool) -> HookFigures:
	return hook_cell(ctx, case, platform, capture)


@dataclass
class Tally:
	"""The runs of one cell on one kernel."""
	passed: int = 0
	failed: int = 0
	skipped: str = ''
	figures: list[Any] = field(default_factory=list)
	failures: list[str] = field(default_factory=list)


def _one(ctx: Context, cell: Cell, kernel: str, tally: Tally) -> None:
	try:
		f = cell.run(ctx, kernel)
	except Skipped as e:
		tally.skipped = str(e)
		return
	except (CheckFailed, Unavailable) as e:
		tally.failed += 1
		tally.failures.append(str(e))
		return
	tally.figures.append(f)
	if kernel.endswith('-unpatched'):
		return                      # measured, not judged: the series' promises
	try:
		cell.verdict(f)
		tally.passed += 1
	except CheckFailed as e:
		tally.failed += 1
		tally.failures.append(str(e))


def _median(values: list[float]) -> str:
	return f'{statistics.median(values):6.2f}' if values else '     -'


def _wait_columns(t: Tally) -> str:
	if t.skipped:
		return f'{"n/a":>6} {"":>7} {"":>6}'
	reboots = [f.reboot for f in t.figures if f.reboot is not None]
	never = len(t.figures) - len(reboots)
	cpu = statistics.median([f.cpu / f.window for f in t.figures]) if t.figures else 0.0
	wake = statistics.median([f.wakeups / f.window for f in t.figures]) if t.figures else 0.0
	reboot = _median(reboots) if not never else f'{never}x no'
	return f'{reboot:>6} {cpu:7.1%} {wake:6.1f}'


def table(rows: list[tuple[Cell, Tally, Optional[Tally]]], runs: int) -> str:
	"""The matrix as text: per wait cell, patched beside unpatched, the
	median reboot seconds for panic=3, the vCPU's share of a core and its
	wake-ups a second with panic=0; per hook cell, the success rate."""
	lines = [f'Wait after a panic, {runs} run(s) per cell, medians (TCG; panic={REBOOT_SECONDS} '
		 f'reboot time in s; panic=0: vCPU share of a core, wake-ups/s over {QUIET_WINDOW:g} s)',
		 f'  {"cell":32} {"ok":>5} | {"patched":^21} | {"unpatched 6.12":^21}',
		 f'  {"":32} {"":>5} | {"reboot":>6} {"CPU":>7} {"wake":>6} | '
		 f'{"reboot":>6} {"CPU":>7} {"wake":>6}']
	for cell, t, u in rows:
		if cell.kind != 'wait':
			continue
		ok = 'skip' if t.skipped else f'{t.passed}/{t.passed + t.failed}'
		lines.append(f'  {cell.name:32} {ok:>5} | {_wait_columns(t)} | '
			     f'{_wait_columns(u) if u else "":>21}')
	lines += ['', f'Pre-kdump hooks, {runs} run(s) per cell: runs where each hook ran once, the '
		  'record said so, and the capture or the reboot on time came']
	for cell, t, _ in rows:
		if cell.kind == 'hook':
			ok = 'skip' if t.skipped else f'{t.passed}/{t.passed + t.failed}'
			lines.append(f'  {cell.name:62} {ok:>5}')
	skipped = [(c.name, t.skipped) for c, t, _ in rows if t.skipped]
	skipped += [(c.name + ' (unpatched)', u.skipped) for c, _, u in rows if u and u.skipped]
	if skipped:
		lines += ['', 'Not run:'] + [f'  {name}: {why}' for name, why in skipped]
	failures = [(c.name, f) for c, t, _ in rows for f in t.failures[:1]]
	if failures:
		lines += ['', 'First failure of each failing cell:']
		lines += [f'  {name}: {why.splitlines()[0]}' for name, why in failures]
	return '\n'.join(lines)


def matrix(ctx: Context, runs: int, patterns: list[str], unpatched: bool = True,
	   jobs: int = 1) -> bool:
	"""Every selected cell runs times on the patched kernel (and on its
	unpatched twin); prints the table; True when every patched run passed."""
	chosen = [c for c in cells() if not patterns or any(fnmatch.fnmatch(c.name, p) or p in c.name
							     for p in patterns)]
	rows: list[tuple[Cell, Tally, Optional[Tally]]] = [
		(c, Tally(), Tally() if unpatched and c.unpatched else None) for c in chosen]
	work = []
	for c, t, u in rows:
		work.append((c, c.kernel, t))
		if u is not None:
			work.append((c, f'{c.kernel}-unpatched', u))
	for name in dict.fromkeys(k for _, k, _ in work):    # build first, in order
		try:
			ctx.guest(name)
		except Unavailable:
			pass            # the cells on it fail, saying so
	todo = [(c, k, t) for _ in range(runs) for c, k, t in work]
	with ThreadPoolExecutor(max_workers=jobs) as pool:
		for done, _ in enumerate(pool.map(lambda w: _one(ctx, *w), todo), 1):
			if done % 10 == 0:
				print(f'torture: {done}/{len(todo)} runs done', flush=True)
	print(table(rows, runs))
	return all(not t.failed for _, t, _ in rows)
