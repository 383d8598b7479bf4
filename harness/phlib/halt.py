# SPDX-License-Identifier: GPL-2.0
"""The wait of a panicked CPU on x86 and 32-bit x86: it halts (the vCPU
goes quiet), also between the blinks of an i8042 keyboard's LEDs, which keep
blinking without a TSC;
panic_halt=spin brings the busy wait back, so the measurement can tell;
panic=N still reboots on time on a 32-bit kernel; a malformed panic_halt=
is reported; the KUnit suites pass on a 32-bit kernel at boot."""

from . import kunit, measure, parsers, qemu, scenario
from .context import Context
from .report import expect

WINDOW = 5.0
HALTED_MAX = 0.02          # of one host core, for a halted guest
SPINNING_MIN = 0.5         # of one host core, for a spinning guest


def _quiet(ctx: Context, kernel: str, name: str, append: str = '', smp: int = 1,
	   devices: tuple[str, ...] = ()) -> measure.Quiet:
	m = scenario.machine(ctx.guest(kernel), name, 'panic', append, devices, smp=smp, panic=0,
			     timeout=60)
	return measure.quiet(m, window=WINDOW)


def halts_after_panic(ctx: Context, smp: int = 1) -> str:
	"""panic=0: the host sees the guest's vCPUs go quiet once its panic is done."""
	q = _quiet(ctx, 'x86_64', f'halt-smp{smp}', smp=smp)
	expect(q.busy < HALTED_MAX and q.wakeups == 0, f'the vCPUs used {q.busy:.1%} of a core and '
	       f'woke {q.wakeups} times in {WINDOW:.0f} s (halted: under {HALTED_MAX:.0%}, none)', q.log)
	return f'{q.cpu:.3f} s CPU, {q.wakeups} wakeups in {WINDOW:.0f} s'


def halts_after_panic_smp2(ctx: Context) -> str:
	"""The same with two CPUs: the stopped one goes quiet too."""
	return halts_after_panic(ctx, smp=2)


def spins_on_request(ctx: Context) -> str:
	"""panic_halt=spin: the old busy wait, for hardware that needs it."""
	q = _quiet(ctx, 'x86_64', 'halt-spin', 'panic_halt=spin')
	expect(q.busy > SPINNING_MIN, f'the vCPU used only {q.busy:.0%} of a core with '
	       'panic_halt=spin', q.log)
	return f'spinning: {q.busy:.0%} of a core'


def halts_between_blinks(ctx: Context) -> str:
	"""An i8042 keyboard's LEDs blink after a panic: the CPU halts between
	toggles, woken by its timer about five times a second."""
	q = _quiet(ctx, 'x86_64-modules', 'halt-blink')
	rate = q.wakeups / WINDOW
	expect(q.busy < 0.1 and 2 <= rate <= 12, f'the vCPU used {q.busy:.1%} of a core and woke '
	       f'{rate:.1f} times a second (expected: under 10 %, about 5 wakeups a second)', q.log)
	return f'{q.busy:.1%} of a core, {rate:.1f} wakeups a second'


# A CPU without a TSC, and QEMU's trace of every byte the guest writes to
# the keyboard: i8042_panic_blink() sends two (0xed, then the LEDs) a toggle.
NO_TSC = ('-cpu', 'qemu64,-tsc', '-trace', 'ps2_write_keyboard')
LED_WRITE = 'ps2_write_keyboard'
# Over the settle time and the window (more than 5 s) at five toggles a
# second: well over this many, unless the blink stopped.
BLINK_TOGGLES_MIN = 10


def blinks_without_tsc(ctx: Context) -> str:
	"""Without a TSC, x86's sched_clock() counts jiffies, which stop once the
	panic wait takes the tick over: the wait must see that it does not move
	and count its steps, so that the LEDs keep blinking, not halt on a
	clock that stands still (the blink would stop after one toggle)."""
	q = _quiet(ctx, 'x86_64-modules', 'halt-blink-no-tsc', devices=NO_TSC)
	lines = open(q.log, errors='replace').read().splitlines()
	panic = next((i for i, ln in enumerate(lines) if 'Kernel panic - not syncing' in ln), None)
	expect(panic is not None, 'no panic in the log', q.log)
	toggles = sum(LED_WRITE in ln for ln in lines[panic:]) // 2
	expect(toggles >= BLINK_TOGGLES_MIN, f'the LEDs toggled {toggles} times after the panic '
	       f'(blinking: at least {BLINK_TOGGLES_MIN})', q.log)
	return f'{toggles} LED toggles after the panic, {q.busy:.0%} of a core (no TSC: spinning)'


def bad_param(ctx: Context) -> str:
	"""A malformed panic_halt= is reported, and the default (halt) kept."""
	q = _quiet(ctx, 'x86_64', 'halt-bad-param', 'panic_halt=sometimes')
	text = open(q.log).read()
	expect('malformed panic_halt=sometimes' in text, 'no message for the malformed value', q.log)
	expect(q.busy < HALTED_MAX, f'the vCPU used {q.busy:.0%} of a core: the default was not kept',
	       q.log)
	return 'reported, and the guest halted'


def i386_reboots_on_time(ctx: Context, seconds: int = 10) -> str:
	"""panic=10 on a 32-bit kernel: ten seconds, not the 1.4 s that a
	nanosecond count in a 32-bit long would give."""
	m = scenario.machine(ctx.guest('i386'), 'i386-panic10', 'panic', panic=seconds,
			     timeout=seconds + 60)
	return measure.expect_reboot_on_time(measure.reboot(m), seconds)


def i386_kunit_at_boot(ctx: Context) -> str:
	"""The KUnit suites of the series, built into the i386 guest, pass at
	boot: the 64-bit arithmetic of the wait on a 32-bit kernel."""
	out = qemu.run(scenario.machine(ctx.guest('i386'), 'i386-kunit', 'idle', timeout=60),
		       until=lambda q: q.seen('ph-init: idle'))
	text = '\n'.join(ln.text for ln in out.lines)
	cases = parsers.ktap(text)
	gaps = parsers.ktap_gaps(text, kunit.SUITES)
	expect(not gaps, '; '.join(gaps), out.serial)
	expect(out.first('ph-init: idle') is not None, 'the guest did not get past the suites to '
	       '/init', out.serial)
	bad = [f'{c.suite}.{c.name} {c.status}' for c in cases if c.status != 'PASS']
	expect(not bad, 'not passed: ' + ', '.join(bad), out.serial)
	return f'{len(cases)} cases passed on i386'
