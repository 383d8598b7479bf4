# SPDX-License-Identifier: GPL-2.0
"""What a panicked guest costs its host, side by side in one run, per
platform:

  (a) unpatched 6.12 after a panic (panic=0: the CPU spins in mdelay())
  (b) patched after a panic (the CPU halts)
  (c) patched, idle at its prompt (the floor)

For each, over a window once the guest settled: the CPU seconds of the
QEMU vCPU threads and their wake-ups (voluntary context switches); then
the ratios (a)/(b) and (b)/(c); and how close panic=10 comes to 10 s,
patched and unpatched. A measurement, not a test (TCG: a spinning vCPU
costs what it would cost on a real host core)."""

import os

from . import measure, scenario
from .common import log
from .context import Context
from .torture import KERNEL_OF

PLATFORMS = ('x86_64', 'arm64-gicv3')
REBOOT_SECONDS = 10


def _quiet(ctx: Context, kernel: str, platform: str, mode: str, window: float) -> measure.Quiet:
	m = scenario.machine(ctx.guest(kernel), f'bench-halt-{kernel}-{platform}-{mode}', mode,
			     panic=0, platform=platform, timeout=window + 120)
	return measure.quiet(m, '' if mode == 'panic' else 'ph-init: idle', window)


def _ratio(a: float, b: float, resolution: float) -> str:
	"""a/b; when b is below what can be measured, a lower bound."""
	if b > 0:
		return f'{a / b:8.1f}'
	return f'>{a / resolution:7.0f}' if a > 0 else '     n/a'


def run(ctx: Context, window: float, platforms: list[str]) -> None:
	rows = []
	for p in platforms:
		k = KERNEL_OF[p]
		a = _quiet(ctx, f'{k}-unpatched', p, 'panic', window)
		b = _quiet(ctx, k, p, 'panic', window)
		c = _quiet(ctx, k, p, 'idle', window)
		log(f'{p}: unpatched panicked {a.cpu:.2f} s, patched panicked {b.cpu:.3f} s, idle {c.cpu:.3f} s')
		reboots = []
		for kernel in (k, f'{k}-unpatched'):
			m = scenario.machine(ctx.guest(kernel), f'bench-reboot-{kernel}-{p}', 'panic',
					     panic=REBOOT_SECONDS, platform=p, timeout=REBOOT_SECONDS + 90)
			reboots.append(measure.reboot(m).seconds)
		rows.append((p, a, b, c, reboots))
	tick = 1 / os.sysconf('SC_CLK_TCK')     # /proc's CPU time resolution
	print(f'\nHost cost of a guest over {window:g} s (QEMU TCG, one vCPU):')
	print(f'  {"platform":12} {"what":24} {"vCPU CPU s":>10} {"wake-ups":>9}')
	for p, a, b, c, reboots in rows:
		for label, s in (('(a) unpatched, panicked', a), ('(b) patched, panicked', b),
				 ('(c) patched, idle', c)):
			print(f'  {p:12} {label:24} {s.cpu:10.3f} {s.wakeups:9d}')
		print(f'  {p:12} CPU ratio (a)/(b) {_ratio(a.cpu, b.cpu, tick)}  (b)/(c) '
		      f'{_ratio(b.cpu, c.cpu, tick)}')
		took = ', '.join(f'{name} {t:.2f} s' if t is not None else f'{name} none'
				 for name, t in zip(('patched', 'unpatched'), reboots))
		print(f'  {p:12} panic={REBOOT_SECONDS} reboots after: {took}')
