# SPDX-License-Identifier: GPL-2.0
"""The wait of a panicked CPU, end to end: it halts (the QEMU process goes
quiet), panic_halt=spin brings the busy wait back, panic=N still reboots,
a malformed panic_halt= is reported. Thresholds are generous: these check
behaviour; bench_halt measures it."""

import time

from . import common, qemu, scenario
from .report import expect

WINDOW = 5.0
HALTED_MAX = 0.25       # of one host core, for a halted guest
SPINNING_MIN = 0.5      # of one host core, for a spinning guest


def busy_fraction(m, ready='end Kernel panic'):
	"""(fraction of a host core QEMU uses over WINDOW once the guest has
	printed ready, serial log) for the machine m."""
	with qemu.Qemu(m) as q:
		if not q.wait(lambda q: q.seen(ready), timeout=100):
			raise common.CommandError([m.name], -1, q.rundir / 'serial.log',
						  f'the guest never printed "{ready}"')
		time.sleep(1)
		before = q.cpu_seconds()
		time.sleep(WINDOW)
		busy = (q.cpu_seconds() - before) / WINDOW
	return busy, q.rundir / 'serial.log'


def _busy_fraction(g, name, append, smp=1):
	return busy_fraction(scenario.machine(g, name, 'panic', append, smp=smp, disk=False,
					      panic=0, timeout=120))


def halts_after_panic(g, smp=1):
	"""panic=0: the host sees the guest go idle once its panic is done."""
	busy, log = _busy_fraction(g, f'halt-smp{smp}', '', smp)
	expect(busy < HALTED_MAX, f'QEMU used {busy:.0%} of a core after the panic '
	       f'(halted should be under {HALTED_MAX:.0%})', log)


def halts_after_panic_smp2(g):
	halts_after_panic(g, smp=2)


def spin_on_request(g):
	"""panic_halt=spin: the old busy wait, for hardware that needs it."""
	busy, log = _busy_fraction(g, 'halt-spin', 'panic_halt=spin')
	expect(busy > SPINNING_MIN, f'QEMU used only {busy:.0%} of a core with panic_halt=spin', log)


def reboots_on_time(g, seconds=3, append='', name='halt-reboot'):
	"""panic=N while halted: the reboot still comes, about N s later."""
	m = scenario.machine(g, name, 'panic', append, disk=False, panic=seconds, timeout=60)
	out = qemu.run(m)
	log = out.rundir / 'serial.log'
	panic = out.first(scenario.PANIC_LINE)
	expect(panic and not out.timed_out, 'no reboot after the panic', log)
	took = out.wall_seconds - panic.t
	expect(seconds * 0.9 < took < seconds + 3, f'rebooted {took:.2f} s after the panic, '
	       f'asked for {seconds} s', log)


def spin_reboots_on_time(g):
	"""panic=N with panic_halt=spin: the busy wait counts its steps to N s."""
	reboots_on_time(g, append='panic_halt=spin', name='halt-spin-reboot')


def bad_param(g):
	"""A malformed panic_halt= is reported, and the default (halt) kept."""
	busy, log = _busy_fraction(g, 'halt-bad-param', 'panic_halt=sometimes')
	text = log.read_text()
	expect('malformed panic_halt=sometimes' in text, 'no message for the malformed value', log)
	expect(busy < HALTED_MAX, f'QEMU used {busy:.0%} of a core: the default was not kept', log)


CHECKS = (halts_after_panic, halts_after_panic_smp2, spin_on_request, reboots_on_time,
	  spin_reboots_on_time, bad_param)
