# SPDX-License-Identifier: GPL-2.0
"""The main job: build the patched kernel, boot it in QEMU with a pvpanic
device, load a capture kernel, panic, and show what happened, in order:
the pre-kdump hook telling the host (QMP GUEST_CRASHLOADED) before the
capture kernel's first line, the dump saved and read back on the host."""

from . import scenario
from .common import log
from .context import Context
from .qemu import run as run_qemu

# What the timeline keeps of the console: the story, not the boot noise.
KEY_LINES = ('ph-init:', 'Kernel panic', 'panic_hooks:', 'Linux version', 'Run /init',
	     'kexec', 'crashkernel', 'sysrq')


def run(ctx: Context) -> None:
	g = ctx.guest('x86_64')
	m = scenario.machine(g, 'demo', 'kdump', disk=True)
	log(f'booting {g.image} in QEMU with a pvpanic device: {m.append}')
	out = run_qemu(m)
	print('\nWhat happened (host seconds since QEMU started; console lines and QMP events):')
	for t, origin, text in out.timeline():
		if origin == 'QMP' or any(k in text for k in KEY_LINES):
			print(f'  {t:8.3f} s  {origin:7}  {text}')
	d = scenario.expect_captured(out)
	size = d.vmcore.stat().st_size >> 20
	events = [e for e in out.events if e.name.startswith('GUEST_')]
	banner = scenario.capture_banner(out)
	print(f'\nQMP events: {", ".join(f"{e.name} at {e.t:.3f} s" for e in events) or "none"}'
	      f'; the capture kernel\'s first line at {banner.t:.3f} s' if banner else '')
	print(f'Captured: {d.vmcore} ({size} MiB ELF vmcore, rebuilt from the dump disk)')
	print(f'VMCOREINFO PANIC_HOOKS={d.vmcoreinfo.get("PANIC_HOOKS", "(missing)")}')
	print('Kernel log read back out of the vmcore (makedumpfile --dump-dmesg), last lines:')
	for line in d.dmesg.strip().splitlines()[-8:]:
		print(f'  {line}')
	print(f'\nAll logs: {out.rundir}')
