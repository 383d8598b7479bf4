# SPDX-License-Identifier: GPL-2.0
"""pvpanic latency benchmark, patched and unpatched side by side in one run:

  panic -> pvpanic event: patched vs unpatched with crash_kexec_post_notifiers=1
                          (the only way stock 6.12 reports with kdump loaded)
  panic -> capture kernel's first line: patched vs unpatched (plain kdump)

Times are host seconds between the console line "Kernel panic - not
syncing", the QMP event and the capture kernel's banner, medians over the
runs. A measurement, not a test: it only fails when a run does not capture.
"""

import statistics

from . import kernels, pvpanic, qemu, scenario
from .common import log

VARIANTS = (
	# name, kernel, extra command line
	('patched', 'patched', ''),
	('unpatched+post_notifiers', 'unpatched', 'crash_kexec_post_notifiers=1'),
	('unpatched', 'unpatched', ''),
)


def _measure(g, name, append, i):
	out = qemu.run(scenario.machine(g, f'bench-pvpanic-{name}-{i}', 'kdump', append,
					devices=pvpanic.DEVICES['isa']))
	scenario.expect_captured(out)
	panic = out.first(scenario.PANIC_LINE).t
	events = [e for e in out.events if e.name == pvpanic.CRASHLOADED]
	return {
		'event': events[0].t - panic if events else None,
		'capture': scenario.capture_banner(out).t - panic,
	}


def _median(values):
	values = [v for v in values if v is not None]
	return statistics.median(values) if values else None


def _fmt(seconds):
	return 'none' if seconds is None else f'{seconds * 1000:8.1f} ms'


def run(runs=5):
	guests = scenario.built(kernels.patched, kernels.unpatched)
	samples = {name: [] for name, _, _ in VARIANTS}
	for i in range(runs):        # interleaved, so drift hits every variant alike
		for name, kernel, append in VARIANTS:
			samples[name].append(_measure(guests[kernel], name, append, i))
			log(f'run {i + 1}/{runs} {name}: {samples[name][-1]}')
	med = {name: {k: _median([s[k] for s in samples[name]]) for k in ('event', 'capture')}
	       for name in samples}
	print(f'\npvpanic latency, medians of {runs} runs (TCG, host clock):')
	print(f'  {"variant":28} {"panic->event":>14} {"panic->capture":>16}')
	for name in samples:
		print(f'  {name:28} {_fmt(med[name]["event"]):>14} {_fmt(med[name]["capture"]):>16}')
	ev_p, ev_u = med['patched']['event'], med['unpatched+post_notifiers']['event']
	cap_p, cap_u = med['patched']['capture'], med['unpatched']['capture']
	print('ratios:')
	if ev_p and ev_u:
		print(f'  panic->event, unpatched+post_notifiers / patched: {ev_u / ev_p:.2f}')
	print(f'  panic->event, unpatched without post_notifiers: '
	      f'{"no event in any run" if med["unpatched"]["event"] is None else "event seen"}')
	print(f'  panic->capture, patched / unpatched: {cap_p / cap_u:.2f}')
