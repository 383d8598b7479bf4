# SPDX-License-Identifier: GPL-2.0
"""What a panicked guest costs its host, side by side in one run:

  (a) unpatched 6.12 after panic (panic=0: the CPU spins in mdelay())
  (b) patched after panic (the CPU halts)
  (c) patched, idle at its prompt (the floor)

For each, over a window after the guest settles: host CPU seconds of the
QEMU process and context switches of its vCPU thread(s); then the ratios
(a)/(b) and (b)/(c). Also how close panic=N comes to N seconds. A
measurement, not a test.
"""

import os
import time
from dataclasses import dataclass
from pathlib import Path

from . import common, kernels, qemu, scenario
from .common import log

SETTLE = 2.0


@dataclass
class Sample:
	cpu: float
	switches: int


def _vcpu_switches(pid):
	"""Context switches of QEMU's vCPU threads (named with debug-threads=on)."""
	total = 0
	for task in Path(f'/proc/{pid}/task').iterdir():
		try:
			comm = (task / 'comm').read_text()
			if 'CPU' not in comm:
				continue
			for line in (task / 'status').read_text().splitlines():
				if line.startswith(('voluntary_ctxt_switches', 'nonvoluntary_ctxt_switches')):
					total += int(line.split()[1])
		except OSError:
			continue
	return total


def _sample(q):
	return Sample(qemu.proc_cpu_seconds(q.proc.pid), _vcpu_switches(q.proc.pid))


def measure(g, name, mode, smp, window):
	"""Boot, wait for the guest to reach its final state, measure a window."""
	ready = 'end Kernel panic' if mode == 'panic' else 'ph-init: idle'
	m = scenario.machine(g, name, mode, smp=smp, disk=False, timeout=window + 120, panic=0)
	m.devices += ['-name', f'{name},debug-threads=on']
	with qemu.Qemu(m) as q:
		if not q.wait(lambda q: q.seen(ready), timeout=90) or q.proc.poll() is not None:
			raise common.CommandError([name], -1, q.rundir / 'serial.log',
						  f'the guest never reached "{ready}"')
		time.sleep(SETTLE)
		before = _sample(q)
		time.sleep(window)
		after = _sample(q)
	return Sample(after.cpu - before.cpu, after.switches - before.switches)


def reboot_accuracy(g, seconds):
	"""Host seconds from the panic line to QEMU's exit on the reboot."""
	m = scenario.machine(g, f'bench-reboot-{g.name}', 'panic', disk=False, timeout=seconds + 90,
			     panic=seconds)
	out = qemu.run(m)
	panic = out.first(scenario.PANIC_LINE)
	if out.timed_out or not panic:
		raise common.CommandError([m.name], -1, out.rundir / 'serial.log', 'no reboot')
	return out.wall_seconds - panic.t


def _ratio(a, b, resolution):
	"""a/b; when b is below what can be measured, a lower bound."""
	if b > 0:
		return f'{a / b:8.1f}'
	return f'>{a / resolution:7.0f}' if a > 0 else '     n/a'


def run(window=30, smps=(1, 2), reboot_seconds=10):
	guests = scenario.built(kernels.patched, kernels.unpatched)
	rows = []
	for smp in smps:
		a = measure(guests['unpatched'], f'bench-halt-unpatched-smp{smp}', 'panic', smp, window)
		log(f'smp={smp} (a) unpatched panicked: {a}')
		b = measure(guests['patched'], f'bench-halt-patched-smp{smp}', 'panic', smp, window)
		log(f'smp={smp} (b) patched panicked: {b}')
		c = measure(guests['patched'], f'bench-halt-idle-smp{smp}', 'idle', smp, window)
		log(f'smp={smp} (c) patched idle: {c}')
		rows.append((smp, a, b, c))
	print(f'\nHost cost of a guest over {window} s (TCG, single-threaded):')
	print('  smp  what                   CPU s   vCPU switches')
	for smp, a, b, c in rows:
		for label, s in (('(a) unpatched, panicked', a), ('(b) patched, panicked', b),
				 ('(c) patched, idle', c)):
			print(f'  {smp:3}  {label:22} {s.cpu:7.2f}  {s.switches:10}')
		tick = 1 / os.sysconf('SC_CLK_TCK')     # /proc's CPU time resolution
		print(f'  {smp:3}  CPU ratio (a)/(b) {_ratio(a.cpu, b.cpu, tick)}   '
		      f'(b)/(c) {_ratio(b.cpu, c.cpu, tick)}')
		print(f'  {smp:3}  switches   (a)/(b) {_ratio(a.switches, b.switches, 1)}   '
		      f'(b)/(c) {_ratio(b.switches, c.switches, 1)}')
	print(f'\npanic={reboot_seconds}: seconds from the panic to the reboot')
	for name, g in guests.items():
		took = reboot_accuracy(g, reboot_seconds)
		print(f'  {name:10} {took:6.2f} s ({(took / reboot_seconds - 1) * 100:+.1f} %)')
