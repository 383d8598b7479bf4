# SPDX-License-Identifier: GPL-2.0
"""The main job: build the patched kernel, boot it in QEMU with a pvpanic
device, load a capture kernel, panic, and show what happened, in order."""

from . import kernels, qemu, scenario
from .common import log

# What the timeline keeps of the console: the story, not the boot noise.
KEY_LINES = ('ph-init:', 'Kernel panic', 'panic_hooks:', 'test_panic_hooks:', 'Linux version',
	     'Run /init', 'kexec', 'crashkernel')


def run():
	g = scenario.built(kernels.patched)['patched']
	m = scenario.machine(g, 'demo', 'kdump', 'test_panic_hooks.mode=ok',
			     devices=['-device', 'pvpanic'])
	log(f'booting {g.image} in QEMU: {m.append}')
	out = qemu.run(m)
	print('\nWhat happened (host seconds since QEMU started; console lines and QMP events):')
	for t, origin, text in out.timeline():
		if origin == 'QMP' or any(k in text for k in KEY_LINES):
			print(f'  {t:8.3f} s  {origin:7}  {text}')
	d = scenario.expect_captured(out)
	size = d.vmcore.stat().st_size >> 20
	print(f'\nCaptured: {d.vmcore} ({size} MiB ELF vmcore, rebuilt from the dump disk)')
	print(f'VMCOREINFO PANIC_HOOKS={d.vmcoreinfo.get("PANIC_HOOKS", "(missing)")}')
	print('Kernel log read back out of the vmcore (makedumpfile --dump-dmesg), last lines:')
	for line in d.dmesg.strip().splitlines()[-8:]:
		print(f'  {line}')
	print(f'\nAll logs: {out.rundir}')
	print(f'QEMU used {out.cpu_seconds:.1f} s of host CPU over {out.wall_seconds:.1f} s')
