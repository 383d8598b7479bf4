# SPDX-License-Identifier: GPL-2.0
"""pvpanic end to end: the QMP events QEMU emits when the guest panics,
patched and unpatched side by side, for the ISA and PCI devices."""

from typing import Any, Callable

from . import qemu, scenario
from .guest import Guest
from .report import expect

DEVICES = {'isa': ['-device', 'pvpanic'], 'pci': ['-device', 'pvpanic-pci']}
CRASHLOADED = 'GUEST_CRASHLOADED'
PANICKED = 'GUEST_PANICKED'


def _run(g: Guest, name: str, mode: str, devices: list[str], append: str = '') -> qemu.Outcome:
	disk = mode == 'kdump'
	out = qemu.run(scenario.machine(g, name, mode, append, devices=devices, disk=disk,
					timeout=150 if disk else 90, pvpanic=False))
	banner = scenario.capture_banner(out)
	expect(out.qmp_answered_after(banner.t) if banner else out.qmp_alive,
	       'QMP did not answer to the end: its events cannot be trusted',
	       out.serial)
	return out


def _events(out: qemu.Outcome) -> list[qemu.Event]:
	return out.events_named(CRASHLOADED, PANICKED)


def _describe(events: list[qemu.Event]) -> str:
	return ', '.join(f'{e.name} at {e.t:.3f} s' for e in events) or 'none'


def kdump_event(g: Guest, device: str, patched: bool, append: str = '') -> str:
	"""Capture kernel loaded, no crash_kexec_post_notifiers: the patched
	kernel emits one GUEST_CRASHLOADED before the capture kernel's first
	line; the unpatched one, or the patched one with panic_hooks=off, emits
	nothing. All capture."""
	out = _run(g, f'pvpanic-kdump-{device}-{g.name}{"-off" if append else ""}', 'kdump',
		   DEVICES[device], append)
	scenario.expect_captured(out)
	events = _events(out)
	log = out.rundir / 'qmp-events.log'
	if not patched:
		expect(not events, f'{g.name} {append} emitted {_describe(events)}', log)
		return 'no event, captured'

	expect(len(events) == 1 and events[0].name == CRASHLOADED,
	       f'expected exactly one {CRASHLOADED}, got {_describe(events)}', log)
	banner = scenario.capture_line(out)
	expect(events[0].t < banner.t,
	       f'{CRASHLOADED} at {events[0].t:.3f} s, not before the capture kernel\'s first '
	       f'line at {banner.t:.3f} s', log)
	return f'{CRASHLOADED} {(banner.t - events[0].t) * 1000:.0f} ms before the capture kernel'


def panic_event(g: Guest, device: str) -> str:
	"""No capture kernel: exactly one GUEST_PANICKED, patched or not."""
	out = _run(g, f'pvpanic-panic-{device}-{g.name}', 'panic', DEVICES[device])
	events = _events(out)
	expect(len(events) == 1 and events[0].name == PANICKED,
	       f'expected exactly one {PANICKED}, got {_describe(events)}',
	       out.rundir / 'qmp-events.log')
	return 'one GUEST_PANICKED'


def events_cleared(g: Guest, device: str, mode: str) -> None:
	"""The sysfs events mask set to 0 before the panic: no event at all."""
	out = _run(g, f'pvpanic-masked-{mode}-{device}-{g.name}', mode, DEVICES[device],
		   'ph.pvpanic_events=0')
	serial = out.rundir / 'serial.log'
	expect(out.first('ph-init: pvpanic events of'), 'the guest found no pvpanic device to mask',
	       serial)
	expect(out.first(scenario.PANIC_LINE), 'the guest never panicked', serial)
	if mode == 'kdump':
		scenario.expect_captured(out)
	events = _events(out)
	expect(not events, f'masked device still emitted {_describe(events)}',
	       out.rundir / 'qmp-events.log')


def two_devices(g: Guest) -> None:
	"""An ISA and a PCI device: each reports the panic once, before kdump."""
	out = _run(g, f'pvpanic-two-{g.name}', 'kdump', DEVICES['isa'] + DEVICES['pci'])
	scenario.expect_captured(out)
	events = _events(out)
	expect([e.name for e in events] == [CRASHLOADED] * 2,
	       f'expected one {CRASHLOADED} per device, got {_describe(events)}',
	       out.rundir / 'qmp-events.log')
	expect(events[-1].t < scenario.capture_line(out).t,
	       'an event came after the capture kernel started', out.rundir / 'qmp-events.log')


LOAD = '+pvpanic,+pvpanic-mmio,+pvpanic-pci'
UNLOAD = '-pvpanic_mmio,-pvpanic_pci,-pvpanic'


def _modules_run(g: Guest, name: str, ops: str) -> tuple[qemu.Outcome, list[qemu.Event], str]:
	"""Both devices, the modules changed by ops, then kdump; (events, record)."""
	out = _run(g, f'pvpanic-modules-{name}', 'kdump', DEVICES['isa'] + DEVICES['pci'],
		   f'ph.modules={ops}')
	d = scenario.expect_captured(out)
	expect(out.first('ph-init: loaded module pvpanic-pci'), 'the modules were not loaded',
	       out.rundir / 'serial.log')
	# No record at all must not pass for "the slot was released".
	expect('PANIC_HOOKS' in d.vmcoreinfo, 'VMCOREINFO of the dump has no PANIC_HOOKS line',
	       out.rundir / 'serial.log')
	return out, _events(out), d.vmcoreinfo['PANIC_HOOKS']


def modules_report(g: Guest) -> None:
	"""pvpanic as modules: each device reports once, before kdump, from the hook."""
	out, events, record = _modules_run(g, 'loaded', LOAD)
	log = out.rundir / 'qmp-events.log'
	expect([e.name for e in events] == [CRASHLOADED] * 2,
	       f'expected one {CRASHLOADED} per device, got {_describe(events)}', log)
	expect(events[-1].t < scenario.capture_line(out).t, 'an event came after kdump', log)
	expect('pvpanic:ok:' in record, f'PANIC_HOOKS={record} has no pvpanic hook')


def modules_unload_releases_slot(g: Guest) -> None:
	"""Unloading the modules releases the slot (no hook, no event); loading
	them again claims it again."""
	out, events, record = _modules_run(g, 'unloaded', f'{LOAD},{UNLOAD}')
	expect(not events, f'unloaded pvpanic still emitted {_describe(events)}',
	       out.rundir / 'qmp-events.log')
	expect('pvpanic' not in record, f'PANIC_HOOKS={record}: the slot was not released')
	out, events, record = _modules_run(g, 'reloaded', f'{LOAD},{UNLOAD},{LOAD}')
	expect([e.name for e in events] == [CRASHLOADED] * 2,
	       f'reloaded pvpanic: expected one {CRASHLOADED} per device, got {_describe(events)}',
	       out.rundir / 'qmp-events.log')
	expect('pvpanic:ok:' in record, f'reloaded pvpanic: PANIC_HOOKS={record}')


def _on(fn: Callable[..., Any], kernel: str, *args: Any) -> Callable[[Any], Any]:
	"""A check: fn(the guest of kernel, *args)."""
	return lambda ctx: fn(ctx.guest(kernel), *args)


def checks() -> list[tuple[str, tuple[str, ...], Callable[[Any], Any]]]:
	"""(name, kernels needed, fn(ctx)) for the test command."""
	out: list[tuple[str, tuple[str, ...], Callable[[Any], Any]]] = [
		('pvpanic isa: no kdump event with panic_hooks=off', ('x86_64',),
		 _on(kdump_event, 'x86_64', 'isa', False, 'panic_hooks=off')),
		('pvpanic isa: no kdump event with CONFIG_PANIC_HOOKS=n (no slot user: the '
		 'pvpanic driver left out)', ('x86_64-hooks-off',),
		 _on(kdump_event, 'x86_64-hooks-off', 'isa', False))]
	for device in DEVICES:
		out += [
			(f'pvpanic {device}: kdump event (patched)', ('x86_64',),
			 _on(kdump_event, 'x86_64', device, True)),
			(f'pvpanic {device}: no kdump event (unpatched)', ('x86_64-unpatched',),
			 _on(kdump_event, 'x86_64-unpatched', device, False)),
			(f'pvpanic {device}: panic event (patched)', ('x86_64',),
			 _on(panic_event, 'x86_64', device)),
			(f'pvpanic {device}: panic event (unpatched)', ('x86_64-unpatched',),
			 _on(panic_event, 'x86_64-unpatched', device))]
		for mode in ('kdump', 'panic'):
			out.append((f'pvpanic {device}: events mask cleared, {mode} (patched)', ('x86_64',),
				    _on(events_cleared, 'x86_64', device, mode)))
	out += [
		('pvpanic isa+pci: one event per device (patched)', ('x86_64',),
		 _on(two_devices, 'x86_64')),
		('pvpanic modules: one event per device, from the hook', ('x86_64-modules',),
		 _on(modules_report, 'x86_64-modules')),
		('pvpanic modules: unloading releases the slot, reloading claims it',
		 ('x86_64-modules',), _on(modules_unload_releases_slot, 'x86_64-modules'))]
	return out
