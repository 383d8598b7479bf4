# SPDX-License-Identifier: GPL-2.0
"""pvpanic latency, patched and unpatched side by side in one run:

  panic -> pvpanic event: patched vs unpatched with crash_kexec_post_notifiers=1
                          (the only way stock 6.12 reports with kdump loaded)
  panic -> capture kernel's first line: patched vs unpatched (plain kdump)
  QEMU start -> first console line: each kernel's own start-up, which its
                          capture kernel (the same image) repeats inside
                          panic -> capture; under TCG it can differ from one
                          link of the same source to the next

Times are host seconds between the console line "Kernel panic - not
syncing", the QMP event and the capture kernel's banner, medians over the
runs, interleaved so that drift hits every variant alike. A measurement,
not a test: it only stops when a run does not capture."""

import statistics
from typing import Optional

from . import pvpanic, qemu, scenario
from .common import log
from .context import Context
from .guest import Guest

VARIANTS = (
	# name, kernel, extra command line
	('patched', 'x86_64', ''),
	('unpatched+post_notifiers', 'x86_64-unpatched', 'crash_kexec_post_notifiers=1'),
	('unpatched', 'x86_64-unpatched', ''),
)


def _measure(g: Guest, name: str, append: str, i: int) -> dict[str, Optional[float]]:
	out = qemu.run(scenario.machine(g, f'bench-pvpanic-{name}-{i}', 'kdump', append,
					devices=pvpanic.DEVICES['isa'], pvpanic=False))
	scenario.expect_capture_kernel(out)
	panic = out.first(scenario.PANIC_LINE)
	banner = scenario.capture_line(out)
	first = out.first('Linux version')
	assert panic and first
	events = out.events_named(pvpanic.CRASHLOADED, pvpanic.PANICKED)
	return {'event': events[0].t - panic.t if events else None, 'capture': banner.t - panic.t,
		'start': first.t}


KEYS = ('event', 'capture', 'start')


def _median(values: list[Optional[float]]) -> Optional[float]:
	have = [v for v in values if v is not None]
	return statistics.median(have) if have else None


def _fmt(seconds: Optional[float]) -> str:
	return 'none' if seconds is None else f'{seconds * 1000:8.1f} ms'


def run(ctx: Context, runs: int) -> None:
	samples: dict[str, list[dict[str, Optional[float]]]] = {name: [] for name, _, _ in VARIANTS}
	for i in range(runs):
		for name, kernel, append in VARIANTS:
			samples[name].append(_measure(ctx.guest(kernel), name, append, i))
			log(f'run {i + 1}/{runs} {name}: {samples[name][-1]}')
	med = {name: {k: _median([s[k] for s in samples[name]]) for k in KEYS}
	       for name in samples}
	print(f'\npvpanic latency, medians of {runs} runs (TCG, host clock):')
	print(f'  {"variant":28} {"panic->event":>14} {"panic->capture":>16} {"start->1st line":>16}')
	for name in samples:
		print(f'  {name:28} {_fmt(med[name]["event"]):>14} {_fmt(med[name]["capture"]):>16} '
		      f'{_fmt(med[name]["start"]):>16}')
	ev_p, ev_u = med['patched']['event'], med['unpatched+post_notifiers']['event']
	cap_p, cap_u = med['patched']['capture'], med['unpatched']['capture']
	print('ratios:')
	if ev_p and ev_u:
		print(f'  panic->event, unpatched+post_notifiers / patched: {ev_u / ev_p:.2f}')
	print('  panic->event, unpatched without post_notifiers: '
	      f'{"no event in any run" if med["unpatched"]["event"] is None else "event seen"}')
	if cap_p and cap_u:
		print(f'  panic->capture, patched / unpatched: {cap_p / cap_u:.2f}')
	start_p, start_u = med['patched']['start'], med['unpatched']['start']
	if start_p and start_u:
		ratio = start_p / start_u
		print(f'  start->1st line, patched / unpatched: {ratio:.2f}')
		if not 0.9 <= ratio <= 1.1:
			print('  (the two images start up at different speeds, and so do their capture '
			      'kernels: panic->capture compares start-ups as much as panic paths)')
